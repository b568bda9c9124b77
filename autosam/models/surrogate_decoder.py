"""h, the surrogate decoder: g(I) (256×64×64) -> mask logits (256×256), as in the official code."""
from __future__ import annotations

import torch
import torch.nn as nn
from segment_anything.modeling.common import LayerNorm2d


class SurrogateDecoder(nn.Module):
    """ConvT(256→64, 3, s2) → LN → GELU → ConvT(64→16, 2, s2) → LN → GELU → Conv1×1(16→1)."""

    def __init__(self, in_ch: int = 256) -> None:
        super().__init__()
        self.conv1 = nn.ConvTranspose2d(in_ch, 64, 3, stride=2, padding=1)
        self.norm1 = LayerNorm2d(64)
        self.conv2 = nn.ConvTranspose2d(64, 16, kernel_size=2, stride=2)
        self.norm2 = LayerNorm2d(16)
        self.conv3 = nn.Conv2d(16, 1, kernel_size=1)
        self.act = nn.GELU()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h, w = z.shape[-2:]
        x = self.act(self.norm1(self.conv1(z, output_size=(2 * h, 2 * w))))
        x = self.act(self.norm2(self.conv2(x, output_size=(4 * h, 4 * w))))
        return self.conv3(x)
