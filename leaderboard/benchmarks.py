"""Benchmark and metric names shared by the store, the seeds and the display.

Keys are stable identifiers stored in the database and match ``autosam.data`` benchmark names
and ``autosam.metrics`` metric names (image: dice/iou; video: ``metrics.video.METRIC_NAMES``),
so the harness can store its output without renaming. Display names are what tables show.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchmarkInfo:
    key: str
    display: str
    split: str
    kind: str  # "image" (Dice/IoU, Tables 1-2) or "video" (SUN-SEG metrics, Table 3)
    metrics: tuple[str, ...]


IMAGE_METRICS: tuple[str, ...] = ("dice", "iou")
# Table 3 columns per the VPS protocol: S_alpha, mean E_phi, weighted F (beta^2=1), mean F
# (beta^2=0.3), max Dice, mean Sensitivity.
VIDEO_METRICS: tuple[str, ...] = ("Smeasure", "meanEm", "wFmeasure", "meanFm", "maxDice", "meanSen")

METRIC_DISPLAY: dict[str, str] = {
    "dice": "Dice",
    "iou": "IoU",
    "Smeasure": "S_alpha",
    "meanEm": "E_phi_mean",
    "wFmeasure": "F_beta_w",
    "meanFm": "F_beta_mean",
    "maxDice": "Dice",
    "meanSen": "Sen",
}

_LIST = [
    BenchmarkInfo("monuseg", "MoNuSeg", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("glas", "GlaS", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("kvasir", "Kvasir", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("clinicdb", "ClinicDB", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("colondb", "ColonDB", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("etis", "ETIS", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("sun_seg_easy", "SUN-SEG Easy", "test", "video", VIDEO_METRICS),
    BenchmarkInfo("sun_seg_hard", "SUN-SEG Hard", "test", "video", VIDEO_METRICS),
]
BENCHMARKS: dict[str, BenchmarkInfo] = {b.key: b for b in _LIST}

TABLE1_BENCHMARKS: tuple[str, ...] = ("monuseg", "glas")
TABLE2_BENCHMARKS: tuple[str, ...] = ("kvasir", "clinicdb", "colondb", "etis")
TABLE3_BENCHMARKS: tuple[str, ...] = ("sun_seg_easy", "sun_seg_hard")


def benchmark_display(key: str) -> str:
    info = BENCHMARKS.get(key)
    return info.display if info else key


def metric_display(key: str) -> str:
    return METRIC_DISPLAY.get(key, key)
