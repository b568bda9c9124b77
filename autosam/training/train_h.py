"""Train the surrogate decoder h on a frozen, trained g (paper §3: h(g(I)) -> mask).

h maps g's 256×64×64 prompt to 256×256 logits, trained with the same BCE + Dice against the
letterboxed 256×256 mask (Adam 3e-4, wd 1e-5, batch 24). g stays frozen in eval mode (its
BatchNorm statistics are not touched). An image-reading g needs no SAM encoder at all here; the
``sam_embed`` g reads the cached embedding. The checkpoints hold g and h in the usual format, and
validation scores the Predictor's ``h`` mode at the original resolution.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import torch
import torch.nn as nn

from ..checkpoint import load_checkpoint, read_config
from ..config import GConfig, ModelConfig
from ..geometry import LOW_RES, letterbox_masks
from ..losses import bce_dice_loss
from ..models import SurrogateDecoder
from ..predictor import H
from .config import TrainHConfig
from .trainer import Trainer, TrainResult


class HTrainer(Trainer):
    kind = "h"
    val_mode = H

    def __init__(self, cfg: TrainHConfig, resume: bool = False, command: str | None = None,
                 on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> None:
        super().__init__(cfg, resume, command, on_epoch_end)
        self.g_ckpt_config = read_config(cfg.g_checkpoint)

    def backend_name(self) -> str:
        trained_on = self.g_ckpt_config.backend
        if self.cfg.backend and self.cfg.backend != trained_on:
            raise ValueError(f"{self.cfg.g_checkpoint} was trained on {trained_on}, not {self.cfg.backend}: "
                             "h must see the g(I) of the back-end g was trained for.")
        return trained_on

    def build_modules(self) -> nn.Module:
        tm = load_checkpoint(self.cfg.g_checkpoint, backend_sha256=self.backend.weights_sha256, device=self.device)
        self.loaded_config = tm.config
        self.g = tm.g.eval()
        for p in self.g.parameters():
            p.requires_grad_(False)
        self.h = SurrogateDecoder(tm.config.g.embed_dim).to(self.device)
        return self.h

    def g_config(self) -> GConfig:
        return self.loaded_config.g

    def base_model_config(self) -> ModelConfig:
        cfg = copy.deepcopy(self.loaded_config)
        cfg.metadata = {"g_checkpoint": str(self.cfg.g_checkpoint), "g_metadata": self.loaded_config.metadata}
        return cfg

    def needs_embeddings(self) -> bool:
        return bool(getattr(self.g, "needs_image_embedding", False))

    def compute_loss(self, batch: dict[str, list], emb: torch.Tensor | None) -> torch.Tensor:
        target = letterbox_masks(batch["mask"], LOW_RES).to(self.device)
        with torch.no_grad(), self.autocast():
            z = self.g(self.g_input(batch["image"]), image_embeddings=emb)
        with self.autocast():
            logits = self.train_module(z.float())
        return bce_dice_loss(logits.float(), target, self.cfg.loss_mode)


def train_h(cfg: TrainHConfig, resume: bool = False, command: str | None = None,
            on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> TrainResult:
    """Train h on the frozen g of ``cfg.g_checkpoint``; writes checkpoints holding g and h."""
    return HTrainer(cfg, resume=resume, command=command, on_epoch_end=on_epoch_end).run()


__all__ = ["HTrainer", "train_h"]
