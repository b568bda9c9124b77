"""``python -m leaderboard.evaluate``: score a checkpoint (or the SAM prompt baselines) on benchmarks.

    python -m leaderboard.evaluate --checkpoint model.safetensors --benchmarks kvasir glas \\
        [--methods autosam h sam_point sam_box sam_mask autosam_mask] [--backend lite_medsam] \\
        [--batch-size 8] [--device cpu|cuda] [--save-predictions DIR] [--db PATH] [--json OUT] \\
        [--display-name NAME]
    python -m leaderboard.evaluate --builtin --backend sam_vit_b --benchmarks glas monuseg
    torchrun --nproc_per_node 4 -m leaderboard.evaluate ...   # same numbers, sharded

Writes one verified result record per benchmark x method x metric (with protocol facts, CIs and
per-image scores) into the store when ``--db`` is given, and a JSON summary with ``--json``.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any, Sequence

from .harness import BUILTIN_METHODS, METHOD_MODES, BenchmarkOutcome, Harness, HarnessConfig, MethodResult
from .harness_dist import DistContext, init_distributed

log = logging.getLogger("leaderboard.evaluate")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leaderboard.evaluate",
                                description="Score a checkpoint or the built-in SAM prompt baselines on benchmarks.")
    p.add_argument("--checkpoint", help="NAME.safetensors (with NAME.json beside it)")
    p.add_argument("--builtin", action="store_true",
                   help=f"score the SAM prompt baselines ({', '.join(BUILTIN_METHODS)}) without a checkpoint")
    p.add_argument("--benchmarks", nargs="+", required=True, help="registry names (autosam.data)")
    p.add_argument("--methods", nargs="+", choices=list(METHOD_MODES), default=None,
                   help="default: autosam (+ h when the checkpoint has it); with --builtin the SAM baselines")
    p.add_argument("--backend", default=None, help="default: the checkpoint's back-end, else lite_medsam")
    p.add_argument("--backend-checkpoint", default=None, help="back-end weights file (default: cache/bundled)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="cpu", help="cpu or cuda (bf16 autocast + SDPA on CUDA)")
    p.add_argument("--split", default=None, help="benchmark split (default: the leaderboard's, usually test)")
    p.add_argument("--limit", type=int, default=None, help="score only the first N samples (smoke runs)")
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--save-predictions", metavar="DIR", default=None,
                   help="write probability PNGs to DIR/<benchmark>/<mode>/<id>.png")
    p.add_argument("--db", default=None, help="write verified results into this SQLite store")
    p.add_argument("--json", dest="json_out", default=None, help="write the JSON summary here")
    p.add_argument("--display-name", default=None, help="method name shown in tables")
    p.add_argument("--no-progress", action="store_true")
    return p


def config_from_args(args: argparse.Namespace) -> HarnessConfig:
    if not args.checkpoint and not args.builtin:
        raise ValueError("Give --checkpoint PATH, or --builtin to score only the SAM prompt baselines.")
    backend = args.backend
    has_h = False
    if args.checkpoint:
        from autosam.checkpoint import read_config

        mcfg = read_config(args.checkpoint)
        backend = backend or mcfg.backend
        has_h = mcfg.has_h
    methods = args.methods
    if methods is None:
        methods = list(BUILTIN_METHODS) if args.builtin else ["autosam"] + (["h"] if has_h else [])
    return HarnessConfig(backend=backend or "lite_medsam", backend_checkpoint=args.backend_checkpoint,
                         checkpoint=args.checkpoint, methods=tuple(dict.fromkeys(methods)), device=args.device,
                         batch_size=args.batch_size, threshold=args.threshold, save_predictions=args.save_predictions,
                         split=args.split, limit=args.limit, seed=args.seed, display_name=args.display_name,
                         progress=not args.no_progress)


def _clean(x: Any) -> Any:
    """JSON without NaN (not valid JSON): NaN -> null."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def summary_dict(cfg: HarnessConfig, outcomes: list[BenchmarkOutcome]) -> dict[str, Any]:
    out: dict[str, Any] = {"config": {k: v for k, v in vars(cfg).items()}, "benchmarks": {}}
    for o in outcomes:
        if o.skipped:
            out["benchmarks"][o.name] = {"status": "skipped", "reason": o.reason}
            continue
        out["benchmarks"][o.name] = {"status": "ok", "methods": {r.method: r.to_dict() for r in o.results}}
    return _clean(out)


def markdown_table(outcomes: list[BenchmarkOutcome]) -> str:
    lines = ["| benchmark | method | n | metrics (95% CI) | samples/s |", "|---|---|---|---|---|"]
    for o in outcomes:
        if o.skipped:
            lines.append(f"| {o.name} | - | - | skipped: {o.reason.splitlines()[0][:80]} | - |")
            continue
        for r in o.results:
            ms = ", ".join(f"{k} {v:.4f}" + (f" [{r.ci[k][0]:.3f}, {r.ci[k][1]:.3f}]" if k in r.ci else "")
                           for k, v in r.metrics.items())
            lines.append(f"| {o.name} | {r.method} | {r.n} | {ms} | {r.timing.get('samples_per_s', 0):.2f} |")
    return "\n".join(lines)


def write_groups(results: Sequence[MethodResult]) -> list[tuple[Any, list[Any]]]:
    """(result record, its per-image scores) pairs, as ``ResultsStore.write_verified`` takes them."""
    groups = []
    for r in results:
        per = r.per_image_scores()
        for rec in r.records():
            groups.append((rec, [p for p in per if p.metric == rec.metric]))
    return groups


def write_store(db: str, outcomes: list[BenchmarkOutcome]) -> int:
    from .store import ResultsStore

    return ResultsStore(db).write_verified(write_groups([r for o in outcomes for r in o.results]))


def run(cfg: HarnessConfig, benchmarks: Sequence[str], dist: DistContext | None = None) -> list[BenchmarkOutcome]:
    harness = Harness(cfg, dist)
    outcomes = []
    for name in benchmarks:
        o = harness.run_benchmark_safe(name)
        if o.skipped:
            log.warning("benchmark %s skipped: %s", name, o.reason)
        outcomes.append(o)
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = config_from_args(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dist, cfg.device = init_distributed(cfg.device)
    try:
        try:
            outcomes = run(cfg, args.benchmarks, dist)
        except (ValueError, RuntimeError, FileNotFoundError) as exc:  # messages written for people
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        if not dist.is_main:
            return 0
        summary = summary_dict(cfg, outcomes)
        print(markdown_table(outcomes), flush=True)
        if args.json_out:
            Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json_out).write_text(json.dumps(summary, indent=2, sort_keys=True))
        if args.db:
            n = write_store(args.db, outcomes)
            print(f"wrote {n} verified results to {args.db}", flush=True)
        if not any(o.results for o in outcomes):
            print("error: no benchmark could be scored (see the skipped reasons above)", file=sys.stderr)
            return 1
        return 0
    finally:
        dist.close()


if __name__ == "__main__":
    sys.exit(main())
