"""``autosam metrics {video,image,compare}``: score prediction folders and compare result sets."""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path


def _write_json(obj: dict, path: str | None) -> None:
    # Python floats serialise with repr: full double precision. NaN would not be valid JSON.
    text = json.dumps(obj, indent=2, allow_nan=False)
    if path and path != "-":
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(text + "\n")
        os.replace(tmp, p)
    else:
        print(text)


def _fmt(v: float) -> str:
    return "nan" if isinstance(v, float) and math.isnan(v) else f"{v:.4f}"


def _run_video(args: argparse.Namespace) -> int:
    from ..metrics import METRIC_NAMES, evaluate_video_roots

    results = evaluate_video_roots(
        args.pred_root, args.gt_root, datasets=args.dataset or None,
        missing="zeros" if args.missing_as_zeros else "error", workers=max(1, args.workers),
        progress=not args.quiet, n_resamples=args.n_resamples, seed=args.seed,
    )
    out = {name: r.to_dict() for name, r in results.items()}
    _write_json(out, args.json)
    if not args.quiet:
        print("| dataset | " + " | ".join(METRIC_NAMES) + " |", file=sys.stderr)
        for name, r in results.items():
            print(f"| {name} | " + " | ".join(_fmt(r.scores[m]) for m in METRIC_NAMES) + " |",
                  file=sys.stderr)
            if r.skipped_cases:
                print(f"  skipped (fewer than 3 frames): {', '.join(r.skipped_cases)}", file=sys.stderr)
    return 0


def _run_image(args: argparse.Namespace) -> int:
    from ..metrics import score_image_dirs

    out = score_image_dirs(
        args.pred, args.gt, threshold=args.threshold,
        missing="zeros" if args.missing_as_zeros else "error",
        n_resamples=args.n_resamples, seed=args.seed,
    )
    _write_json(out, args.json)
    if not args.quiet:
        print(f"n={out['n']}  Dice {_fmt(out['dice'])} [{_fmt(out['dice_ci'][0])}, {_fmt(out['dice_ci'][1])}]"
              f"  IoU {_fmt(out['iou'])} [{_fmt(out['iou_ci'][0])}, {_fmt(out['iou_ci'][1])}]",
              file=sys.stderr)
    return 0


def _per_item_scores(path: str, metric: str, dataset: str | None) -> dict[str, float]:
    """Per-image (image JSON) or per-case (video JSON) scores of one metric from a results file."""
    data = json.loads(Path(path).read_text())
    if "per_image" in data:
        table = data["per_image"]
    else:
        names = [k for k, v in data.items() if isinstance(v, dict) and "per_case" in v]
        if dataset is None and len(names) == 1:
            dataset = names[0]
        if dataset not in names:
            raise ValueError(f"{path}: choose a data set with --dataset (one of {names})")
        table = data[dataset]["per_case"]
    try:
        return {k: float(v[metric]) for k, v in table.items()}
    except KeyError:
        some = next(iter(table.values()), {})
        raise ValueError(f"{path}: no per-item metric {metric!r}; available: {sorted(some)}") from None


def _run_compare(args: argparse.Namespace) -> int:
    from ..metrics import paired_difference

    a = _per_item_scores(args.a, args.metric, args.dataset)
    b = _per_item_scores(args.b, args.metric, args.dataset)
    res = paired_difference(a, b, n_resamples=args.n_resamples, seed=args.seed)
    res["metric"] = args.metric
    _write_json(res, args.json)
    if not args.quiet:
        print(f"{args.metric}: a - b = {res['mean_diff']:+.4f} [{res['ci'][0]:+.4f}, {res['ci'][1]:+.4f}] "
              f"on {res['n']} shared ids (p={res['p_value']:.4f})", file=sys.stderr)
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", default=None, help="write results here (default: stdout)")
    p.add_argument("--n-resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary on stderr")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("metrics", help="score predictions (image Dice/IoU, SUN-SEG video metrics)")
    sub = parser.add_subparsers(dest="metrics_command", metavar="KIND", required=True)

    v = sub.add_parser("video", help="the six SUN-SEG metrics, exactly as GewelsJI/VPS computes them",
                       description="Predictions PRED_ROOT/<dataset>/<case>/<frame>.png; ground truth "
                                   "GT_ROOT/<dataset>/GT/<case>/<frame>.png. A data set is any folder "
                                   "under GT_ROOT with a GT/ child (names may be nested).")
    v.add_argument("--pred-root", required=True)
    v.add_argument("--gt-root", required=True)
    v.add_argument("--dataset", action="append", help="only this data set (repeatable)")
    v.add_argument("--workers", type=int, default=1, help="process pool size (cases in parallel)")
    v.add_argument("--missing-as-zeros", action="store_true",
                   help="score a missing prediction frame as all zeros (VPS errors; so do we by default)")
    _common(v)
    v.set_defaults(func=_run_video)

    i = sub.add_parser("image", help="mean Dice/IoU at prob > threshold, with bootstrap CIs",
                       description="Files are paired by stem. Predictions: 8-bit images (/255) or "
                                   ".npy probability maps; resized bilinearly to the GT size.")
    i.add_argument("--pred", required=True, help="prediction folder")
    i.add_argument("--gt", required=True, help="ground-truth mask folder")
    i.add_argument("--threshold", type=float, default=0.5, help="foreground = prob > threshold")
    i.add_argument("--missing-as-zeros", action="store_true",
                   help="score a missing prediction as empty instead of failing")
    _common(i)
    i.set_defaults(func=_run_image)

    c = sub.add_parser("compare", help="paired difference (a - b) of two result JSONs on shared ids")
    c.add_argument("--a", required=True, help="results JSON (from `metrics image` or `metrics video`)")
    c.add_argument("--b", required=True)
    c.add_argument("--metric", default="dice", help="per-item metric (image: dice|iou; video: e.g. meanDice)")
    c.add_argument("--dataset", default=None, help="data set name for video results")
    _common(c)
    c.set_defaults(func=_run_compare)
