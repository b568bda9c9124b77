"""Image segmentation metrics: Dice and IoU at a fixed threshold, averaged over images.

Rules (pinned; every leaderboard image number follows them):

* **Threshold**: foreground is ``prob > threshold`` (strict, default 0.5). For a sigmoid output
  this is exactly ``logit > 0``, SAM's own ``mask_threshold = 0.0`` rule, so a probability of
  exactly 0.5 is background.
* **Input scaling**: ``bool`` masks are used as 0/1; ``uint8`` maps are divided by 255 unless
  their values are all 0/1 (then they are a 0/1 mask); other integer maps must be 0/1 or 0..255;
  float maps are probabilities used as they are.
* **Resolution**: scores are computed at the ground-truth resolution. A prediction of another
  size is resized as a probability map with bilinear interpolation (OpenCV ``INTER_LINEAR``,
  float64) to the GT size *before* thresholding.
* **Ground truth**: binarised with :func:`autosam.image_io.binarize_mask` (``>127`` for 0..255,
  ``>0`` for 0/1, ``>0.5`` for float 0..1, RGB -> max over channels).
* **Empty masks**: both prediction and GT empty -> Dice = IoU = 1; exactly one empty -> 0.
* Dice = 2|P∩G| / (|P| + |G|), IoU = |P∩G| / |P∪G|; the data-set score is the unweighted mean
  over images, with a seeded 95% percentile-bootstrap interval over images.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

import cv2
import numpy as np

from ..image_io import binarize_mask, load_mask
from .bootstrap import bootstrap_ci

__all__ = ["dice_iou", "to_probability", "score_images", "score_image_dirs", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
PRED_EXTENSIONS = IMAGE_EXTENSIONS + (".npy",)


def to_probability(pred: np.ndarray) -> np.ndarray:
    """Map a prediction (bool mask, uint8 map, 0/1 ints or float probabilities) to float64 H×W."""
    a = np.asarray(pred)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim != 2:
        raise ValueError(f"A prediction must be a 2-D map, got shape {a.shape}")
    if a.dtype == bool:
        return a.astype(np.float64)
    if np.issubdtype(a.dtype, np.integer):
        vmax = int(a.max()) if a.size else 0
        vmin = int(a.min()) if a.size else 0
        if vmin < 0 or vmax > 255:
            raise ValueError(f"Integer predictions must be 0/1 or 0..255, got range [{vmin}, {vmax}]")
        # A 0/1 mask stored as integers is a mask, not a nearly-black 0..255 map.
        return a.astype(np.float64) if vmax <= 1 else a.astype(np.float64) / 255.0
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ValueError("The prediction contains NaN or infinite values")
        return a.astype(np.float64)
    raise ValueError(f"Unsupported prediction dtype {a.dtype}")


def dice_iou(prob_or_mask: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> tuple[float, float]:
    """Dice and IoU of one prediction against one ground truth (rules in the module docstring).

    ``prob_or_mask``: probability map / mask of any size; it is bilinearly resized to ``gt``'s
    size when the shapes differ, then thresholded with ``> threshold``.
    """
    g = binarize_mask(gt)
    p = to_probability(prob_or_mask)
    if p.shape != g.shape:
        p = cv2.resize(p, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR)
    m = p > threshold
    inter = int(np.count_nonzero(m & g))
    n_p = int(np.count_nonzero(m))
    n_g = int(np.count_nonzero(g))
    if n_p + n_g == 0:
        return 1.0, 1.0  # both empty: a perfect "nothing here"
    union = n_p + n_g - inter
    return 2.0 * inter / (n_p + n_g), inter / union


def _summary(ids: list[str], dice: np.ndarray, iou: np.ndarray, threshold: float,
             n_resamples: int, seed: int, alpha: float) -> dict:
    return {
        "n": len(ids),
        "dice": float(dice.mean()) if len(ids) else float("nan"),
        "iou": float(iou.mean()) if len(ids) else float("nan"),
        "dice_ci": list(bootstrap_ci(dice, n_resamples=n_resamples, seed=seed, alpha=alpha)),
        "iou_ci": list(bootstrap_ci(iou, n_resamples=n_resamples, seed=seed, alpha=alpha)),
        "ci_level": 1.0 - alpha,
        "n_resamples": n_resamples,
        "seed": seed,
        "threshold": threshold,
        "rule": f"foreground = prob > {threshold}; pred resized bilinearly to GT size; "
                "both empty -> 1, one empty -> 0",
        "per_image": {k: {"dice": float(d), "iou": float(j)} for k, d, j in zip(ids, dice, iou)},
    }


def score_images(
    preds: Mapping[str, np.ndarray],
    gts: Mapping[str, np.ndarray],
    threshold: float = 0.5,
    missing: str = "error",
    n_resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """Score every GT id: mean Dice/IoU, bootstrap CIs (resampling images) and per-image scores.

    ``missing="error"`` raises when a GT id has no prediction; ``"zeros"`` scores it as an empty
    prediction. Predictions without GT are ignored. Ids are reported sorted.
    """
    if missing not in ("error", "zeros"):
        raise ValueError(f"missing must be 'error' or 'zeros', got {missing!r}")
    ids = sorted(gts)
    lacking = [k for k in ids if k not in preds]
    if lacking and missing == "error":
        raise ValueError(f"{len(lacking)} ground-truth image(s) have no prediction, e.g. {lacking[:5]}")
    dice = np.empty(len(ids))
    iou = np.empty(len(ids))
    for i, k in enumerate(ids):
        g = gts[k]
        p = preds[k] if k in preds else np.zeros(np.asarray(g).shape[:2], dtype=bool)
        dice[i], iou[i] = dice_iou(p, g, threshold)
    return _summary(ids, dice, iou, threshold, n_resamples, seed, alpha)


def _index_by_stem(folder: str | os.PathLike, exts: Iterable[str], what: str) -> dict[str, Path]:
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{what} folder not found: {root}")
    out: dict[str, Path] = {}
    for f in sorted(root.iterdir()):
        if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in exts:
            if f.stem in out:
                raise ValueError(f"Two {what} files share the stem {f.stem!r}: {out[f.stem].name}, {f.name}")
            out[f.stem] = f
    if not out:
        raise ValueError(f"No {what} files ({', '.join(sorted(exts))}) in {root}")
    return out


def load_prediction(path: str | os.PathLike) -> np.ndarray:
    """Read a prediction file: ``.npy`` (float probabilities or bool) or an 8-bit grayscale image."""
    p = Path(path)
    if p.suffix.lower() == ".npy":
        return np.load(p, allow_pickle=False)
    arr = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise ValueError(f"Could not read the prediction image {p}")
    return arr


def score_image_dirs(
    pred_dir: str | os.PathLike,
    gt_dir: str | os.PathLike,
    threshold: float = 0.5,
    missing: str = "error",
    n_resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """:func:`score_images` on two folders, pairing files by stem (``a.png`` <-> ``a.npy``)."""
    gt_files = _index_by_stem(gt_dir, IMAGE_EXTENSIONS, "ground-truth")
    pred_files = _index_by_stem(pred_dir, PRED_EXTENSIONS, "prediction")
    lacking = [k for k in gt_files if k not in pred_files]
    if lacking and missing == "error":
        raise ValueError(
            f"{len(lacking)} ground-truth image(s) in {gt_dir} have no prediction in {pred_dir}, "
            f"e.g. {[gt_files[k].name for k in lacking[:5]]}"
        )
    gts = {k: load_mask(f) for k, f in gt_files.items()}
    preds = {k: load_prediction(pred_files[k]) for k in gt_files if k in pred_files}
    out = score_images(preds, gts, threshold, missing, n_resamples, seed, alpha)
    out["unmatched_predictions"] = sorted(set(pred_files) - set(gt_files))
    return out
