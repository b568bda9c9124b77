"""Exact on-disk cache of frozen-encoder image embeddings.

The back-end never changes during training, so its embedding of a given (image, augmentation
view) is a constant: computing it once and reading it back is exact up to fp16 storage.
Key = back-end weight SHA-256 + source-image content hash + augmentation preset + view id.
One safetensors file per entry, written atomically (an interrupted run leaves no half files).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..backends.base import FrozenBackend
from ..checkpoint import atomic_write


def default_cache_root() -> Path:
    return Path(os.environ.get("AUTOSAM_EMBED_CACHE",
                               Path.home() / ".cache" / "autosam" / "embeddings")).expanduser()


class EmbeddingCache:
    def __init__(self, root: str | os.PathLike | None, backend: FrozenBackend,
                 dtype: torch.dtype = torch.float16) -> None:
        self.backend = backend
        self.root = Path(root) if root else default_cache_root()
        self.dir = self.root / backend.name / backend.weights_sha256[:16]
        self.dtype = dtype
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(source_hash: str, preset: str, view: int) -> str:
        # View 0 is always the un-augmented image, shared by every preset.
        if view == 0:
            preset = "none"
        return hashlib.sha256(f"{source_hash}|{preset}|{view}".encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.safetensors"

    def get(self, key: str) -> tuple[torch.Tensor, tuple[int, int]] | None:
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            t = load_file(str(p))
        except Exception:  # a corrupt entry is recomputed, never trusted
            p.unlink(missing_ok=True)
            return None
        hw = tuple(int(v) for v in t["input_hw"].tolist())
        return t["embedding"].float(), hw  # type: ignore[return-value]

    def put(self, key: str, embedding: torch.Tensor, input_hw: tuple[int, int]) -> None:
        atomic_write(self.path(key), lambda tmp: save_file(
            {"embedding": embedding.detach().to(self.dtype).cpu().contiguous(),
             "input_hw": torch.tensor(input_hw, dtype=torch.int32)}, tmp))

    def embed(self, images: list[np.ndarray], keys: list[str]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """Embeddings [B,256,64,64] for view images with precomputed keys; misses are encoded in one batch."""
        out: list[torch.Tensor | None] = [None] * len(images)
        sizes: list[tuple[int, int] | None] = [None] * len(images)
        todo = []
        for i, k in enumerate(keys):
            hit = self.get(k)
            if hit is None:
                todo.append(i)
            else:
                out[i], sizes[i] = hit
        self.hits += len(images) - len(todo)
        self.misses += len(todo)
        if todo:
            x, hw = self.backend.preprocess([images[i] for i in todo])
            emb = self.backend.encode(x).cpu()
            for j, i in enumerate(todo):
                e = emb[j].to(self.dtype)
                self.put(keys[i], e, hw[j])
                # Return exactly what a later cache hit returns (fp16-rounded) so cached and
                # uncached epochs see identical inputs.
                out[i], sizes[i] = e.float(), hw[j]
        return torch.stack(out), sizes  # type: ignore[arg-type]
