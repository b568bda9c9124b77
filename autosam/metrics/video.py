"""SUN-SEG video metrics, numerically identical to GewelsJI/VPS ``eval/vps_evaluator.py``.

Protocol (REFERENCE.md §5): per case, GT frames ``*.png`` sorted by :func:`sort_frames`, first and
last frame dropped; per frame both files read with ``cv2.imread(..., IMREAD_GRAYSCALE)``, the
prediction resized to the GT size with ``cv2.resize`` (bilinear) when shapes differ, then
``pred/255`` min-max normalised unless constant and ``gt > 128``. Per frame: S-measure (α=0.5),
E-measure and F-measure (β²=0.3) curves over the 256 uint8 thresholds, weighted F (β²=1), and
Dice/Sensitivity curves over ``linspace(1, 0, 256)`` with ``pred >= t``. Curves are averaged over
the frames of a case, then over cases (unweighted); "mean" scores average the 256 thresholds and
``maxDice`` takes the maximum.

Speed: a prediction decoded from uint8 takes at most 256 values, so every thresholded count
(E, F, Dice, Sen) comes from one 256-bin histogram per GT class, exactly (no per-threshold pass
over the image). S and weighted F (:mod:`.sod`) repeat VPS's array operations verbatim, so every
score is bit-identical to VPS per frame and per case.

Deviations, only where VPS cannot produce a number: cases with fewer than 3 frames (nothing left
after dropping the ends; VPS yields NaN) are skipped and listed; frame names that are neither
integers nor SUN-SEG names (VPS raises) are ordered naturally (digit runs compared as numbers).
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from .bootstrap import bootstrap_ci, bootstrap_curve_ci
from .sod import smeasure, weighted_fmeasure

__all__ = [
    "METRIC_NAMES", "PreparedFrame", "FrameMetrics", "CaseResult", "DatasetResult",
    "sort_frames", "frame_sort_key", "list_case_frames", "prepare_frame", "frame_metrics",
    "evaluate_case_arrays", "evaluate_case", "aggregate_cases", "case_bootstrap_cis",
    "evaluate_dataset", "find_video_datasets", "evaluate_video_roots",
]

METRIC_NAMES = ("Smeasure", "meanEm", "wFmeasure", "meanFm", "maxDice", "meanDice", "meanSen")
_EPS = np.spacing(1)  # MATLAB eps, as in VPS / pysodmetrics
_THRESHOLDS = np.linspace(1, 0, 256)  # VPS Medical thresholds for Dice / Sensitivity
_LEVELS = np.arange(256) / 255  # == uint8_array / 255 element by element (same IEEE division)



# ----------------------------------------------------------------------------- frame order
def frame_sort_key(case: str, frame: str) -> tuple[int, ...]:
    """SUN-SEG sort key: case ``case<N>[_<M>]`` -> (N, M or 0); frame ``..._<clip>-1_a<K>_..._image<I>.png``
    -> (clip = last ``_`` field before the first ``-``, K after the first ``_a``, I after ``_image``).
    Raises ``ValueError``/``IndexError`` for other names. This is REFERENCE.md §5's key; the VPS
    script's own key omits the clip field, which orders identically whenever a case's frames share
    one clip (as in SUN-SEG's test cases) and is deterministic where VPS's is not."""
    parts = case.split("_")
    key_case = (int(case.split("case")[1].split("_")[0]), int(parts[1]) if len(parts) > 1 else 0)
    clip = int(frame.split("-")[0].split("_")[-1])
    a = int(frame.split("_a")[1].split("_")[0])
    image = int(frame.split("_image")[1].split(".png")[0])
    return key_case + (clip, a, image)


def _natural_key(name: str) -> tuple:
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t)


def sort_frames(case: str, frames: Sequence[str]) -> list[str]:
    """Order one case's frame file names as VPS does.

    Integer names (``int(case)`` and ``int(frame.rstrip('.png'))``, VPS's exact parse) sort
    numerically; otherwise SUN-SEG names via :func:`frame_sort_key`; otherwise (VPS would fail)
    natural order. The file name breaks remaining ties so the order is deterministic.
    """
    frames = list(frames)
    try:
        return sorted(frames, key=lambda f: (int(case), int(f.rstrip(".png")), f))
    except ValueError:
        pass
    try:
        return sorted(frames, key=lambda f: (frame_sort_key(case, f), f))
    except (ValueError, IndexError):
        return sorted(frames, key=lambda f: (_natural_key(f), f))


# ----------------------------------------------------------------------------- one frame
@dataclass
class PreparedFrame:
    """A frame after VPS's preparation, plus the histograms all thresholded metrics share."""

    pred: np.ndarray  # float64 H×W: pred/255, min-max normalised unless constant (== VPS values)
    gt: np.ndarray  # bool H×W: gt > 128
    levels: np.ndarray  # float64[256]: normalised value of each uint8 level (valid where present)
    hist_fg: np.ndarray  # int64[256]: uint8-level counts inside the GT
    hist_all: np.ndarray  # int64[256]: uint8-level counts over the frame


def prepare_frame(pred: np.ndarray, gt: np.ndarray) -> PreparedFrame:
    """VPS's per-frame preparation of 8-bit grayscale ``pred`` and ``gt`` (any sizes)."""
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.dtype != np.uint8 or gt.dtype != np.uint8 or pred.ndim != 2 or gt.ndim != 2:
        raise ValueError(
            "prepare_frame expects 2-D uint8 maps as cv2.imread(..., IMREAD_GRAYSCALE) returns, got "
            f"pred {pred.dtype}{pred.shape} and gt {gt.dtype}{gt.shape}"
        )
    if pred.shape != gt.shape:
        pred = cv2.resize(pred, (gt.shape[1], gt.shape[0]))  # VPS: default INTER_LINEAR
    g = gt > 128
    hist_all = np.bincount(pred.ravel(), minlength=256).astype(np.int64)
    hist_fg = np.bincount(pred[g], minlength=256).astype(np.int64)
    present = np.flatnonzero(hist_all)
    lo, hi = _LEVELS[present[0]], _LEVELS[present[-1]]  # == (pred/255).min(), .max()
    levels = (_LEVELS - lo) / (hi - lo) if hi != lo else _LEVELS.copy()
    # Gathering the per-level value reproduces VPS's elementwise normalisation bit for bit.
    return PreparedFrame(levels[pred], g, levels, hist_fg, hist_all)


def _em_fm_curves(fr: PreparedFrame) -> tuple[np.ndarray, np.ndarray]:
    """E-measure and F-measure (β²=0.3) curves, VPS/pysodmetrics cumsum-histogram formulas."""
    present = fr.hist_all > 0
    bins = np.zeros(256, dtype=np.int64)
    bins[present] = (fr.levels[present] * 255).astype(np.uint8)  # VPS: (pred * 255).astype(uint8)
    fg_hist = np.bincount(bins, weights=fr.hist_fg, minlength=256).astype(np.int64)
    bg_hist = np.bincount(bins, weights=fr.hist_all - fr.hist_fg, minlength=256).astype(np.int64)
    fg_w_thrs = np.cumsum(np.flip(fg_hist), axis=0)
    bg_w_thrs = np.cumsum(np.flip(bg_hist), axis=0)
    gt_fg = int(fr.hist_fg.sum())
    gt_size = fr.gt.shape[0] * fr.gt.shape[1]

    # F-measure (Fmeasure.cal_pr)
    beta = 0.3
    ps = fg_w_thrs + bg_w_thrs
    ps[ps == 0] = 1
    precisions = fg_w_thrs / ps
    recalls = fg_w_thrs / max(gt_fg, 1)
    numerator = (1 + beta) * precisions * recalls
    denominator = np.where(numerator == 0, 1, beta * precisions + recalls)
    fm = numerator / denominator

    # E-measure (Emeasure.cal_em_with_cumsumhistogram)
    fg___ = fg_w_thrs + bg_w_thrs
    bg___ = gt_size - fg___
    if gt_fg == 0:
        enhanced = bg___
    elif gt_fg == gt_size:
        enhanced = fg___
    else:
        bg_fg = gt_fg - fg_w_thrs
        parts = [fg_w_thrs, bg_w_thrs, bg_fg, bg___ - bg_fg]
        mean_pred = fg___ / gt_size
        mean_gt = gt_fg / gt_size
        dp_fg, dp_bg, dg_fg, dg_bg = 1 - mean_pred, 0 - mean_pred, 1 - mean_gt, 0 - mean_gt
        combos = [(dp_fg, dg_fg), (dp_fg, dg_bg), (dp_bg, dg_fg), (dp_bg, dg_bg)]
        res = np.empty((4, 256), dtype=np.float64)
        for i, (n, (cp, cg)) in enumerate(zip(parts, combos)):
            align = 2 * (cp * cg) / (cp**2 + cg**2 + _EPS)
            res[i] = (align + 1) ** 2 / 4 * n
        enhanced = res.sum(axis=0)
    em = enhanced / (gt_size - 1 + _EPS)
    return em, fm


def _dice_sen_curves(fr: PreparedFrame) -> tuple[np.ndarray, np.ndarray]:
    """Dice and Sensitivity at each t in linspace(1, 0, 256) with P = pred >= t (VPS Medical)."""
    present = np.flatnonzero(fr.hist_all)
    ge = fr.levels[present][None, :] >= _THRESHOLDS[:, None]  # exact: same float comparisons
    num_and = ge.astype(np.int64) @ fr.hist_fg[present]
    num_rec = ge.astype(np.int64) @ fr.hist_all[present]
    num_obj = int(fr.hist_fg.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        dice = np.where(num_and == 0, 0.0, 2 * num_and / (num_obj + num_rec))
        sen = np.where(num_and == 0, 0.0, num_and / num_obj)
    return dice, sen


@dataclass
class FrameMetrics:
    """One frame's scores: two scalars and four 256-threshold curves."""

    smeasure: float
    wfmeasure: float
    em_curve: np.ndarray
    fm_curve: np.ndarray
    dice_curve: np.ndarray
    sen_curve: np.ndarray


def frame_metrics(pred: np.ndarray | PreparedFrame, gt: np.ndarray | None = None) -> FrameMetrics:
    """All six SUN-SEG metrics of one frame (uint8 ``pred``/``gt`` or a :class:`PreparedFrame`)."""
    fr = pred if isinstance(pred, PreparedFrame) else prepare_frame(pred, gt)
    em, fm = _em_fm_curves(fr)
    dice, sen = _dice_sen_curves(fr)
    return FrameMetrics(smeasure(fr.pred, fr.gt), weighted_fmeasure(fr.pred, fr.gt), em, fm, dice, sen)


# ----------------------------------------------------------------------------- one case
@dataclass
class CaseResult:
    """Per-case (clip) scores: frame means of each metric, as VPS keeps them before averaging."""

    name: str
    frames: list[str]
    smeasure: float
    wfmeasure: float
    em_curve: np.ndarray
    fm_curve: np.ndarray
    dice_curve: np.ndarray
    sen_curve: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def summary(self) -> dict[str, float]:
        """This case's seven scores (same definitions as the data-set scores)."""
        return {"Smeasure": self.smeasure, "meanEm": float(self.em_curve.mean()),
                "wFmeasure": self.wfmeasure, "meanFm": float(self.fm_curve.mean()),
                "maxDice": float(self.dice_curve.max()), "meanDice": float(self.dice_curve.mean()),
                "meanSen": float(self.sen_curve.mean())}


def evaluate_case_arrays(name: str, frames: Sequence[tuple[str, np.ndarray, np.ndarray]],
                         drop_ends: bool = True) -> CaseResult:
    """Score one case from ordered ``(frame_name, pred_uint8, gt_uint8)`` triples."""
    frames = list(frames)[1:-1] if drop_ends else list(frames)
    if not frames:
        raise ValueError(f"Case {name!r} has no frames left to score (VPS drops the first and last)")
    fms = [frame_metrics(p, g) for _, p, g in frames]
    return _case_from_frames(name, [f for f, _, _ in frames], fms)


def _case_from_frames(name: str, names: list[str], fms: list[FrameMetrics]) -> CaseResult:
    def mean(attr: str) -> np.ndarray:
        return np.mean(np.array([getattr(f, attr) for f in fms], dtype=np.float64), axis=0)

    return CaseResult(name, names, float(mean("smeasure")), float(mean("wfmeasure")),
                      mean("em_curve"), mean("fm_curve"), mean("dice_curve"), mean("sen_curve"))


def _read_gray(path: Path, what: str) -> np.ndarray:
    arr = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise ValueError(f"Could not read the {what} image {path}")
    return arr


def list_case_frames(gt_case_dir: str | os.PathLike) -> list[str]:
    """The case's GT frame names (``*.png``, like VPS's glob) in VPS order, ends not yet dropped."""
    d = Path(gt_case_dir)
    names = [f.name for f in d.iterdir() if f.name.endswith(".png") and not f.name.startswith(".")]
    return sort_frames(d.name, names)


def evaluate_case(gt_case_dir: str | os.PathLike, pred_case_dir: str | os.PathLike,
                  missing: str = "error") -> CaseResult:
    """Score one case folder pair. ``missing``: ``"error"`` (VPS behaviour) or ``"zeros"``
    (a missing prediction counts as an all-zero map at the GT size)."""
    if missing not in ("error", "zeros"):
        raise ValueError(f"missing must be 'error' or 'zeros', got {missing!r}")
    gt_dir, pred_dir = Path(gt_case_dir), Path(pred_case_dir)
    names = list_case_frames(gt_dir)[1:-1]
    if not names:
        raise ValueError(f"Case {gt_dir} has fewer than 3 GT frames; nothing left after dropping the ends")
    fms = []
    for n in names:
        gt = _read_gray(gt_dir / n, "ground-truth")
        pp = pred_dir / n
        if pp.is_file():
            pred = _read_gray(pp, "prediction")
        elif missing == "zeros":
            pred = np.zeros_like(gt)
        else:
            raise FileNotFoundError(f"Missing prediction {pp} for ground-truth frame {gt_dir / n}")
        fms.append(frame_metrics(pred, gt))
    return _case_from_frames(gt_dir.name, names, fms)


# ----------------------------------------------------------------------------- data sets
def _vps_mean_of_scalars(values: np.ndarray) -> float:
    # VPS tiles scalar scores to 256 columns, averages cases, then thresholds; kept for bit equality.
    return float(np.mean(np.repeat(np.asarray(values, np.float64)[:, None], 256, axis=1), axis=0).mean())


def aggregate_cases(cases: Sequence[CaseResult]) -> dict[str, float]:
    """Data-set scores from case results: mean over cases per threshold, then mean/max."""
    if not cases:
        raise ValueError("No cases to aggregate")

    def curve(attr: str) -> np.ndarray:
        return np.mean(np.array([getattr(c, attr) for c in cases], dtype=np.float64), axis=0)

    dice = curve("dice_curve")
    return {"Smeasure": _vps_mean_of_scalars(np.array([c.smeasure for c in cases])),
            "meanEm": float(curve("em_curve").mean()),
            "wFmeasure": _vps_mean_of_scalars(np.array([c.wfmeasure for c in cases])),
            "meanFm": float(curve("fm_curve").mean()),
            "maxDice": float(dice.max()), "meanDice": float(dice.mean()),
            "meanSen": float(curve("sen_curve").mean())}


@dataclass
class DatasetResult:
    """A data set's scores, bootstrap CIs over cases, and the per-case results behind them."""

    name: str
    cases: list[CaseResult]
    scores: dict[str, float]
    ci: dict[str, list[float]]
    skipped_cases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out: dict = dict(self.scores)
        out.update(n_cases=len(self.cases), n_frames=sum(c.n_frames for c in self.cases),
                   ci=self.ci, skipped_cases=self.skipped_cases,
                   per_case={c.name: dict(c.summary(), n_frames=c.n_frames) for c in self.cases})
        return out


def case_bootstrap_cis(cases: Sequence[CaseResult], n_resamples: int = 2000, seed: int = 0,
                       alpha: float = 0.05) -> dict[str, list[float]]:
    """95% (default) percentile-bootstrap intervals of every data-set score, resampling cases."""
    kw = dict(n_resamples=n_resamples, seed=seed, alpha=alpha)
    arr = lambda a: np.array([getattr(c, a) for c in cases], dtype=np.float64)  # noqa: E731
    return {"Smeasure": list(bootstrap_ci(arr("smeasure"), **kw)),
            "meanEm": list(bootstrap_curve_ci(arr("em_curve"), "mean", **kw)),
            "wFmeasure": list(bootstrap_ci(arr("wfmeasure"), **kw)),
            "meanFm": list(bootstrap_curve_ci(arr("fm_curve"), "mean", **kw)),
            "maxDice": list(bootstrap_curve_ci(arr("dice_curve"), "max", **kw)),
            "meanDice": list(bootstrap_curve_ci(arr("dice_curve"), "mean", **kw)),
            "meanSen": list(bootstrap_curve_ci(arr("sen_curve"), "mean", **kw))}


def _case_job(args: tuple[str, str, str]) -> CaseResult:
    return evaluate_case(*args)


def evaluate_dataset(gt_dataset_dir: str | os.PathLike, pred_dataset_dir: str | os.PathLike,
                     name: str | None = None, missing: str = "error", workers: int = 1,
                     progress: bool = True, n_resamples: int = 2000, seed: int = 0) -> DatasetResult:
    """Score ``pred_dataset_dir/<case>/<frame>.png`` against ``gt_dataset_dir/GT/<case>/<frame>.png``."""
    gt_root = Path(gt_dataset_dir) / "GT"
    if not gt_root.is_dir():
        raise FileNotFoundError(f"No GT/ folder in {gt_dataset_dir}")
    pred_root = Path(pred_dataset_dir)
    if not pred_root.is_dir():
        raise FileNotFoundError(f"Prediction folder not found: {pred_root}")
    name = name or Path(gt_dataset_dir).name
    jobs, skipped = [], []
    for d in sorted((p for p in gt_root.iterdir() if p.is_dir()), key=lambda p: p.name):
        n = sum(1 for f in d.iterdir() if f.name.endswith(".png") and not f.name.startswith("."))
        if n < 3:  # VPS would average an empty list (NaN); we report the case instead
            skipped.append(d.name)
        else:
            jobs.append((str(d), str(pred_root / d.name), missing))
    if not jobs:
        raise ValueError(f"No case with at least 3 GT frames under {gt_root}")
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc=name, unit="case", disable=not progress)
    try:
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as ex:
                cases = []
                for c in ex.map(_case_job, jobs):
                    cases.append(c)
                    bar.update(1)
        else:
            cases = []
            for j in jobs:
                cases.append(_case_job(j))
                bar.update(1)
    finally:
        bar.close()
    return DatasetResult(name, cases, aggregate_cases(cases),
                         case_bootstrap_cis(cases, n_resamples=n_resamples, seed=seed), skipped)


def find_video_datasets(gt_root: str | os.PathLike) -> list[str]:
    """Data sets under ``gt_root``: every folder with a ``GT/`` child, named by its relative path
    with ``/`` (e.g. ``TestEasyDataset/Unseen``); ``"."`` when ``gt_root`` itself has ``GT/``."""
    root = Path(gt_root)
    if not root.is_dir():
        raise FileNotFoundError(f"Ground-truth root not found: {root}")
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        if "GT" in dirnames and (Path(dirpath) / "GT").is_dir():
            found.append(Path(dirpath).relative_to(root).as_posix())
        dirnames[:] = sorted(d for d in dirnames if d not in ("GT", "Frame") and not d.startswith("."))
    return sorted(found)


def evaluate_video_roots(pred_root: str | os.PathLike, gt_root: str | os.PathLike,
                         datasets: Sequence[str] | None = None, missing: str = "error",
                         workers: int = 1, progress: bool = True, n_resamples: int = 2000,
                         seed: int = 0) -> dict[str, DatasetResult]:
    """Score every data set found under ``gt_root`` (or the named ones) against ``pred_root/<name>``."""
    names = list(datasets) if datasets else find_video_datasets(gt_root)
    if not names:
        raise ValueError(f"No data set (a folder with a GT/ child) under {gt_root}")
    return {n: evaluate_dataset(Path(gt_root) / n, Path(pred_root) / n, name=n, missing=missing,
                                workers=workers, progress=progress, n_resamples=n_resamples, seed=seed)
            for n in names}
