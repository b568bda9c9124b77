"""AutoSAM = g + a frozen SAM back-end: g(I) is SAM's dense prompt, the sparse prompt is empty."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..backends.base import FrozenBackend


class AutoSAM(nn.Module):
    def __init__(self, g: nn.Module, backend: FrozenBackend) -> None:
        super().__init__()
        self.g = g
        # Not registered as a sub-module: the back-end is frozen, shared, and never saved with g.
        self.__dict__["backend"] = backend

    def dense_prompt(self, g_input: torch.Tensor | None, image_embeddings: torch.Tensor) -> torch.Tensor:
        return self.g(g_input, image_embeddings=image_embeddings)

    def forward(self, g_input: torch.Tensor | None, image_embeddings: torch.Tensor) -> torch.Tensor:
        """Low-res SAM logits [B,1,256,256]; gradients reach g only."""
        dense = self.dense_prompt(g_input, image_embeddings)
        sparse, _ = self.backend.no_prompt(dense.shape[0])
        logits, _ = self.backend.decode(image_embeddings, sparse, dense, multimask=False)
        return logits
