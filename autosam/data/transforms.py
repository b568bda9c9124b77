"""Resizing for g's input.

The official code resizes to a square without keeping the aspect ratio (torchvision ``Resize``
on PIL images: bilinear, antialiased when shrinking); we do the same with PIL directly so the
result does not depend on torchvision's tensor/PIL code paths.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..config import IMAGENET_MEAN, IMAGENET_STD


def resize_for_g(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 H×W×3 -> uint8 size×size×3, bilinear, aspect ratio not kept (as the official code)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 H×W×3 image, got {image.shape} {image.dtype}")
    if image.shape[0] == size and image.shape[1] == size:
        return image
    return np.array(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def resize_mask(mask: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """bool H×W -> bool mask of ``size`` (int = square, or (h, w)), nearest neighbour."""
    h, w = (size, size) if isinstance(size, int) else size
    if mask.shape == (h, w):
        return mask
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.array(img.resize((w, h), Image.Resampling.NEAREST)) > 127


def to_g_tensor(image: np.ndarray, size: int, mean: Sequence[float] = IMAGENET_MEAN,
                std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """uint8 H×W×3 -> float32 [3, size, size], resized and normalised (values in 0–1 before mean/std)."""
    x = torch.from_numpy(np.ascontiguousarray(resize_for_g(image, size))).permute(2, 0, 1).float().div_(255.0)
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return (x - m) / s
