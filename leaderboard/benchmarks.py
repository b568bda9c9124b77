"""Benchmark and metric names shared by the store, the seeds and the display.

Keys are stable identifiers stored in the database; display names are what tables show.
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
# Table 3 columns per the VPS protocol: S_alpha, mean E_phi, weighted F, mean F, max Dice, mean Sen.
VIDEO_METRICS: tuple[str, ...] = ("s_alpha", "e_phi_mean", "f_beta_w", "f_beta_mean", "dice_max", "sen_mean")

METRIC_DISPLAY: dict[str, str] = {
    "dice": "Dice",
    "iou": "IoU",
    "s_alpha": "S_alpha",
    "e_phi_mean": "E_phi_mean",
    "f_beta_w": "F_beta_w",
    "f_beta_mean": "F_beta_mean",
    "dice_max": "Dice",
    "sen_mean": "Sen",
}

_LIST = [
    BenchmarkInfo("monuseg", "MoNuSeg", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("glas", "GlaS", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("kvasir", "Kvasir", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("clinicdb", "ClinicDB", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("colondb", "ColonDB", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("etis", "ETIS", "test", "image", IMAGE_METRICS),
    BenchmarkInfo("sunseg_easy", "SUN-SEG Easy", "easy_unseen", "video", VIDEO_METRICS),
    BenchmarkInfo("sunseg_hard", "SUN-SEG Hard", "hard_unseen", "video", VIDEO_METRICS),
]
BENCHMARKS: dict[str, BenchmarkInfo] = {b.key: b for b in _LIST}

TABLE1_BENCHMARKS: tuple[str, ...] = ("monuseg", "glas")
TABLE2_BENCHMARKS: tuple[str, ...] = ("kvasir", "clinicdb", "colondb", "etis")
TABLE3_BENCHMARKS: tuple[str, ...] = ("sunseg_easy", "sunseg_hard")


def benchmark_display(key: str) -> str:
    info = BENCHMARKS.get(key)
    return info.display if info else key


def metric_display(key: str) -> str:
    return METRIC_DISPLAY.get(key, key)
