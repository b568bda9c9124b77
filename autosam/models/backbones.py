"""Backbone registry for g: ``hardnet85`` (paper), ``hardnet68``, ``hardnet39ds``, ``timm:<name>``.

Every backbone returns three feature maps at strides 4, 8 and 16 — all g's decoder reads.
"""
from __future__ import annotations

import os
import warnings

import torch
import torch.nn as nn

from .hardnet import HARDNET_ARCHS, HarDNetFeatures, full_param_count

# A g that reads the frozen back-end's image embedding instead of pixels (see SamEmbedG).
SAM_EMBED = "sam_embed"


class TimmFeatures(nn.Module):
    """Any timm model with ``features_only=True``; only stages up to stride 16 are built."""

    def __init__(self, model_name: str, pretrained: bool = False) -> None:
        super().__init__()
        import timm

        probe = timm.create_model(model_name, features_only=True, pretrained=False)
        reductions = probe.feature_info.reduction()
        del probe
        wanted = []
        for r in (4, 8, 16):
            if r not in reductions:
                raise ValueError(
                    f"timm:{model_name} has feature strides {reductions}; g needs strides 4, 8 and 16."
                )
            wanted.append(reductions.index(r))
        self.model = timm.create_model(model_name, features_only=True, out_indices=tuple(wanted),
                                       pretrained=pretrained)
        self.out_channels = list(self.model.feature_info.channels())
        self.name = f"timm:{model_name}"
        if not pretrained:
            warnings.warn(f"timm:{model_name}: randomly initialised (no pretrained weights requested).",
                          stacklevel=2)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(self.model(x))


def build_backbone(name: str, weights: str | os.PathLike | None = None) -> nn.Module:
    if name in HARDNET_ARCHS:
        return HarDNetFeatures(name, weights)
    if name.startswith("timm:"):
        if weights not in (None, "", "timm"):
            bb = TimmFeatures(name[5:], pretrained=False)
            from safetensors.torch import load_file
            state = load_file(str(weights)) if str(weights).endswith(".safetensors") else \
                torch.load(str(weights), map_location="cpu", weights_only=True)
            bb.model.load_state_dict(state, strict=False)
            return bb
        return TimmFeatures(name[5:], pretrained=weights == "timm")
    raise ValueError(
        f"Unknown g backbone {name!r}. Available: {', '.join(list_backbones())}, or timm:<model name>."
    )


def list_backbones() -> list[str]:
    return [*HARDNET_ARCHS, SAM_EMBED]


def paper_param_count(name: str) -> int | None:
    """Backbone parameters as the paper counts them (incl. HarDNet's unused last stage)."""
    return full_param_count(name) if name in HARDNET_ARCHS else None
