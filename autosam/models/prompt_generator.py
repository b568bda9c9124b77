"""g, the prompt generator: image -> SAM dense prompt embedding (256×64×64, in [-1, 1])."""
from __future__ import annotations

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import GConfig
from .backbones import SAM_EMBED, build_backbone


class UpBlockSkip(nn.Module):
    """Upsample ×2, concat the skip feature, conv3×3 ×2, BN, leaky ReLU (official ``UpBlockSkip``)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.BN = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return F.leaky_relu(self.BN(self.conv2(self.conv1(torch.cat((x, skip), 1)))))


class CNNBlock(nn.Module):
    """conv3×3, BN, ReLU, conv3×3 (official ``CNNBlock``); tanh is applied by the caller."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.BN1 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.BN1(self.conv1(x))))


class GDecoder(nn.Module):
    """The paper's two up-blocks (stride 16 -> 8 -> 4, with skips) and the 256-channel head."""

    def __init__(self, ch: list[int], out: int = 256) -> None:
        super().__init__()
        c4, c8, c16 = ch
        self.up1 = UpBlockSkip(c16 + c8, c8)
        self.up2 = UpBlockSkip(c8 + c4, c4)
        self.final = CNNBlock(c4, out)

    def forward(self, f4: torch.Tensor, f8: torch.Tensor, f16: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.final(self.up2(self.up1(f16, f8), f4)))


class PromptGenerator(nn.Module):
    """Backbone (strides 4/8/16) + GDecoder; output resized to the SAM embedding grid."""

    needs_image_embedding = False

    def __init__(self, cfg: GConfig, weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = build_backbone(cfg.backbone, weights)
        self.decoder = GDecoder(self.backbone.out_channels, cfg.embed_dim)
        self.register_buffer("mean", torch.tensor(cfg.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.std).view(1, 3, 1, 1), persistent=False)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """uint8-range or [0,1] RGB batch -> normalised input. Accepts 0–255 floats."""
        return (x / 255.0 - self.mean) / self.std

    def forward(self, x: torch.Tensor, image_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        f4, f8, f16 = self.backbone(x)
        z = self.decoder(f4, f8, f16)
        s = self.cfg.embed_size
        if z.shape[-2:] != (s, s):
            # Official code: bilinear, align_corners=True, to 64×64 (g input sizes other than 256).
            z = F.interpolate(z, (s, s), mode="bilinear", align_corners=True)
        return z


class SamEmbedG(nn.Module):
    """A light g that reads the frozen back-end's own image embedding (no pixels).

    Offline there are no ImageNet weights for HarDNet; the back-end's encoder is a strong,
    medically pre-trained feature extractor whose output we cache anyway, so a few conv layers on
    it learn a useful dense prompt in minutes on a CPU. Output: tanh, 256×64×64, like g.
    """

    needs_image_embedding = True

    def __init__(self, cfg: GConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, hdim = cfg.embed_dim, cfg.hidden_dim
        layers: list[nn.Module] = [nn.Conv2d(d, hdim, 1), nn.BatchNorm2d(hdim), nn.ReLU(inplace=True)]
        # Dilations 1…16 give a receptive field spanning the whole 64×64 grid, so the prompt can
        # depend on where the lesion is relative to everything else in the image.
        for dil in (1, 2, 4, 8, 16):
            layers += [nn.Conv2d(hdim, hdim, 3, padding=dil, dilation=dil), nn.BatchNorm2d(hdim),
                       nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(hdim + d, d, 1)  # sees the embedding itself, too

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor | None, image_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        if image_embeddings is None:
            raise ValueError("The sam_embed g reads the back-end's image embedding: pass image_embeddings.")
        return torch.tanh(self.head(torch.cat([self.body(image_embeddings), image_embeddings], 1)))


def build_g(cfg: GConfig, weights: str | os.PathLike | None = None) -> nn.Module:
    """Build g from its config; ``weights`` are ImageNet backbone weights (file or URL)."""
    if cfg.backbone == SAM_EMBED:
        return SamEmbedG(cfg)
    return PromptGenerator(cfg, weights)
