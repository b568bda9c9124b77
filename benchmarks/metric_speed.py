"""Seconds per frame for the six SUN-SEG metrics: autosam.metrics vs the straightforward VPS way.

The reference is what GewelsJI/VPS does per frame: pysodmetrics' Smeasure, Emeasure,
WeightedFmeasure and Fmeasure ``step`` (each re-preparing the frame), plus VPS's ``Medical``
256-threshold Python loop for Dice/Sensitivity (it also computes specificity and IoU there).

    python benchmarks/metric_speed.py [--size 1000] [--repeats 5]

Prints a markdown table (median of ``repeats`` runs) and the largest difference between the two.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import py_sod_metrics as psm  # noqa: E402
from py_sod_metrics.utils import prepare_data  # noqa: E402

from autosam.metrics.sod import smeasure, weighted_fmeasure  # noqa: E402
from autosam.metrics.video import _dice_sen_curves, _em_fm_curves, frame_metrics, prepare_frame  # noqa: E402

warnings.filterwarnings("ignore", message="This class will be removed")


def make_frame(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = np.zeros((size, size), np.uint8)
    cv2.ellipse(gt, (size // 2, size // 2 - size // 10), (size // 5, size // 7), 30, 0, 360, 255, -1)
    soft = cv2.GaussianBlur(gt.astype(np.float32), (0, 0), size / 60) + rng.normal(0, 25, gt.shape)
    return np.clip(np.roll(soft, size // 50, axis=1), 0, 255).astype(np.uint8), gt


def vps_medical_loop(pred_u8: np.ndarray, gt_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GewelsJI/VPS ``metrics.Medical.step`` for one frame (Fmeasure_calu at 256 thresholds)."""
    pred, gt = prepare_data(pred_u8, gt_u8)
    dice, sen = np.zeros(256), np.zeros(256)
    for j, threshold in enumerate(np.linspace(1, 0, 256)):
        label = np.zeros_like(gt)
        label[pred >= threshold] = 1
        num_rec, num_no_rec = np.sum(label == 1), np.sum(label == 0)
        num_and = np.sum((label == 1) & (gt == 1))
        num_obj, num_pred = np.sum(gt), np.sum(label)
        fn, fp = num_obj - num_and, num_rec - num_and
        tn = num_no_rec - fn
        if num_and != 0:
            _iou, _spe = num_and / (fn + num_rec), tn / (tn + fp)
            dice[j] = 2 * num_and / (num_obj + num_pred)
            sen[j] = num_and / num_obj
    return dice, sen


def reference_frame(pred: np.ndarray, gt: np.ndarray) -> dict:
    sm, em, wfm, fm = psm.Smeasure(), psm.Emeasure(), psm.WeightedFmeasure(), psm.Fmeasure()
    for m in (sm, em, wfm, fm):
        m.step(pred, gt)
    dice, sen = vps_medical_loop(pred, gt)
    return {"S": sm.get_results()["sm"], "E": em.get_results()["em"]["curve"],
            "wF": wfm.get_results()["wfm"], "F": fm.get_results()["fm"]["curve"], "Dice": dice, "Sen": sen}


def timed(fn, repeats: int) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    pred, gt = make_frame(args.size)
    fr = prepare_frame(pred, gt)
    p, g = prepare_data(pred, gt)

    def sod_step(cls):
        return lambda: cls().step(pred, gt)

    rows = [
        ("all six metrics (one frame)", lambda: frame_metrics(pred, gt), lambda: reference_frame(pred, gt)),
        ("  preparation (resize/normalise/histograms)", lambda: prepare_frame(pred, gt), lambda: prepare_data(pred, gt)),
        ("  S-measure", lambda: smeasure(fr.pred, fr.gt), sod_step(psm.Smeasure)),
        ("  E- and F-measure curves", lambda: _em_fm_curves(fr),
         lambda: (psm.Emeasure().step(pred, gt), psm.Fmeasure().step(pred, gt))),
        ("  weighted F-measure", lambda: weighted_fmeasure(fr.pred, fr.gt), sod_step(psm.WeightedFmeasure)),
        ("  Dice + Sensitivity curves", lambda: _dice_sen_curves(fr), lambda: vps_medical_loop(pred, gt)),
    ]
    print(f"Frame {args.size}x{args.size}, median of {args.repeats} runs, numpy {np.__version__}, "
          f"OpenCV {cv2.__version__}, pysodmetrics reference\n")
    print("| step | autosam.metrics (s) | reference (s) | speed-up |")
    print("|---|---:|---:|---:|")
    for name, ours, ref in rows:
        a, b = timed(ours, args.repeats), timed(ref, args.repeats)
        print(f"| {name} | {a:.4f} | {b:.4f} | {b / a:.1f}x |")

    m, r = frame_metrics(pred, gt), reference_frame(pred, gt)
    diff = max(abs(m.smeasure - r["S"]), abs(m.wfmeasure - r["wF"]),
               *(float(np.abs(x - y).max()) for x, y in ((m.em_curve, r["E"]), (m.fm_curve, r["F"]),
                                                         (m.dice_curve, r["Dice"]), (m.sen_curve, r["Sen"]))))
    print(f"\nLargest absolute difference between the two, over all metrics and thresholds: {diff:.3g}")


if __name__ == "__main__":
    main()
