"""One place that scores a predictor on a data set, for any list of Table 1 modes.

Used by `autosam eval`, by training's validation and by the leaderboard harness.
Scores follow :func:`autosam.metrics.dice_iou` (original resolution, ``prob > threshold``, both
empty -> 1, one empty -> 0); a mode's summary is the unweighted mean over images with a seeded
95% percentile-bootstrap interval.

Prompts for the SAM baselines come from the ground truth (paper Table 1):

- ``sam_points``: one positive point at the mask's innermost pixel (:func:`gt_point`),
- ``sam_box``: the tight bounding box (:func:`gt_box`),
- ``sam_mask_prompt``: the GT mask itself as SAM's mask prompt.

**Empty ground truth.** ``autosam``, ``h`` and ``autosam_as_mask_prompt`` need no prompt and
predict as usual. For the three GT-prompted modes no prompt exists, so the prediction is an
empty mask (latency 0): it scores 1 (both empty), the answer a user who gives no prompt gets.
Samples without a mask or that cannot be read are skipped and listed in ``EvalResult.skipped``.
"""
from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .backends.base import FrozenBackend
from .checkpoint import TrainedModel
from .metrics import bootstrap_ci, dice_iou
from .predictor import (AUTOSAM, AUTOSAM_MASK, H, MODEL_MODES, MODES, SAM_BOX, SAM_MASK, SAM_POINTS, NoModelError,
                        Prediction, Predictor)

log = logging.getLogger("autosam.evaluation")

GT_PROMPT_MODES = (SAM_POINTS, SAM_BOX, SAM_MASK)


# ---- GT-derived prompts ----------------------------------------------------------------------
def gt_point(mask: np.ndarray) -> tuple[int, int] | None:
    """(x, y) of the innermost mask pixel: the maximum of the Euclidean distance transform.

    The image border counts as background (the mask is zero-padded first); ties go to the first
    pixel in row-major order. ``None`` for an empty mask.
    """
    from scipy.ndimage import distance_transform_edt

    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return None
    dist = distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def gt_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Tight bounding box (x0, y0, x1, y1) of all mask pixels, inclusive pixel indices; ``None`` if empty."""
    ys, xs = np.nonzero(np.asarray(mask, dtype=bool))
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


# ---- a predictor that reads the exact embedding cache ---------------------------------------
class CachedPredictor(Predictor):
    """A :class:`Predictor` whose image embeddings come from an :class:`EmbeddingCache` (view 0).

    Training validates through it every epoch without re-running the encoder; `autosam eval
    --embed-cache` uses it to reuse precomputed embeddings. Without a cache it is a plain Predictor.
    """

    def __init__(self, backend: FrozenBackend, model: TrainedModel | None = None, threshold: float = 0.5,
                 cache_size: int = 16, embedding_cache: Any = None) -> None:
        super().__init__(backend, model, threshold, cache_size)
        self.embedding_cache = embedding_cache

    def _encode(self, images: list[np.ndarray], keys: list[str]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        if self.embedding_cache is None:
            return super()._encode(images, keys)
        from .training.embedding_cache import EmbeddingCache

        emb, sizes = self.embedding_cache.embed(images, [EmbeddingCache.key(k, "none", 0) for k in keys])
        return emb.to(self.backend.device), [tuple(s) for s in sizes]


# ---- results ---------------------------------------------------------------------------------
@dataclass
class EvalRow:
    id: str
    mode: str
    dice: float
    iou: float
    latency_s: float


@dataclass
class ModeSummary:
    mode: str
    n: int
    dice: float
    iou: float
    dice_ci: tuple[float, float] | None
    iou_ci: tuple[float, float] | None
    latency_s: float  # mean per image

    def to_dict(self) -> dict[str, Any]:
        return {"dice": self.dice, "iou": self.iou, "n": self.n,
                "dice_ci": list(self.dice_ci) if self.dice_ci else None,
                "iou_ci": list(self.iou_ci) if self.iou_ci else None, "latency_s": self.latency_s}


@dataclass
class EvalResult:
    modes: list[str]
    rows: list[EvalRow] = field(default_factory=list)
    summary: dict[str, ModeSummary] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (id, reason)
    n_images: int = 0  # images scored (per mode)

    def to_dict(self, per_image: bool = False) -> dict[str, Any]:
        """The stable JSON interface: ``{"modes": {mode: {"dice", "iou", "n", ...}}, ...}``."""
        d: dict[str, Any] = {"modes": {m: s.to_dict() for m, s in self.summary.items()},
                             "n_images": self.n_images,
                             "skipped": [{"id": i, "reason": r} for i, r in self.skipped]}
        if per_image:
            d["per_image"] = [r.__dict__ for r in self.rows]
        return d

    def write_csv(self, path: str | os.PathLike) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "mode", "dice", "iou", "latency_s"])
            for r in self.rows:
                w.writerow([r.id, r.mode, f"{r.dice:.6f}", f"{r.iou:.6f}", f"{r.latency_s:.6f}"])


def summarize(rows: list[EvalRow], modes: Sequence[str], ci: bool = True, seed: int = 0) -> dict[str, ModeSummary]:
    out = {}
    for m in modes:
        d = np.array([r.dice for r in rows if r.mode == m], dtype=np.float64)
        j = np.array([r.iou for r in rows if r.mode == m], dtype=np.float64)
        lat = np.array([r.latency_s for r in rows if r.mode == m], dtype=np.float64)
        n = len(d)
        out[m] = ModeSummary(
            m, n, float(d.mean()) if n else float("nan"), float(j.mean()) if n else float("nan"),
            bootstrap_ci(d, seed=seed) if ci and n else None, bootstrap_ci(j, seed=seed) if ci and n else None,
            float(lat.mean()) if n else float("nan"))
    return out


# ---- evaluation ------------------------------------------------------------------------------
def _empty(mode: str, hw: tuple[int, int]) -> Prediction:
    z = np.zeros(hw, dtype=np.float32)
    return Prediction(mode, z, z > 0, 0.0)


def predict_prompted(predictor: Predictor, image: np.ndarray, mask: np.ndarray, mode: str) -> Prediction:
    """One prediction in a per-image mode, with GT-derived prompts (empty GT -> empty prediction)."""
    if mode in GT_PROMPT_MODES and not mask.any():
        return _empty(mode, mask.shape)
    if mode == SAM_POINTS:
        return predictor.predict(image, mode, points=[gt_point(mask)], labels=[1])
    if mode == SAM_BOX:
        return predictor.predict(image, mode, box=gt_box(mask))
    if mode == SAM_MASK:
        return predictor.predict(image, mode, mask_prompt=mask)
    return predictor.predict(image, mode)


def _check_modes(predictor: Predictor, modes: Sequence[str]) -> list[str]:
    modes = list(dict.fromkeys(modes))
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ValueError(f"Unknown mode(s) {bad}; modes: {', '.join(MODES)}.")
    needs = [m for m in modes if m in MODEL_MODES]
    if needs and predictor.model is None:
        raise NoModelError(f"Mode(s) {needs} need a trained AutoSAM checkpoint (--checkpoint); "
                           "train one with `autosam train`.")
    if H in modes and predictor.model is not None and predictor.model.h is None:
        raise NoModelError("Mode 'h' needs a checkpoint with the surrogate decoder: train it with `autosam train-h`.")
    return modes


def _safe_rel(sample_id: str) -> Path:
    parts = [p for p in Path(sample_id).parts if p not in ("", ".", "..", "/", "\\")]
    return Path(*parts) if parts else Path("_")


def save_probability_png(prob: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(np.rint(prob * 255.0), 0, 255).astype(np.uint8)).save(path)


def evaluate(predictor: Predictor, dataset: Any, modes: Sequence[str], batch_size: int = 8,
             save_dir: str | os.PathLike | None = None, progress: bool = True, ci: bool = True,
             seed: int = 0) -> EvalResult:
    """Score ``predictor`` on every sample of ``dataset`` (a SegmentationDataset) for each mode.

    ``autosam``/``h`` run batched (``predict_batch``); the other modes per image, reusing the
    batch's cached embeddings. ``save_dir``: probability maps as ``<save_dir>/<mode>/<id>.png``
    (uint8 = prob × 255). Bad samples are logged by id and skipped, never fatal.
    """
    from tqdm import tqdm

    modes = _check_modes(predictor, modes)
    # Per-image modes must find the batch's embeddings still in the predictor's LRU cache.
    bs = max(1, min(batch_size, predictor.cache_size))
    res = EvalResult(modes)
    out = Path(save_dir) if save_dir else None
    bar = tqdm(total=len(dataset), desc="evaluate", unit="img", disable=not progress)
    for start in range(0, len(dataset), bs):
        samples = []
        for i in range(start, min(len(dataset), start + bs)):
            try:
                s = dataset.load(i)
            except Exception as exc:  # noqa: BLE001 - a bad sample is reported, never fatal
                sid = getattr(exc, "sample_id", None) or _sample_id(dataset, i)
                log.warning("Skipping unreadable sample %s: %s", sid, exc)
                res.skipped.append((sid, str(exc)))
                continue
            if s.get("mask") is None:
                res.skipped.append((s["id"], "no ground-truth mask"))
                continue
            samples.append(s)
        bar.update(min(len(dataset), start + bs) - start)
        if not samples:
            continue
        images = [s["image"] for s in samples]
        for mode in modes:
            if mode in (AUTOSAM, H):
                preds = predictor.predict_batch(images, mode)
            else:
                preds = [predict_prompted(predictor, s["image"], s["mask"], mode) for s in samples]
            for s, p in zip(samples, preds):
                d, j = dice_iou(p.prob, s["mask"], predictor.threshold)
                res.rows.append(EvalRow(s["id"], mode, d, j, p.latency_s))
                if out is not None:
                    save_probability_png(p.prob, out / mode / _safe_rel(s["id"] + ".png"))
        res.n_images += len(samples)
    bar.close()
    res.summary = summarize(res.rows, modes, ci=ci, seed=seed)
    return res


def _sample_id(dataset: Any, i: int) -> str:
    try:
        return dataset.sample_id(i)
    except Exception:  # noqa: BLE001
        return f"#{i}"


__all__ = ["AUTOSAM_MASK", "CachedPredictor", "EvalResult", "EvalRow", "ModeSummary", "evaluate", "gt_box",
           "gt_point", "predict_prompted", "save_probability_png", "summarize"]
