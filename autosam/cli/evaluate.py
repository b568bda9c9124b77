"""`autosam eval`: score a checkpoint (and/or the SAM prompt baselines) on a data set.

    autosam eval --checkpoint runs/polyp/best.safetensors --data kvasir --json kvasir.json \\
        [--modes autosam h sam_box ...] [--csv per-image.csv] [--save-predictions DIR]

The JSON interface is stable: ``{"modes": {MODE: {"dice", "iou", "n", "dice_ci", "iou_ci",
"latency_s"}}, "n_images", "skipped", "checkpoint", "backend", "data", ...}``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path
from typing import Any

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "assets"
TRAIN_HINT = ("Train one with `autosam train --data polyp_train --out-dir runs/polyp` (add `--backbone sam_embed` "
              "for a fast CPU model) and pass --checkpoint runs/polyp/best.safetensors.")
_PREFERRED = ("best.safetensors", "last.safetensors", "default.safetensors", "autosam.safetensors")


def resolve_checkpoint(path: str | None, required: bool = True) -> Path | None:
    """A checkpoint file from a file or run folder; without ``path``, the shipped default model."""
    p = Path(path).expanduser() if path else DEFAULT_MODEL_DIR
    if p.is_dir():
        for name in _PREFERRED:
            if (p / name).is_file():
                return p / name
        cands = sorted(p.glob("*.safetensors"))
        if len(cands) == 1:
            return cands[0]
        if len(cands) > 1:
            raise ValueError(f"{p} holds several checkpoints ({', '.join(c.name for c in cands)}): pass one with --checkpoint.")
    elif p.is_file():
        return p
    if path:
        raise FileNotFoundError(f"No checkpoint at {p} (expected NAME.safetensors + NAME.json, or a run folder).")
    if required:
        raise FileNotFoundError(f"No --checkpoint given and no default model shipped in {DEFAULT_MODEL_DIR}. {TRAIN_HINT}")
    return None


def load_predictor(checkpoint: Path | None, backend: str | None = None, backend_checkpoint: str | None = None,
                   device: str = "cpu", threshold: float = 0.5, embed_cache: str | None = None) -> Any:
    """Back-end (the checkpoint's own unless named) + model -> a predictor (optionally on an embedding cache)."""
    from autosam.backends import DEFAULT_BACKEND, create_backend
    from autosam.checkpoint import load_checkpoint, read_config
    from autosam.evaluation import CachedPredictor

    cfg = read_config(checkpoint) if checkpoint else None
    name = backend or (cfg.backend if cfg else DEFAULT_BACKEND)
    if cfg is not None and cfg.backend != name:
        raise ValueError(f"{checkpoint.name} was trained on the {cfg.backend} back-end, not {name}.")
    be = create_backend(name, backend_checkpoint, device=device)
    model = load_checkpoint(checkpoint, backend_sha256=be.weights_sha256, device=device) if checkpoint else None
    cache = None
    if embed_cache is not None:
        from autosam.training.embedding_cache import EmbeddingCache

        cache = EmbeddingCache(embed_cache or None, be)
    return CachedPredictor(be, model, threshold=threshold, embedding_cache=cache)


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None,
                   help=f"trained model (NAME.safetensors or a run folder); default: the shipped model in {DEFAULT_MODEL_DIR}")
    p.add_argument("--backend", default=None, help="SAM back-end (default: the checkpoint's; lite_medsam without one)")
    p.add_argument("--backend-checkpoint", default=None, help="SAM weights file for the back-end")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (cpu)")
    p.add_argument("--threshold", type=float, default=0.5, help="foreground = prob > threshold (0.5)")
    p.add_argument("--batch-size", type=int, default=8, help="images per batch for autosam / h (8)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="mean Dice / IoU of a checkpoint (and SAM prompt baselines) on a data set",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    p.add_argument("--data", required=True, help="data spec (folder, hf:..., disk:..., parquet:...) or benchmark[:split]")
    p.add_argument("--modes", nargs="+", default=None, metavar="MODE",
                   help="autosam, h, sam_points, sam_box, sam_mask_prompt, autosam_as_mask_prompt "
                        "(default: autosam, plus h when the checkpoint has it)")
    p.add_argument("--json", dest="json_out", default=None, metavar="OUT", help="write the summary JSON here")
    p.add_argument("--csv", dest="csv_out", default=None, metavar="CSV", help="write per-image scores here")
    p.add_argument("--save-predictions", default=None, metavar="DIR",
                   help="save probability maps as DIR/<mode>/<id>.png (uint8 = prob x 255)")
    p.add_argument("--embed-cache", nargs="?", const="", default=None, metavar="DIR",
                   help="reuse/fill the on-disk embedding cache (fp16: scores may differ in the 4th decimal)")
    p.add_argument("--max-samples", type=int, default=None, help="only the first N images (smoke tests)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from autosam.evaluation import evaluate
    from autosam.predictor import MODEL_MODES
    from autosam.training.data import open_data

    model_needed = args.modes is None or any(m in MODEL_MODES for m in args.modes)
    ckpt = resolve_checkpoint(args.checkpoint, required=model_needed)
    pred = load_predictor(ckpt, args.backend, args.backend_checkpoint, args.device, args.threshold, args.embed_cache)
    modes = args.modes or (["autosam"] + (["h"] if pred.model is not None and pred.model.h is not None else []))
    ds = open_data(args.data, skip_bad=False)
    if args.max_samples:
        ds = ds.subset(range(min(args.max_samples, len(ds))))
    res = evaluate(pred, ds, modes, batch_size=args.batch_size, save_dir=args.save_predictions,
                   progress=args.progress)
    out = res.to_dict()
    out.update({
        "checkpoint": str(ckpt) if ckpt else None,
        "checkpoint_sha256": pred.model.weights_sha256 if pred.model is not None else None,
        "backend": pred.backend.name, "backend_sha256": pred.backend.weights_sha256,
        "data": args.data, "source": getattr(ds, "source", ""), "dataset_size": len(ds),
        "threshold": args.threshold, "embed_cache": args.embed_cache is not None,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps(out, indent=2))
    if args.csv_out:
        res.write_csv(args.csv_out)
    _print_table(res, args.data)
    return 0


def _print_table(res: Any, data: str) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{data}: {res.n_images} images" + (f", {len(res.skipped)} skipped" if res.skipped else ""))
    for col in ("mode", "n", "Dice", "IoU", "Dice 95% CI", "ms/img"):
        t.add_column(col, justify="left" if col == "mode" else "right")
    for m, s in res.summary.items():
        ci = f"{s.dice_ci[0]:.4f}–{s.dice_ci[1]:.4f}" if s.dice_ci else "-"
        t.add_row(m, str(s.n), f"{s.dice:.4f}", f"{s.iou:.4f}", ci, f"{s.latency_s * 1000:.1f}")
    Console().print(t)
    for sid, reason in res.skipped[:10]:
        Console(stderr=True).print(f"skipped {sid}: {reason}")
