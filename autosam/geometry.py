"""Letterbox geometry shared by prediction and training.

SAM resizes the longest side and pads bottom/right. g sees the *same* letterboxed frame (at its
own input size), so g's 64×64 prompt grid lines up cell for cell with SAM's embedding grid, and
one image embedding serves every mode (AutoSAM, h and the prompt baselines).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

LOW_RES = 256


def letterbox_hw(hw: tuple[int, int], size: int) -> tuple[int, int]:
    """(h, w) after resizing the longest side to ``size`` (SAM's rounding)."""
    h, w = hw
    scale = size / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def letterbox_images(images: list[np.ndarray], size: int) -> torch.Tensor:
    """uint8 RGB images -> float [B,3,size,size] in 0..255, longest side resized, zero padded."""
    out = torch.zeros(len(images), 3, size, size)
    for i, img in enumerate(images):
        h, w = letterbox_hw(img.shape[:2], size)
        t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
        t = F.interpolate(t, (h, w), mode="bilinear", align_corners=False, antialias=True)
        out[i, :, :h, :w] = t[0].clamp(0, 255)
    return out


def letterbox_masks(masks: list[np.ndarray], size: int = LOW_RES) -> torch.Tensor:
    """bool masks -> float [B,1,size,size] targets in {0,1}, same letterbox as the images.

    Area-average then >= 0.5 keeps thin structures better than nearest-neighbour sampling.
    """
    out = torch.zeros(len(masks), 1, size, size)
    for i, m in enumerate(masks):
        h, w = letterbox_hw(m.shape[:2], size)
        t = torch.from_numpy(np.ascontiguousarray(m)).float()[None, None]
        t = F.interpolate(t, (h, w), mode="area" if h <= m.shape[0] else "bilinear")
        out[i, :, :h, :w] = (t[0] >= 0.5).float()
    return out


def mask_to_logits(mask: torch.Tensor, scale: float = 10.0) -> torch.Tensor:
    """A binary mask as SAM mask-prompt logits (+scale inside, -scale outside)."""
    return (mask * 2.0 - 1.0) * scale
