"""The paper's segmentation loss (Eq. 2–4): BCE + Dice, unweighted, on SAM's output.

SAM's decoder returns logits; the paper's S(I, Z) is a probability, which we take as
``sigmoid(logits)`` (``mode="sigmoid"``, default). The official code instead min-max normalises
each sample's logits to [0, 1] (``mode="minmax"``); it is offered for reproducing that code.
Dice uses +1 smoothing: 1 − (2TP + 1) / (2TP + FN + FP + 1), with soft TP/FP/FN per sample.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def logits_to_prob(logits: torch.Tensor, mode: str = "sigmoid") -> torch.Tensor:
    if mode == "sigmoid":
        return torch.sigmoid(logits)
    if mode == "minmax":
        flat = logits.flatten(1)
        lo = flat.min(1).values.view(-1, *[1] * (logits.dim() - 1))
        hi = flat.max(1).values.view(-1, *[1] * (logits.dim() - 1))
        return (logits - lo) / (hi - lo).clamp_min(1e-6)
    raise ValueError(f"Unknown probability mode {mode!r}: use 'sigmoid' or 'minmax'.")


def dice_loss(prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p, t = prob.flatten(1), target.flatten(1)
    tp = (p * t).sum(1)
    fp = (p * (1 - t)).sum(1)
    fn = ((1 - p) * t).sum(1)
    return (1 - (2 * tp + 1) / (2 * tp + fn + fp + 1)).mean()


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor, mode: str = "sigmoid") -> torch.Tensor:
    """BCE + Dice between low-res logits [B,1,H,W] and a {0,1} target of the same size."""
    target = target.to(logits.dtype)
    if mode == "sigmoid":
        bce = F.binary_cross_entropy_with_logits(logits, target)  # numerically stable form of Eq. 3
        prob = torch.sigmoid(logits)
    else:
        prob = logits_to_prob(logits, mode)
        bce = F.binary_cross_entropy(prob.clamp(1e-6, 1 - 1e-6), target)
    return bce + dice_loss(prob, target)
