"""Training configs: what `autosam train` / `autosam train-h` run, saved as JSON in ``out_dir``.

Defaults follow the paper (§4): Adam, lr 3e-4, weight decay 1e-5, batch 10, up to 200 epochs
for g; batch 24 and 60 epochs for h. ``batch_size`` is the *global* batch: with torchrun each of
the N processes takes ``batch_size // N`` samples per step, so a multi-process run sees the same
batches as a single-process one.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import GConfig

LOSS_MODES = ("sigmoid", "minmax")
CACHE_DTYPES = ("float16", "float32")
CONFIG_FILE = "train_config.json"


@dataclass
class TrainConfig:
    """Train g through a frozen SAM back-end (paper Eq. 2–4)."""

    # Data: specs (folder path, hf:..., disk:..., parquet:...) or benchmark names (``name[:split]``).
    train_data: list[str] = field(default_factory=list)
    val_data: str | None = None  # when None, a seeded split of the training data (val_fraction)
    val_fraction: float = 0.1
    # Frozen back-end.
    backend: str = "lite_medsam"
    backend_checkpoint: str | None = None
    # g.
    backbone: str = "hardnet85"
    input_size: int = 256
    hidden_dim: int = 128  # width of the light sam_embed g
    backbone_weights: str | None = None  # ImageNet weights for the backbone (file or URL)
    # Optimisation (paper).
    epochs: int = 200
    batch_size: int = 10
    lr: float = 3e-4
    weight_decay: float = 1e-5
    loss_mode: str = "sigmoid"
    # Augmentation: K precomputed views per image; view 0 is the original image.
    augment: str = "none"
    views: int = 1
    # Exact embedding cache of the frozen encoder.
    use_cache: bool = True
    cache_dir: str | None = None  # None: $AUTOSAM_EMBED_CACHE or ~/.cache/autosam/embeddings
    cache_dtype: str = "float16"
    # Run.
    device: str = "cpu"
    seed: int = 0
    out_dir: str = "runs/autosam"
    compile: bool = False
    amp: bool = True  # bf16 autocast on CUDA (no effect on CPU)
    sync_bn: bool = True  # global-batch BatchNorm statistics under torchrun
    num_workers: int = 0
    max_train_samples: int | None = None  # debugging: first N training samples
    max_val_samples: int | None = None
    progress: bool = True

    def validate(self) -> None:
        """Raise ValueError with a readable message for inconsistent settings."""
        from ..data.augment import PRESETS

        if not self.train_data:
            raise ValueError("No training data: pass --data (a folder, hf:..., disk:..., or a benchmark name).")
        if self.loss_mode not in LOSS_MODES:
            raise ValueError(f"loss_mode must be one of {LOSS_MODES}, got {self.loss_mode!r}.")
        if self.cache_dtype not in CACHE_DTYPES:
            raise ValueError(f"cache_dtype must be one of {CACHE_DTYPES}, got {self.cache_dtype!r}.")
        if self.augment not in PRESETS:
            raise ValueError(f"Unknown augmentation preset {self.augment!r}; known: {', '.join(PRESETS)}.")
        if self.views < 1:
            raise ValueError("views must be >= 1 (view 0 is the original image).")
        if self.augment == "none" and self.views > 1:
            raise ValueError("views > 1 needs an augmentation preset (--augment): every view of 'none' is the original.")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}.")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1.")
        if self.lr <= 0:
            raise ValueError("lr must be > 0.")

    def g_config(self) -> GConfig:
        return GConfig(backbone=self.backbone, input_size=self.input_size, hidden_dim=self.hidden_dim)

    # Fields that may change on --resume (everything else must match the saved run).
    RESUMABLE_CHANGES = ("epochs", "progress", "num_workers", "device", "out_dir", "cache_dir", "compile")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = type(self).__name__
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        d = {k: v for k, v in d.items() if k != "kind"}
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"Unknown {cls.__name__} keys {sorted(unknown)}; known: {sorted(known)}")
        if isinstance(d.get("train_data"), str):
            d["train_data"] = [d["train_data"]]
        return cls(**d)

    def save(self, out_dir: str | os.PathLike | None = None) -> Path:
        p = Path(out_dir or self.out_dir) / CONFIG_FILE
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True))
        os.replace(tmp, p)
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TrainConfig":
        p = Path(path)
        if p.is_dir():
            p = p / CONFIG_FILE
        return cls.from_dict(json.loads(p.read_text()))

    def differences(self, other: "TrainConfig") -> list[str]:
        """Settings that differ from ``other`` and may not change when resuming."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in a if k not in self.RESUMABLE_CHANGES and a[k] != b.get(k)]


@dataclass
class TrainHConfig(TrainConfig):
    """Train the surrogate decoder h on a frozen g (paper: Adam 3e-4, wd 1e-5, batch 24).

    ``g_checkpoint`` is a trained AutoSAM checkpoint; its config fixes the back-end and g, so the
    ``backbone``/``input_size``/``hidden_dim`` fields are ignored.
    """

    g_checkpoint: str = ""
    backend: str | None = None  # None: the back-end the checkpoint was trained on
    epochs: int = 60
    batch_size: int = 24
    out_dir: str = "runs/autosam_h"

    def validate(self) -> None:
        if not self.g_checkpoint:
            raise ValueError("train-h needs --checkpoint: the trained g (NAME.safetensors) to decode.")
        super().validate()
