"""Dataclass configs shared by the library, the CLI, the leaderboard and the app.

A trained model is described by :class:`ModelConfig`, saved as JSON next to its safetensors
weights (see :mod:`autosam.checkpoint`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

FORMAT_VERSION = 1

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class GConfig:
    """The prompt generator g.

    ``backbone`` is a registry name (``hardnet85``, ``hardnet68``, ``hardnet39ds``, ``timm:<name>``
    or ``sam_embed`` — a light g that reads the frozen back-end's own image embedding).
    """

    backbone: str = "hardnet85"
    input_size: int = 256
    embed_dim: int = 256
    embed_size: int = 64
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    # Width of the light ``sam_embed`` g; ignored by image backbones.
    hidden_dim: int = 128

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"Unknown g config keys {sorted(unknown)}; known keys: {sorted(known)}")
        d = dict(d)
        for k in ("mean", "std"):
            if k in d:
                d[k] = tuple(float(v) for v in d[k])
        return cls(**d)


@dataclass
class ModelConfig:
    """Everything needed to rebuild a trained AutoSAM model from its weights."""

    backend: str = "lite_medsam"
    backend_sha256: str = ""
    g: GConfig = field(default_factory=GConfig)
    has_h: bool = False
    format_version: int = FORMAT_VERSION
    autosam_version: str = ""
    # Free-form provenance (training command, data, epochs, metrics). Never executed.
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["g"]["mean"] = list(self.g.mean)
        d["g"]["std"] = list(self.g.std)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        if not isinstance(d, dict):
            raise ValueError("A model config must be a JSON object.")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"Unknown model config keys {sorted(unknown)}; known keys: {sorted(known)}")
        d = dict(d)
        version = int(d.get("format_version", FORMAT_VERSION))
        if version > FORMAT_VERSION:
            raise ValueError(
                f"Checkpoint format {version} is newer than this AutoSAM understands ({FORMAT_VERSION}); "
                "upgrade autosam."
            )
        d["g"] = GConfig.from_dict(d.get("g", {}))
        return cls(**d)
