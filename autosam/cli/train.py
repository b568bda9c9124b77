"""`autosam train` (g through the frozen SAM) and `autosam train-h` (h on a frozen g).

Every flag mirrors a :class:`~autosam.training.config.TrainConfig` field; flags left out keep the
config's default (or, with ``--resume``, the saved run's value). ``--data`` takes a data spec
(folder, ``hf:...``, ``disk:...``, ``parquet:...``) or a benchmark name (``polyp_train``,
``glas_train:train``); a benchmark also supplies the default ``--augment`` and ``--input-size``.
Multi-process: ``torchrun --nproc_per_node N -m autosam train ...`` (``--batch-size`` is global).
"""
from __future__ import annotations

import argparse
import logging
import shlex
import sys
from dataclasses import fields
from typing import Any

# flag -> (TrainConfig field, type, help)
_FLAGS: list[tuple[str, str, Any, str]] = [
    ("--val-data", "val_data", str, "validation data (spec or benchmark); default: a seeded split of --data"),
    ("--val-fraction", "val_fraction", float, "fraction of --data held out for validation when no --val-data (0.1)"),
    ("--backend-checkpoint", "backend_checkpoint", str, "SAM weights file for the back-end"),
    ("--epochs", "epochs", int, "epochs (paper: 200 for g, 60 for h)"),
    ("--batch-size", "batch_size", int, "global batch size (paper: 10 for g, 24 for h)"),
    ("--lr", "lr", float, "Adam learning rate (3e-4)"),
    ("--weight-decay", "weight_decay", float, "Adam weight decay (1e-5)"),
    ("--loss-mode", "loss_mode", str, "sigmoid (paper) or minmax (official code)"),
    ("--augment", "augment", str, "augmentation preset: none, flips, glas, glas_paper, monu, polyp"),
    ("--views", "views", int, "K augmented views per image, precomputed once (view 0 = original; 1)"),
    ("--cache-dir", "cache_dir", str, "embedding cache root (default $AUTOSAM_EMBED_CACHE or ~/.cache/autosam/embeddings)"),
    ("--cache-dtype", "cache_dtype", str, "float16 (2 MiB/view) or float32 (exact)"),
    ("--device", "device", str, "cpu, cuda, cuda:N or auto (cpu)"),
    ("--seed", "seed", int, "seed for everything (0)"),
    ("--out-dir", "out_dir", str, "where checkpoints, log.csv and the train state go"),
    ("--num-workers", "num_workers", int, "DataLoader worker processes (0)"),
    ("--max-train-samples", "max_train_samples", int, "debug: use only the first N training images"),
    ("--max-val-samples", "max_val_samples", int, "debug: use only the first N validation images"),
]
_G_FLAGS: list[tuple[str, str, Any, str]] = [
    ("--backend", "backend", str, "frozen SAM back-end (lite_medsam)"),
    ("--backbone", "backbone", str, "g backbone: hardnet85 (paper), hardnet68, hardnet39ds, timm:<name>, sam_embed"),
    ("--input-size", "input_size", int, "g input size (256; a benchmark's own size when --data names one)"),
    ("--hidden-dim", "hidden_dim", int, "width of the sam_embed g (128)"),
    ("--backbone-weights", "backbone_weights", str, "ImageNet backbone weights (file or URL)"),
]


def _add_common(p: argparse.ArgumentParser, g_flags: bool) -> None:
    p.add_argument("--data", action="append", default=None, metavar="DATA",
                   help="training data: a spec or a benchmark name (repeat to concatenate)")
    for flag, dest, typ, help_ in (_G_FLAGS if g_flags else [("--backend", "backend", str,
                                   "back-end (default: the one the checkpoint was trained on)")]) + _FLAGS:
        p.add_argument(flag, dest=dest, type=typ, default=None, help=help_)
    p.add_argument("--no-cache", dest="use_cache", action="store_const", const=False, default=None,
                   help="run the frozen encoder every step instead of reading the embedding cache")
    p.add_argument("--compile", dest="compile", action="store_const", const=True, default=None,
                   help="torch.compile the trainable module")
    p.add_argument("--no-amp", dest="amp", action="store_const", const=False, default=None,
                   help="no bf16 autocast on CUDA")
    p.add_argument("--no-sync-bn", dest="sync_bn", action="store_const", const=False, default=None,
                   help="per-process BatchNorm statistics under torchrun")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None)
    p.add_argument("--resume", action="store_true", help="continue the run in --out-dir exactly where it stopped")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train g through a frozen SAM back-end (BCE + Dice)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p, g_flags=True)
    p.set_defaults(func=run_train)
    q = subparsers.add_parser("train-h", help="train the surrogate decoder h on a frozen g",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("--checkpoint", dest="g_checkpoint", default=None, help="trained g checkpoint (NAME.safetensors)")
    _add_common(q, g_flags=False)
    q.set_defaults(func=run_train_h)


def _setup_logging() -> None:
    lg = logging.getLogger("autosam")
    if not lg.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(message)s"))
        lg.addHandler(h)
    lg.setLevel(logging.INFO)


def _command(args: argparse.Namespace, name: str, names: set[str]) -> str:
    parts = ["autosam", name]
    for k, v in vars(args).items():
        if k not in names or v is None:
            continue
        flag = {"g_checkpoint": "--checkpoint"}.get(k, "--" + k.replace("_", "-"))
        if isinstance(v, list):
            for x in v:
                parts += [flag, str(x)]
        elif isinstance(v, bool):
            parts.append({"use_cache": "--no-cache", "amp": "--no-amp", "sync_bn": "--no-sync-bn",
                          "progress": "--no-progress"}.get(k, flag))
        else:
            parts += [flag, str(v)]
    if args.resume:
        parts.append("--resume")
    return shlex.join(parts)


def build_config(args: argparse.Namespace, cls: type) -> Any:
    """A config from the flags given (others: defaults, or the saved run's values with --resume)."""
    from autosam.training.data import benchmark_of

    names = {f.name for f in fields(cls)}
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.data:
        given["train_data"] = list(args.data)
    if given.get("device") == "auto":
        import torch

        given["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    if args.resume:
        out = given.get("out_dir") or cls().out_dir
        cfg = cls.load(out)
        for k, v in given.items():
            setattr(cfg, k, v)
        return cfg
    if given.get("train_data"):
        bench = benchmark_of(given["train_data"][0])
        if bench is not None:
            given.setdefault("augment", bench[0].augmentation)
            if "input_size" in names:
                given.setdefault("input_size", bench[0].input_size)
    return cls(**given)


def run_train(args: argparse.Namespace) -> int:
    from autosam.training.config import TrainConfig
    from autosam.training.trainer import train

    _setup_logging()
    cfg = build_config(args, TrainConfig)
    res = train(cfg, resume=args.resume, command=_command(args, "train", {f.name for f in fields(TrainConfig)} | {"data"}))
    _report(res)
    return 0


def run_train_h(args: argparse.Namespace) -> int:
    from autosam.training.config import TrainHConfig
    from autosam.training.train_h import train_h

    _setup_logging()
    cfg = build_config(args, TrainHConfig)
    names = {f.name for f in fields(TrainHConfig)} | {"data"}
    res = train_h(cfg, resume=args.resume, command=_command(args, "train-h", names))
    _report(res)
    return 0


def _report(res: Any) -> None:
    b = res.best_metrics or {}
    print(f"last checkpoint: {res.last}")
    if res.best is not None:
        dice = b.get("val_dice")
        extra = f" (epoch {b.get('epoch')}, val Dice {dice:.4f})" if dice is not None else f" (epoch {b.get('epoch')})"
        print(f"best checkpoint: {res.best}{extra}")
    print(f"log: {res.out_dir / 'log.csv'}")
