"""Per-frame S-measure and weighted F-measure, verbatim ports of GewelsJI/VPS ``eval/metrics.py``.

Kept apart from :mod:`.video` because they are the only metrics that need the full float map
(everything thresholded is computed from histograms there). Same operations in the same order as
VPS, so results are bit-identical to it, including VPS's handling of degenerate ground truth.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.ndimage import convolve
from scipy.ndimage import distance_transform_edt as bwdist

__all__ = ["smeasure", "weighted_fmeasure"]

_EPS = np.spacing(1)  # MATLAB eps, as in VPS / pysodmetrics


def _gauss7() -> np.ndarray:
    # MATLAB fspecial('gaussian', 7, 5), as VPS/pysodmetrics matlab_style_gauss2D builds it.
    y, x = np.ogrid[-3.0:4.0, -3.0:4.0]
    h = np.exp(-(x * x + y * y) / (2 * 5 * 5))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    return h / h.sum()


_GAUSS7 = _gauss7()


def _s_object(x: np.ndarray) -> float:
    mean = np.mean(x)
    return 2 * mean / (np.power(mean, 2) + 1 + np.std(x, ddof=1) + _EPS)


def _ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    h, w = pred.shape
    n = h * w
    x, y = np.mean(pred), np.mean(gt)
    sigma_x = np.sum((pred - x) ** 2) / (n - 1)
    sigma_y = np.sum((gt - y) ** 2) / (n - 1)
    sigma_xy = np.sum((pred - x) * (gt - y)) / (n - 1)
    alpha = 4 * x * y * sigma_xy
    beta = (x**2 + y**2) * (sigma_x + sigma_y)
    if alpha != 0:
        return alpha / (beta + _EPS)
    return 1 if beta == 0 else 0


def smeasure(pred: np.ndarray, gt: np.ndarray) -> float:
    """VPS ``Smeasure.cal_sm`` (α=0.5) verbatim, including its degenerate cases: a one-pixel
    object/background or a one-pixel/empty quadrant makes VPS's sum NaN and ``max(0, nan)`` -> 0
    (pysodmetrics differs there)."""
    y = np.mean(gt)
    if y == 0:
        return float(1 - np.mean(pred))
    if y == 1:
        return float(np.mean(pred))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        obj = y * _s_object(pred[gt]) + (1 - y) * _s_object(1 - pred[~gt])
        h, w = gt.shape
        area = h * w
        area_obj = np.sum(gt)
        cx = int(np.round(np.sum(np.sum(gt, axis=0) * np.arange(w)) / area_obj)) + 1
        cy = int(np.round(np.sum(np.sum(gt, axis=1) * np.arange(h)) / area_obj)) + 1
        w1 = cx * cy / area
        w2 = cy * (w - cx) / area
        w3 = (h - cy) * cx / area
        w4 = 1 - w1 - w2 - w3
        region = (w1 * _ssim(pred[0:cy, 0:cx], gt[0:cy, 0:cx])
                  + w2 * _ssim(pred[0:cy, cx:w], gt[0:cy, cx:w])
                  + w3 * _ssim(pred[cy:h, 0:cx], gt[cy:h, 0:cx])
                  + w4 * _ssim(pred[cy:h, cx:w], gt[cy:h, cx:w]))
        sm = 0.5 * obj + (1 - 0.5) * region
    return float(sm) if sm > 0 else 0.0  # Python max(0, sm): NaN -> 0


def weighted_fmeasure(pred: np.ndarray, gt: np.ndarray) -> float:
    """VPS ``WeightedFmeasure`` (β²=1), same operations; 0 when the GT is empty."""
    if not gt.any():
        return 0.0
    dst, idxt = bwdist(gt == 0, return_indices=True)
    e = np.abs(pred - gt)
    bg = gt == 0
    # VPS: Et(~GT) = E(nearest GT pixel). One flat gather does it: a GT pixel's index is itself.
    et = e.ravel()[(idxt[0] * gt.shape[1] + idxt[1]).ravel()].reshape(e.shape)
    ea = convolve(et, weights=_GAUSS7, mode="constant", cval=0)
    min_e_ea = np.where(gt & (ea < e), ea, e)
    b = np.where(bg, 2 - np.exp(np.log(0.5) / 5 * dst), np.ones_like(gt))
    ew = min_e_ea * b
    tpw = np.sum(gt) - np.sum(ew[gt == 1])
    fpw = np.sum(ew[bg])
    r = 1 - np.mean(ew[gt == 1])
    p = tpw / (tpw + fpw + _EPS)
    return float((1 + 1) * r * p / (r + 1 * p + _EPS))
