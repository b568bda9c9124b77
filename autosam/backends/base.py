"""One interface for every frozen SAM back-end.

A back-end owns SAM's three parts (image encoder, prompt encoder, mask decoder) and the image
preprocessing that its encoder was trained with. It is frozen: no parameter needs a gradient, it
is always in eval mode, and the image encoder runs under ``inference_mode``. Gradients still flow
*through* the decoder into the dense prompt, which is how g is trained.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from segment_anything.modeling import MaskDecoder, PromptEncoder

from ..geometry import letterbox_hw


@dataclass
class BackendInfo:
    name: str
    input_size: int
    params: int | None
    weights_present: bool
    description: str
    weights_file: str = ""


class FrozenBackend(nn.Module):
    """Base class; subclasses set the modules and implement ``_normalize``."""

    name: str = ""
    img_size: int = 1024
    embed_size: int = 64

    def __init__(self, image_encoder: nn.Module, prompt_encoder: PromptEncoder,
                 mask_decoder: MaskDecoder, weights_sha256: str = "") -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        self.weights_sha256 = weights_sha256

    # ---- freezing -------------------------------------------------------------------------
    def freeze(self) -> "FrozenBackend":
        for p in self.parameters():
            p.requires_grad_(False)
        return super().train(False)

    def train(self, mode: bool = True) -> "FrozenBackend":
        # Frozen means frozen: a parent module's .train() must not flip SAM's norm layers.
        return super().train(False)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # ---- preprocessing --------------------------------------------------------------------
    def resized_hw(self, original_hw: tuple[int, int]) -> tuple[int, int]:
        """Size after resizing the longest side to ``img_size`` (SAM's ResizeLongestSide)."""
        return letterbox_hw(original_hw, self.img_size)

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def preprocess(self, images: list[np.ndarray]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """uint8 RGB H×W×3 images -> normalised, longest-side-resized, bottom/right-padded batch."""
        batch, sizes = [], []
        for img in images:
            if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
                raise ValueError(
                    f"preprocess expects uint8 RGB H×W×3 arrays (use autosam.image_io.load_image), "
                    f"got {img.dtype} {img.shape}"
                )
            h, w = self.resized_hw(img.shape[:2])
            t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
            # Bilinear with antialias matches PIL resize used by SAM's ResizeLongestSide.
            t = F.interpolate(t, (h, w), mode="bilinear", align_corners=False, antialias=True)
            t = self._normalize(t.clamp(0, 255))
            t = F.pad(t, (0, self.img_size - w, 0, self.img_size - h))
            batch.append(t)
            sizes.append((h, w))
        return torch.cat(batch).to(self.device), sizes

    def transform_coords(self, xy: np.ndarray, original_hw: tuple[int, int]) -> np.ndarray:
        """Map (x, y) pixel coordinates of the original image to back-end input coordinates."""
        h, w = original_hw
        nh, nw = self.resized_hw(original_hw)
        out = np.asarray(xy, dtype=np.float32).copy()
        out[..., 0] = out[..., 0] * (nw / w)
        out[..., 1] = out[..., 1] * (nh / h)
        return out

    # ---- the three SAM stages -------------------------------------------------------------
    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Image embeddings [B,256,64,64] (float32). Never tracks gradients."""
        with torch.inference_mode(), self._autocast():
            emb = self.image_encoder(x.to(self.device))
        # Clone out of inference mode so the tensor can enter autograd graphs (as a constant).
        return emb.float().clone()

    def no_prompt(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM's 'no prompt' embeddings: sparse [B,0,256] and dense [B,256,64,64]."""
        return self.prompt_encode(batch=batch)

    def prompt_encode(self, points: tuple[torch.Tensor, torch.Tensor] | None = None,
                      boxes: torch.Tensor | None = None, masks: torch.Tensor | None = None,
                      batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        dev = self.device
        if points is not None:
            coords, labels = points
            points = (torch.as_tensor(coords, dtype=torch.float32, device=dev),
                      torch.as_tensor(labels, dtype=torch.int64, device=dev))
        if boxes is not None:
            boxes = torch.as_tensor(boxes, dtype=torch.float32, device=dev).reshape(-1, 4)
        if masks is not None:
            masks = torch.as_tensor(masks, dtype=torch.float32, device=dev)
        sparse, dense = self.prompt_encoder(points=points, boxes=boxes, masks=masks)
        if points is None and boxes is None and masks is None and batch > 1:
            sparse = sparse.expand(batch, -1, -1)
            dense = dense.expand(batch, -1, -1, -1)
        return sparse, dense

    def decode(self, image_embeddings: torch.Tensor, sparse: torch.Tensor, dense: torch.Tensor,
               multimask: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Low-res logits [B,C,256,256] and IoU predictions [B,C].

        segment-anything's ``MaskDecoder.predict_masks`` repeats every image embedding for every
        prompt in the batch (B images × B prompts); we pair image i with prompt i instead, so a
        batch of B costs B decoder passes, not B².
        """
        md = self.mask_decoder
        b = image_embeddings.shape[0]
        if sparse.shape[0] != b:
            sparse = sparse.expand(b, -1, -1)
        if dense.shape[0] != b:
            dense = dense.expand(b, -1, -1, -1)
        with self._autocast():
            out_tokens = torch.cat([md.iou_token.weight, md.mask_tokens.weight], dim=0)
            out_tokens = out_tokens.unsqueeze(0).expand(b, -1, -1)
            tokens = torch.cat((out_tokens, sparse.to(out_tokens.dtype)), dim=1)
            src = image_embeddings + dense
            pos = self.prompt_encoder.get_dense_pe().expand(b, -1, -1, -1)
            _, c, h, w = src.shape
            hs, src = md.transformer(src, pos, tokens)
            iou_token_out = hs[:, 0, :]
            mask_tokens_out = hs[:, 1: 1 + md.num_mask_tokens, :]
            src = src.transpose(1, 2).reshape(b, c, h, w)
            up = md.output_upscaling(src)
            hyper = torch.stack([md.output_hypernetworks_mlps[i](mask_tokens_out[:, i, :])
                                 for i in range(md.num_mask_tokens)], dim=1)
            bu, cu, hu, wu = up.shape
            masks = (hyper @ up.reshape(bu, cu, hu * wu)).reshape(bu, -1, hu, wu)
            iou = md.iou_prediction_head(iou_token_out)
        sl = slice(1, None) if multimask else slice(0, 1)
        return masks[:, sl].float(), iou[:, sl].float()

    def postprocess(self, low_res: torch.Tensor, input_hw: tuple[int, int],
                    original_hw: tuple[int, int]) -> torch.Tensor:
        """Remove padding and upscale logits to the original image size (as SAM does)."""
        x = F.interpolate(low_res, (self.img_size, self.img_size), mode="bilinear", align_corners=False)
        x = x[..., : input_hw[0], : input_hw[1]]
        return F.interpolate(x, original_hw, mode="bilinear", align_corners=False)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
