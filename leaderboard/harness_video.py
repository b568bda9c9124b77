"""Video benchmarks: ground truth in the VPS layout and the SUN-SEG metrics on saved PNGs.

Predictions are written by :func:`autosam.evaluation.evaluate` as ``<pred_root>/<case>/<frame>.png``
(sample ids of video data are ``<case>/<frame>``), which is the layout VPS's evaluator reads.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from autosam.data import VideoFolderDataset
from autosam.data.base import SegmentationDataset
from autosam.metrics import DatasetResult, evaluate_dataset


def _original_gt_usable(ds: SegmentationDataset) -> bool:
    """A whole SUN-SEG folder whose ``GT/<case>/<frame>.png`` files pair one-to-one with the frames:
    then VPS reads the original GT files (bit-exact protocol), not a re-encoded copy."""
    if type(ds) is not VideoFolderDataset or ds.mask_dir is None or ds.mask_dir != ds.root / "GT":
        return False
    per_case: dict[str, int] = {}
    for i in range(len(ds)):
        m = ds.mask_path(i)
        sid = ds.sample_id(i)
        if m is None or m.name != Path(sid).name + ".png" or m.parent.name != sid.split("/", 1)[0]:
            return False
        per_case[m.parent.name] = per_case.get(m.parent.name, 0) + 1
    for case, n in per_case.items():
        pngs = [f for f in (ds.mask_dir / case).iterdir() if f.name.endswith(".png") and not f.name.startswith(".")]
        if len(pngs) != n:
            return False
    return True


def prepare_gt(ds: SegmentationDataset, dest: Path) -> Path:
    """A folder with ``GT/<case>/<frame>.png`` for exactly the samples of ``ds``."""
    if _original_gt_usable(ds):
        return ds.root  # type: ignore[attr-defined]
    for i in range(len(ds)):
        s = ds.load(i)
        case, frame = s.get("case"), s.get("frame")
        if case is None or frame is None or s["mask"] is None:
            raise ValueError(f"Video sample {s['id']!r} has no case/frame/mask; a video benchmark needs "
                             "SUN-SEG layout (Frame/<case>/ + GT/<case>/) or case/frame columns.")
        if s["id"] != f"{case}/{frame}":
            raise ValueError(f"Video sample id {s['id']!r} is not '<case>/<frame>' ({case}/{frame}); the "
                             "saved predictions would not be in the VPS layout.")
        out = dest / "GT" / str(case) / f"{frame}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out), s["mask"].astype(np.uint8) * 255)
    return dest


def score_vps(gt_root: Path, pred_root: Path, name: str, seed: int) -> DatasetResult:
    """The six SUN-SEG metrics (plus meanDice) with CIs over cases. A frame that could not be
    predicted (unreadable image, listed in the result's skipped samples) scores as an empty map."""
    return evaluate_dataset(gt_root, pred_root, name=name, missing="zeros", progress=False, seed=seed)
