"""Metrics: image Dice/IoU, the six SUN-SEG video metrics (VPS protocol), bootstrap CIs.

* :mod:`.image` — ``dice_iou`` (foreground = ``prob > 0.5``, pred resized bilinearly to the GT
  size, both-empty -> 1, one-empty -> 0) and ``score_images`` / ``score_image_dirs``.
* :mod:`.video` — S_α, mean E_φ, weighted F_β, mean F_β, max/mean Dice and mean Sensitivity
  exactly as GewelsJI/VPS ``eval/vps_evaluator.py`` computes them (REFERENCE.md §5).
* :mod:`.bootstrap` — seeded percentile-bootstrap intervals and paired comparisons.
"""
from .bootstrap import bootstrap_ci, bootstrap_curve_ci, paired_difference
from .sod import smeasure, weighted_fmeasure
from .image import dice_iou, load_prediction, score_image_dirs, score_images, to_probability
from .video import (
    METRIC_NAMES,
    CaseResult,
    DatasetResult,
    FrameMetrics,
    PreparedFrame,
    aggregate_cases,
    case_bootstrap_cis,
    evaluate_case,
    evaluate_case_arrays,
    evaluate_dataset,
    evaluate_video_roots,
    find_video_datasets,
    frame_metrics,
    frame_sort_key,
    list_case_frames,
    prepare_frame,
    sort_frames,
)

__all__ = [
    "bootstrap_ci", "bootstrap_curve_ci", "paired_difference", "smeasure", "weighted_fmeasure",
    "dice_iou", "to_probability", "load_prediction", "score_images", "score_image_dirs",
    "METRIC_NAMES", "PreparedFrame", "FrameMetrics", "CaseResult", "DatasetResult",
    "sort_frames", "frame_sort_key", "list_case_frames", "prepare_frame", "frame_metrics",
    "evaluate_case_arrays", "evaluate_case", "aggregate_cases", "case_bootstrap_cis",
    "evaluate_dataset", "find_video_datasets", "evaluate_video_roots",
]
