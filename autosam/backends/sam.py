"""Official SAM (ViT-H/L/B) from the ``segment-anything`` package, and a tiny random SAM for tests."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import partial

import torch
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, TwoWayTransformer

from .base import FrozenBackend
from .weights import WeightsFile, cached_sha256, resolve_weights

_URL = "https://dl.fbaipublicfiles.com/segment_anything/"


@dataclass(frozen=True)
class SamVariant:
    embed_dim: int
    depth: int
    num_heads: int
    global_attn: tuple[int, ...]
    weights: WeightsFile | None
    img_size: int = 1024
    decoder_depth: int = 2
    decoder_mlp: int = 2048


SAM_VARIANTS: dict[str, SamVariant] = {
    "sam_vit_h": SamVariant(1280, 32, 16, (7, 15, 23, 31), WeightsFile(
        "sam_vit_h_4b8939.pth", _URL + "sam_vit_h_4b8939.pth",
        md5="4b8939a88964f0f4ff5f5b2642c598a6", size=2564550879)),
    "sam_vit_l": SamVariant(1024, 24, 16, (5, 11, 17, 23), WeightsFile(
        "sam_vit_l_0b3195.pth", _URL + "sam_vit_l_0b3195.pth",
        md5="0b3195507c641ddb6910d2bb5adee89c", size=1249524607)),
    "sam_vit_b": SamVariant(768, 12, 12, (2, 5, 8, 11), WeightsFile(
        "sam_vit_b_01ec64.pth", _URL + "sam_vit_b_01ec64.pth",
        md5="01ec64d29a2fca3f0661936605ae66f8", size=375042383)),
    # Random weights, same interfaces, 256² input -> 64×64 embedding: for fast unit tests only.
    "sam_tiny": SamVariant(32, 2, 2, (1,), None, img_size=256, decoder_depth=1, decoder_mlp=64),
}

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


class SamBackend(FrozenBackend):
    """SAM's own preprocessing: ImageNet mean/std on 0–255 values, longest side to ``img_size``."""

    def __init__(self, name: str, variant: SamVariant, image_encoder, prompt_encoder, mask_decoder,
                 weights_sha256: str) -> None:
        super().__init__(image_encoder, prompt_encoder, mask_decoder, weights_sha256)
        self.name = name
        self.img_size = variant.img_size
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD).view(1, 3, 1, 1), persistent=False)

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.pixel_mean.cpu()) / self.pixel_std.cpu()


def _build_modules(v: SamVariant):
    patch = 16 if v.img_size == 1024 else 4
    emb = v.img_size // patch
    encoder = ImageEncoderViT(
        depth=v.depth, embed_dim=v.embed_dim, img_size=v.img_size, mlp_ratio=4,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=v.num_heads,
        patch_size=patch, qkv_bias=True, use_rel_pos=True, global_attn_indexes=v.global_attn,
        window_size=14 if v.img_size == 1024 else 8, out_chans=256,
    )
    prompt = PromptEncoder(embed_dim=256, image_embedding_size=(emb, emb),
                           input_image_size=(v.img_size, v.img_size), mask_in_chans=16)
    decoder = MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(depth=v.decoder_depth, embedding_dim=256,
                                      mlp_dim=v.decoder_mlp, num_heads=8),
        transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256,
    )
    return encoder, prompt, decoder


def build_sam_backend(name: str, checkpoint: str | os.PathLike | None = None, device: str = "cpu",
                      seed: int = 0) -> SamBackend:
    v = SAM_VARIANTS[name]
    if v.weights is None:
        # Deterministic random init so tests (and the tiny config's hash) are reproducible.
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        enc, prm, dec = _build_modules(v)
        torch.random.set_rng_state(gen_state)
        digest = hashlib.sha256(f"{name}-random-seed{seed}".encode()).hexdigest()
        backend = SamBackend(name, v, enc, prm, dec, digest)
    else:
        path = resolve_weights(v.weights, checkpoint)
        enc, prm, dec = _build_modules(v)
        # Official checkpoints are pickled state dicts: weights_only=True refuses anything else.
        state = torch.load(path, map_location="cpu", weights_only=True)
        backend = SamBackend(name, v, enc, prm, dec, cached_sha256(path))
        missing, unexpected = backend.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("pixel_")]
        if missing or unexpected:
            raise RuntimeError(
                f"{path} does not match {name}: missing {missing[:5]}, unexpected {unexpected[:5]}."
            )
    return backend.to(device).freeze()
