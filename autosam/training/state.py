"""Resumable training state as safetensors + JSON (never pickle), and the per-epoch CSV log.

``train_state.safetensors`` holds the trainable module, the optimizer's tensors and the torch
RNG states; ``train_state.json`` holds everything else (epoch, best score, CSV rows, optimizer
hyper-parameters, numpy/python RNG states, the config). Both are written atomically and share a
random token, so a crash between the two writes is detected instead of resuming a mixed state.
"""
from __future__ import annotations

import csv
import io
import json
import os
import random
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

from ..checkpoint import atomic_write

STATE_TENSORS = "train_state.safetensors"
STATE_JSON = "train_state.json"
CSV_FILE = "log.csv"
CSV_COLUMNS = ("epoch", "train_loss", "val_dice", "val_iou", "seconds", "train_seconds", "val_seconds",
               "cache_hits", "cache_misses", "skipped")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))


# ---- RNG -------------------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    meta = {"numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            "python": [version, list(internal), gauss]}
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    name, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))


# ---- optimizer -------------------------------------------------------------------------------
def _optimizer_split(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for name, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim.{pid}.{name}"] = v.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = v
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _optimizer_join(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, pid, name = k.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    for pid, d in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(d)
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


# ---- save / load -----------------------------------------------------------------------------
def save_train_state(out_dir: str | os.PathLike, module: nn.Module, optimizer: torch.optim.Optimizer,
                     info: dict[str, Any]) -> None:
    """Write the resumable state; ``info`` is JSON-able (epoch, best, rows, config...)."""
    out = Path(out_dir)
    token = secrets.token_hex(8)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    opt_t, opt_meta = _optimizer_split(optimizer)
    rng_t, rng_meta = rng_state()
    tensors.update(opt_t)
    tensors.update(rng_t)
    meta = dict(info, token=token, optimizer=opt_meta, rng=rng_meta)
    atomic_write(out / STATE_TENSORS, lambda tmp: save_file(tensors, tmp, metadata={"token": token}))
    atomic_write_text(out / STATE_JSON, json.dumps(meta))


class ResumeError(RuntimeError):
    pass


def has_train_state(out_dir: str | os.PathLike) -> bool:
    return (Path(out_dir) / STATE_JSON).is_file() and (Path(out_dir) / STATE_TENSORS).is_file()


def load_train_state(out_dir: str | os.PathLike, module: nn.Module, optimizer: torch.optim.Optimizer,
                     restore_rng: bool = True) -> dict[str, Any]:
    """Restore module, optimizer and RNGs in place; returns the JSON info."""
    out = Path(out_dir)
    if not has_train_state(out):
        raise ResumeError(f"No training state in {out} ({STATE_JSON} + {STATE_TENSORS}): nothing to resume.")
    meta = json.loads((out / STATE_JSON).read_text())
    from safetensors import safe_open

    with safe_open(str(out / STATE_TENSORS), framework="pt") as f:
        token = (f.metadata() or {}).get("token")
    if token != meta.get("token"):
        raise ResumeError(f"{STATE_JSON} and {STATE_TENSORS} in {out} are from different epochs "
                          "(interrupted while saving?); cannot resume exactly.")
    tensors = load_file(str(out / STATE_TENSORS))
    dev = next(module.parameters()).device
    module.load_state_dict({k[6:]: v.to(dev) for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    optimizer.load_state_dict(_optimizer_join(tensors, meta["optimizer"]))
    if restore_rng:
        set_rng_state(tensors, meta["rng"])
    return meta


def write_csv(path: str | os.PathLike, rows: list[dict[str, Any]]) -> None:
    """The whole log rewritten from the rows (atomic), so a resumed run's CSV equals an uninterrupted one."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in CSV_COLUMNS})
    atomic_write_text(path, buf.getvalue())
