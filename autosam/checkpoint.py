"""Trained-model files: ``NAME.safetensors`` (g.*, h.*) + ``NAME.json`` (ModelConfig).

Loading never unpickles anything: pickled files (``torch.save`` output) are refused outright,
and weights go into our own classes with a strict key/shape check that explains any mismatch.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import __version__
from .backends.weights import file_sha256
from .config import ModelConfig
from .models.prompt_generator import build_g
from .models.surrogate_decoder import SurrogateDecoder

PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle", ".tar"}


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message says why and what to do."""


@dataclass
class TrainedModel:
    config: ModelConfig
    g: nn.Module
    h: nn.Module | None
    path: Path | None = None
    weights_sha256: str = ""


def config_path_for(weights: str | os.PathLike) -> Path:
    return Path(weights).with_suffix(".json")


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename over ``path``: readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | os.PathLike, config: ModelConfig, g: nn.Module,
                    h: nn.Module | None = None, half: bool = False) -> Path:
    """Write weights and config atomically; returns the ``.safetensors`` path."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_suffix(".safetensors")
    tensors = {f"g.{k}": v.detach().cpu().contiguous() for k, v in g.state_dict().items()}
    if h is not None:
        tensors.update({f"h.{k}": v.detach().cpu().contiguous() for k, v in h.state_dict().items()})
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    config.has_h = h is not None
    config.autosam_version = __version__
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"format": "autosam"}))
    text = json.dumps(config.to_dict(), indent=2, sort_keys=True)
    atomic_write(config_path_for(path), lambda tmp: Path(tmp).write_text(text))
    return path


def refuse_pickle(path: Path) -> None:
    """Refuse pickled / torch.save files by name and by content (zip or pickle magic bytes)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if path.suffix.lower() in PICKLE_SUFFIXES or head[:2] == b"PK" or head[:1] == b"\x80":
        raise CheckpointError(
            f"{path.name} looks like a pickled PyTorch file. Pickles can run arbitrary code, so "
            "AutoSAM only loads weights as safetensors. Convert it yourself with "
            "`safetensors.torch.save_file(state_dict, 'model.safetensors')` and save the JSON config beside it."
        )


def read_config(path: str | os.PathLike) -> ModelConfig:
    """Read the JSON config next to ``path`` (or ``path`` itself when it is the JSON)."""
    p = Path(path)
    cfg_path = p if p.suffix == ".json" else config_path_for(p)
    if not cfg_path.is_file():
        raise CheckpointError(
            f"Config {cfg_path.name} not found next to {p.name}: a checkpoint is NAME.safetensors "
            "plus NAME.json (written by `autosam train`)."
        )
    try:
        return ModelConfig.from_dict(json.loads(cfg_path.read_text()))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{cfg_path.name} is not a valid AutoSAM config: {exc}") from exc


def _strict_load(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if own[k].shape != state[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        if shapes:
            parts.append(f"{len(shapes)} with the wrong shape (e.g. {shapes[0]})")
        raise CheckpointError(
            f"The {what} weights do not match the architecture in the config: {'; '.join(parts)}. "
            "Was the config written for these weights (same g backbone and input size)?"
        )
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)


def load_checkpoint(path: str | os.PathLike, backend_sha256: str | None = None,
                    device: str | torch.device = "cpu") -> TrainedModel:
    """Load ``NAME.safetensors`` + ``NAME.json`` strictly into our own g (and h) classes.

    ``backend_sha256``: when given, the checkpoint must have been trained on those back-end weights.
    """
    p = Path(path)
    if p.suffix == ".json":
        p = p.with_suffix(".safetensors")
    if not p.is_file():
        raise CheckpointError(f"Checkpoint {p} does not exist.")
    refuse_pickle(p)
    cfg = read_config(p)
    if backend_sha256 and cfg.backend_sha256 and cfg.backend_sha256 != backend_sha256:
        raise CheckpointError(
            f"{p.name} was trained on {cfg.backend} weights with SHA-256 {cfg.backend_sha256[:12]}…, "
            f"but the loaded back-end has {backend_sha256[:12]}…. g's prompts only make sense for the "
            "exact SAM they were trained through: load the matching back-end."
        )
    try:
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{p.name} is not a readable safetensors file: {exc}") from exc
    g_state = {k[2:]: v for k, v in tensors.items() if k.startswith("g.")}
    h_state = {k[2:]: v for k, v in tensors.items() if k.startswith("h.")}
    other = [k for k in tensors if not k.startswith(("g.", "h."))]
    if other:
        raise CheckpointError(f"{p.name} has tensors outside g.* and h.*: {other[:3]}.")
    if not g_state:
        raise CheckpointError(f"{p.name} holds no g.* tensors: it is not an AutoSAM checkpoint.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "random init" warnings do not apply: weights follow
        g = build_g(cfg.g)
    _strict_load(g, g_state, "g")
    h = None
    if h_state:
        h = SurrogateDecoder(cfg.g.embed_dim)
        _strict_load(h, h_state, "h")
    elif cfg.has_h:
        raise CheckpointError(f"{p.name}: the config says it has h, but there are no h.* tensors.")
    g = g.to(device).eval()
    h = h.to(device).eval() if h is not None else None
    return TrainedModel(cfg, g, h, p, file_sha256(p))
