"""Seeded percentile-bootstrap confidence intervals and paired comparisons.

The unit that is resampled is whatever the data set score averages over: images for image
metrics, cases (clips) for SUN-SEG video metrics. Every function is deterministic given ``seed``
(``numpy.random.default_rng``), so a leaderboard row's interval never changes on a re-run.
"""
from __future__ import annotations

from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

__all__ = ["bootstrap_ci", "bootstrap_curve_ci", "paired_difference"]

# Resample rows are generated in blocks so that memory stays ~ _BLOCK_CELLS ints whatever n is.
_BLOCK_CELLS = 4_000_000


def _check_params(n_resamples: int, alpha: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def _resample_weights(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Yield blocks of bootstrap multiplicities (rows sum to n), one row per resample.

    Drawing indices with ``rng.integers`` and counting them (rather than indexing the data) lets
    scalar values and whole per-threshold curves share one code path: mean = counts @ data / n.
    """
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_CELLS // max(n, 1))
    done = 0
    while done < n_resamples:
        r = min(block, n_resamples - done)
        idx = rng.integers(0, n, size=(r, n))
        flat = (idx + n * np.arange(r)[:, None]).ravel()
        yield np.bincount(flat, minlength=r * n).reshape(r, n)
        done += r


def _percentile_interval(stats: np.ndarray, alpha: float) -> tuple[float, float]:
    lo, hi = np.quantile(stats, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def _as_finite_1d(values: Sequence[float] | np.ndarray, what: str = "values") -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(v).all():
        raise ValueError(f"{what} contain NaN or infinite entries; a bootstrap needs finite scores")
    return v


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    n_resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap ``(lo, hi)`` interval of the mean of ``values`` (95% by default).

    Empty input gives ``(nan, nan)``; a single value gives ``(v, v)``.
    """
    _check_params(n_resamples, alpha)
    v = _as_finite_1d(values)
    if v.size == 0:
        return float("nan"), float("nan")
    means = np.concatenate([w @ v / v.size for w in _resample_weights(v.size, n_resamples, seed)])
    return _percentile_interval(means, alpha)


def bootstrap_curve_ci(
    curves: np.ndarray,
    reduce: str | Callable[[np.ndarray], np.ndarray] = "mean",
    n_resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Bootstrap interval of ``reduce(mean over resampled rows of curves)``.

    ``curves`` is ``(n_units, n_thresholds)`` (e.g. one 256-threshold Dice curve per case).
    ``reduce`` is ``"mean"`` or ``"max"`` over thresholds, or a callable mapping
    ``(r, n_thresholds) -> (r,)``. Needed for max-over-threshold scores, which are not a mean of
    per-unit numbers; with ``"mean"`` it equals :func:`bootstrap_ci` of the per-unit means.
    """
    _check_params(n_resamples, alpha)
    c = np.asarray(curves, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"curves must be 2-D (units x thresholds), got shape {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("curves contain NaN or infinite entries")
    if c.shape[0] == 0:
        return float("nan"), float("nan")
    if reduce == "mean":
        fn: Callable[[np.ndarray], np.ndarray] = lambda m: m.mean(axis=1)
    elif reduce == "max":
        fn = lambda m: m.max(axis=1)
    elif callable(reduce):
        fn = reduce
    else:
        raise ValueError(f"reduce must be 'mean', 'max' or a callable, got {reduce!r}")
    n = c.shape[0]
    stats = np.concatenate([fn(w @ c / n) for w in _resample_weights(n, n_resamples, seed)])
    return _percentile_interval(stats, alpha)


def paired_difference(
    a: Mapping[str, float],
    b: Mapping[str, float],
    n_resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """Paired comparison of two result sets scored on the same items (images or cases).

    Only ids present in both are compared (the difference is ``a - b`` per id, resampled by id).
    Returns ``{"n", "shared_ids", "only_in_a", "only_in_b", "mean_a", "mean_b", "mean_diff",
    "ci": [lo, hi], "p_value", "a_better", "b_better", "ties", ...}``; ``p_value`` is the
    two-sided bootstrap p-value of "mean difference = 0" (resolution 1/n_resamples).
    Raises ``ValueError`` when the two sets share no id.
    """
    shared = sorted(set(a) & set(b))
    if not shared:
        raise ValueError(
            "The two result sets share no ids: a paired comparison needs scores on the same "
            f"items (a has {len(a)} ids, e.g. {sorted(a)[:3]}; b has {len(b)}, e.g. {sorted(b)[:3]})."
        )
    va = _as_finite_1d([a[k] for k in shared], "scores of a")
    vb = _as_finite_1d([b[k] for k in shared], "scores of b")
    d = va - vb
    _check_params(n_resamples, alpha)
    boot = np.concatenate([w @ d / d.size for w in _resample_weights(d.size, n_resamples, seed)])
    lo, hi = _percentile_interval(boot, alpha)
    # Two-sided percentile p-value; floor at one resample's worth so it never reads as exactly 0.
    tail = min(np.mean(boot <= 0.0), np.mean(boot >= 0.0))
    p = float(min(1.0, max(2.0 * tail, 1.0 / n_resamples)))
    if np.all(d == 0):
        p = 1.0
    return {
        "n": len(shared),
        "shared_ids": shared,
        "only_in_a": sorted(set(a) - set(b)),
        "only_in_b": sorted(set(b) - set(a)),
        "mean_a": float(va.mean()),
        "mean_b": float(vb.mean()),
        "mean_diff": float(d.mean()),
        "ci": [lo, hi],
        "ci_level": 1.0 - alpha,
        "p_value": p,
        "a_better": int(np.sum(d > 0)),
        "b_better": int(np.sum(d < 0)),
        "ties": int(np.sum(d == 0)),
        "n_resamples": n_resamples,
        "seed": seed,
    }
