"""Evaluation harness: a checkpoint (or the built-in SAM prompt baselines) on registered benchmarks.

Per benchmark: load it from the registry (Hub, disk or local folder), score this rank's shard
with :func:`autosam.evaluation.evaluate` (batched ``predict_batch``, embedding cache), gather the
per-image rows on rank 0 and compute every summary from the gathered rows sorted by id (so a
torchrun run equals a one-process run exactly). Image benchmarks: mean Dice/IoU + bootstrap CIs
over images. Video benchmarks (SUN-SEG layout): per-frame probability PNGs are written in the VPS
layout ``<pred_root>/<case>/<frame>.png`` and scored with ``autosam.metrics.evaluate_dataset``
(CIs over cases; per-case scores kept as per-image rows keyed by case).
"""
from __future__ import annotations

import inspect
import logging
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autosam.data import BenchmarkSpec, BenchmarkUnavailableError, UnknownBenchmarkError, get_benchmark, load_benchmark
from autosam.data.base import SegmentationDataset
from autosam.evaluation import EvalRow, evaluate, summarize
from autosam.metrics import bootstrap_ci

from .benchmarks import BENCHMARKS, VIDEO_METRICS
from .harness_dist import DistContext
from .harness_env import code_version, git_commit, hardware, now_iso
from .harness_video import prepare_gt, score_vps
from .records import PerImageScore, ResultRecord

log = logging.getLogger(__name__)

# CLI method name -> Predictor mode (Table 1 rows).
METHOD_MODES: dict[str, str] = {
    "autosam": "autosam", "h": "h", "sam_point": "sam_points", "sam_box": "sam_box",
    "sam_mask": "sam_mask_prompt", "autosam_mask": "autosam_as_mask_prompt",
}
MODEL_METHODS = ("autosam", "h", "autosam_mask")  # need a trained g
BUILTIN_METHODS = ("sam_point", "sam_box", "sam_mask")  # SAM prompted from the ground truth
_BUILTIN_DISPLAY = {"sam_point": "w/ GT point prompt", "sam_box": "w/ GT box prompt",
                    "sam_mask": "w/ GT mask as prompt"}

_BOOTSTRAP = {k: inspect.signature(bootstrap_ci).parameters[k].default for k in ("n_resamples", "alpha")}


@dataclass
class HarnessConfig:
    backend: str = "lite_medsam"
    backend_checkpoint: str | None = None
    checkpoint: str | None = None  # None: only the built-in SAM baselines can run
    methods: tuple[str, ...] = ("autosam",)
    device: str = "cpu"
    batch_size: int = 8
    threshold: float = 0.5
    save_predictions: str | None = None
    split: str | None = None  # default: the leaderboard's split ("test"), else the first one
    limit: int | None = None  # score only the first N samples (smoke runs)
    seed: int = 0  # bootstrap seed (n_resamples and level are autosam.metrics' defaults)
    display_name: str | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHOD_MODES]
        if unknown:
            raise ValueError(f"Unknown method(s) {unknown}; known: {', '.join(METHOD_MODES)}.")
        if self.checkpoint is None and any(m in MODEL_METHODS for m in self.methods):
            raise ValueError(f"Methods {[m for m in self.methods if m in MODEL_METHODS]} need --checkpoint "
                             f"(use --builtin for the SAM prompt baselines {', '.join(BUILTIN_METHODS)}).")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")


@dataclass
class MethodResult:
    """One benchmark x method: summary metrics, CIs, per-image (or per-case) scores, protocol."""

    benchmark: str
    split: str
    task: str  # image | video
    method: str
    method_key: str
    method_display: str
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]
    n: int
    per_image: dict[str, dict[str, float]]  # id (image, or case for video) -> metric -> value
    protocol: dict[str, Any]
    timing: dict[str, float] = field(default_factory=dict)
    params_m: float | None = None
    gmacs: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[ResultRecord]:
        return [ResultRecord(benchmark=self.benchmark, split=self.split, metric=m, value=v,
                             ci_low=self.ci.get(m, (None, None))[0], ci_high=self.ci.get(m, (None, None))[1],
                             n=self.n, protocol=self.protocol, method=self.method_key,
                             method_display=self.method_display, source="verified",
                             params_m=self.params_m, gmacs=self.gmacs, extra=self.extra)
                for m, v in self.metrics.items()]

    def per_image_scores(self) -> list[PerImageScore]:
        variant = "" if self.method == "autosam" else self.method
        return [PerImageScore(self.benchmark, self.split, i, m, v, method=variant)
                for i in sorted(self.per_image) for m, v in self.per_image[i].items()]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = {k: list(v) for k, v in self.ci.items()}
        return d


@dataclass
class BenchmarkOutcome:
    name: str
    results: list[MethodResult] = field(default_factory=list)
    skipped: bool = False
    reason: str = ""


class Harness:
    """Builds the back-end and predictor once; scores benchmarks one by one."""

    def __init__(self, cfg: HarnessConfig, dist: DistContext | None = None):
        from autosam.backends import create_backend
        from autosam.checkpoint import load_checkpoint
        from autosam.predictor import Predictor

        self.cfg = cfg
        self.dist = dist or DistContext()
        self.backend = create_backend(cfg.backend, cfg.backend_checkpoint, device=cfg.device)
        self.model = None
        self.model_sha256 = ""
        if cfg.checkpoint:
            # Refuses a g trained through other back-end weights (its prompts would be meaningless).
            self.model = load_checkpoint(cfg.checkpoint, backend_sha256=self.backend.weights_sha256,
                                         device=cfg.device)
            self.model_sha256 = self.model.weights_sha256
        self.predictor = Predictor(self.backend, self.model, threshold=cfg.threshold,
                                   cache_size=max(16, 2 * cfg.batch_size))
        self._cost = self._g_cost()

    # -- identity ---------------------------------------------------------------------------------
    def _g_cost(self) -> tuple[float | None, float | None]:
        """Parameters (M) and GMACs of the loaded g at its input size (one forward on zeros)."""
        if self.model is None:
            return None, None
        import torch

        from autosam.models.profile import count_macs

        g, c = self.model.g, self.model.config.g
        dev = next(g.parameters()).device
        if getattr(g, "needs_image_embedding", False):
            macs = count_macs(g, None, image_embeddings=torch.zeros(1, c.embed_dim, c.embed_size, c.embed_size, device=dev))
        else:
            macs = count_macs(g, torch.zeros(1, 3, c.input_size, c.input_size, device=dev))
        return round(sum(p.numel() for p in g.parameters()) / 1e6, 4), round(macs / 1e9, 4)

    def method_key(self, method: str) -> str:
        if method in BUILTIN_METHODS:
            return f"builtin/{self.cfg.backend}/{method}"
        return f"checkpoint/{self.model_sha256[:16]}/{method}"

    def method_display(self, method: str) -> str:
        if method in BUILTIN_METHODS:
            return f"{self.cfg.backend} {_BUILTIN_DISPLAY[method]}"
        base = self.cfg.display_name or (Path(self.cfg.checkpoint).stem if self.cfg.checkpoint else "AutoSAM")
        return {"autosam": base, "h": f"{base} (h)",
                "autosam_mask": f"{base} output as SAM mask prompt"}[method]

    # -- benchmarks ---------------------------------------------------------------------------------
    def _split(self, spec: BenchmarkSpec) -> str:
        if self.cfg.split:
            return self.cfg.split
        info = BENCHMARKS.get(spec.name)
        if info is not None and info.split in spec.splits:
            return info.split
        return spec.default_split

    def run_benchmark_safe(self, name: str) -> BenchmarkOutcome:
        """Like :meth:`run_benchmark`, but unavailable data or an unknown name become 'skipped'."""
        try:
            return BenchmarkOutcome(name, self.run_benchmark(name))
        except (BenchmarkUnavailableError, UnknownBenchmarkError) as exc:
            return BenchmarkOutcome(name, skipped=True, reason=str(exc))

    def run_benchmark(self, name: str) -> list[MethodResult]:
        """Score every configured method on one benchmark; results only on rank 0 (else [])."""
        spec = get_benchmark(name)
        split = self._split(spec)
        ds: SegmentationDataset = load_benchmark(spec, split)
        if self.cfg.limit is not None:
            ds = ds.subset(range(min(self.cfg.limit, len(ds))))
        facts = self._dataset_facts(spec, split, ds) if self.dist.is_main else {}
        video = spec.task == "video"
        # Video predictions must reach disk (the VPS evaluator reads PNGs); rank 0 picks the folder.
        tmp = self.dist.broadcast(tempfile.mkdtemp(prefix="autosam-eval-") if self.dist.is_main and video else None)
        save = Path(self.cfg.save_predictions) / name if self.cfg.save_predictions else None
        if video and save is None:
            save = Path(tmp) / "pred"
        try:
            t0 = time.perf_counter()
            modes = [METHOD_MODES[m] for m in self.cfg.methods]
            shard = ds.subset(self.dist.shard(len(ds), self.cfg.batch_size))
            # One pass for all modes: every image is embedded once, whatever the number of methods.
            res = evaluate(self.predictor, shard, modes, batch_size=self.cfg.batch_size, save_dir=save,
                           progress=self.cfg.progress and self.dist.is_main, ci=False, seed=self.cfg.seed)
            gathered = self.dist.gather((res.rows, res.skipped))
            secs = max(self.dist.gather(time.perf_counter() - t0))
            if not self.dist.is_main:
                return []
            rows = sorted((r for part, _ in gathered for r in part), key=lambda r: (r.id, r.mode))
            skipped = sorted(x for _, sk in gathered for x in sk)
            _check_unique(name, rows)
            if not rows:  # nothing readable: as good as no data
                raise BenchmarkUnavailableError(f"{name}: no sample could be read; e.g. {skipped[:3]}")
            gt_root = prepare_gt(ds, Path(tmp) / "gt") if video else None
            out = []
            for method in self.cfg.methods:
                mode_rows = [r for r in rows if r.mode == METHOD_MODES[method]]
                if video:
                    assert save is not None and gt_root is not None
                    r = self._video_result(spec, split, method, gt_root, save / METHOD_MODES[method])
                else:
                    r = self._image_result(spec, split, method, mode_rows)
                r.protocol.update(facts)
                r.extra["skipped_samples"] = [{"id": i, "reason": why} for i, why in skipped]
                r.timing = {"benchmark_seconds": secs, "n_samples": len(ds),
                            "samples_per_s": len(ds) / secs if secs > 0 else float("nan"),
                            "mean_latency_s": float(np.mean([x.latency_s for x in mode_rows])) if mode_rows else 0.0}
                out.append(r)
            return out
        finally:
            if tmp and self.dist.is_main:
                shutil.rmtree(tmp, ignore_errors=True)

    def _dataset_facts(self, spec: BenchmarkSpec, split: str, ds: SegmentationDataset) -> dict[str, Any]:
        fp = ds.fingerprint("content")
        rev = fp.split("@", 1)[1].split(":", 1)[0] if fp.startswith("hf:") else None
        return {"dataset_source": ds.source, "dataset_fingerprint": fp, "dataset_revision": rev,
                "benchmark_file": spec.file, "benchmark_input_size": spec.input_size,
                "split": split, "n_samples": len(ds)}

    def _protocol(self, method: str, task: str, unit: str) -> dict[str, Any]:
        import autosam

        cfg, m = self.cfg, self.model
        return {
            "method": method, "mode": METHOD_MODES[method], "task": task,
            "backend": self.backend.name, "backend_sha256": self.backend.weights_sha256,
            "backend_input_size": self.backend.img_size,
            "checkpoint_sha256": self.model_sha256 or None,
            "g_backbone": m.config.g.backbone if m else None,
            "g_input_size": m.config.g.input_size if m else None,
            "threshold": cfg.threshold, "batch_size": cfg.batch_size, "world_size": self.dist.world_size,
            "code_version": code_version(), "autosam_version": autosam.__version__, "git_commit": git_commit(),
            "time": now_iso(), "hardware": hardware(self.backend.device),
            "bootstrap": {**_BOOTSTRAP, "seed": cfg.seed, "unit": unit},
            "uses_ground_truth": method in BUILTIN_METHODS,
        }

    def _result(self, spec: BenchmarkSpec, split: str, method: str, metrics: dict[str, float],
                ci: dict[str, tuple[float, float]], n: int, per: dict[str, dict[str, float]],
                unit: str, extra: dict[str, Any]) -> MethodResult:
        params, gmacs = self._cost if method in ("autosam", "h", "autosam_mask") else (None, None)
        if method in BUILTIN_METHODS:
            extra = {**extra, "note": "uses ground truth"}
        return MethodResult(spec.name, split, spec.task, method, self.method_key(method),
                            self.method_display(method), metrics, ci, n, per,
                            self._protocol(method, spec.task, unit), params_m=params, gmacs=gmacs, extra=extra)

    def _image_result(self, spec: BenchmarkSpec, split: str, method: str, rows: list[EvalRow]) -> MethodResult:
        mode = METHOD_MODES[method]
        summ = summarize(rows, [mode], ci=True, seed=self.cfg.seed)[mode]  # rows sorted by id
        metrics = {"dice": summ.dice, "iou": summ.iou}
        ci = {"dice": tuple(summ.dice_ci), "iou": tuple(summ.iou_ci)} if summ.n else {}
        per = {r.id: {"dice": float(r.dice), "iou": float(r.iou)} for r in rows}
        return self._result(spec, split, method, metrics, ci, summ.n, per, "image", {})

    def _video_result(self, spec: BenchmarkSpec, split: str, method: str, gt_root: Path,
                      pred_root: Path) -> MethodResult:
        r = score_vps(gt_root, pred_root, spec.name, self.cfg.seed)
        names = [m for m in VIDEO_METRICS if m in r.scores] + [m for m in r.scores if m not in VIDEO_METRICS]
        metrics = {m: float(r.scores[m]) for m in names}
        ci = {m: (float(r.ci[m][0]), float(r.ci[m][1])) for m in names if m in r.ci}
        per = {c.name: {m: float(v) for m, v in c.summary().items()} for c in r.cases}
        extra = {"n_cases": len(r.cases), "n_frames": sum(c.n_frames for c in r.cases),
                 "skipped_cases": r.skipped_cases}
        return self._result(spec, split, method, metrics, ci, len(r.cases), per, "case", extra)


def _check_unique(name: str, rows: list[EvalRow]) -> None:
    seen = {(r.id, r.mode) for r in rows}
    if len(seen) != len(rows):
        raise RuntimeError(f"{name}: duplicate sample ids; per-image scores need unique ids.")
