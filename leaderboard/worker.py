"""Evaluation worker: takes PENDING submissions one at a time and scores them.

    python -m leaderboard.worker [--db PATH] [--once] [--poll-s 10] [--stale-after-s 600]
                                 [--device cpu|cuda] [--gpu N] [--batch-size 8]
                                 [--benchmarks-for-backend lite_medsam=kvasir,clinicdb ...]

Life cycle per job (``ResultsStore``): ``claim_next`` (atomic: two workers never take the same
job) -> a heartbeat thread refreshes the claim -> every benchmark registered for the back-end
whose data is available is scored with the harness -> ``finish`` writes all results in one
transaction. Any exception -> ``fail`` with the reason and the log tail. A worker killed mid-job
leaves a RUNNING row whose heartbeat goes stale: the next worker re-claims it (and the store marks
it FAILED, with the reason, once it has died ``max_attempts`` times), so nothing is lost or stuck.
"""
from __future__ import annotations

import argparse
import io
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field, replace
from typing import Sequence

from .benchmarks import BENCHMARKS
from .harness import Harness, HarnessConfig
from .records import PerImageScore, ResultRecord, Submission
from .store import ClaimLost, ResultsStore

log = logging.getLogger("leaderboard.worker")

# Benchmarks scored for a back-end unless --benchmarks-for-backend says otherwise ("*": any).
DEFAULT_BENCHMARKS_FOR_BACKEND: dict[str, tuple[str, ...]] = {"*": tuple(BENCHMARKS)}


def parse_benchmark_map(items: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``["lite_medsam=kvasir,glas", "*=kvasir"]`` -> {backend: benchmarks}."""
    out: dict[str, tuple[str, ...]] = {}
    for item in items:
        backend, sep, names = item.partition("=")
        if not sep or not backend.strip() or not names.strip():
            raise ValueError(f"--benchmarks-for-backend expects BACKEND=NAME[,NAME...], got {item!r}")
        out[backend.strip()] = tuple(n.strip() for n in names.split(",") if n.strip())
    return out


@dataclass
class WorkerConfig:
    db: str | None = None
    poll_s: float = 10.0
    stale_after_s: float = 600.0
    heartbeat_s: float | None = None  # default: a quarter of stale_after_s
    max_attempts: int = 2
    device: str = "cpu"
    batch_size: int = 8
    benchmarks_for_backend: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_BENCHMARKS_FOR_BACKEND))
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    job_delay_s: float = 0.0  # tests: hold the job (heart-beating) before scoring it
    hub_sync: bool = True  # only acts when AUTOSAM_HUB_* repos and a token are configured

    def benchmarks_for(self, backend: str) -> tuple[str, ...]:
        m = self.benchmarks_for_backend
        return m.get(backend) or m.get("*") or ()

    def heartbeat_interval(self) -> float:
        return self.heartbeat_s if self.heartbeat_s else min(60.0, max(0.2, self.stale_after_s / 4))


class _Heartbeat(threading.Thread):
    """Refreshes the claim; sets ``lost`` when the store says the job is no longer ours."""

    def __init__(self, store: ResultsStore, sub_id: int, worker_id: str, interval: float):
        super().__init__(daemon=True, name=f"heartbeat-{sub_id}")
        self.store, self.sub_id, self.worker_id, self.interval = store, sub_id, worker_id, interval
        self.stop_event, self.lost = threading.Event(), threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                if not self.store.heartbeat(self.sub_id, self.worker_id):
                    self.lost.set()
                    return
            except Exception as exc:  # a locked database now and then must not kill the job
                log.warning("heartbeat failed: %s", exc)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)


class _JobLog:
    """Collects the job's log lines (for ``log_tail``) while still printing them."""

    def __init__(self) -> None:
        self.buf = io.StringIO()
        self.handler = logging.StreamHandler(self.buf)
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def __enter__(self) -> "_JobLog":
        self._levels = {}
        for name in ("leaderboard", "autosam"):
            lg = logging.getLogger(name)
            self._levels[name] = lg.level
            if lg.getEffectiveLevel() > logging.INFO:  # the tail should say what happened, not only warnings
                lg.setLevel(logging.INFO)
            lg.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, level in self._levels.items():
            lg = logging.getLogger(name)
            lg.removeHandler(self.handler)
            lg.setLevel(level)

    def text(self) -> str:
        return self.buf.getvalue()


class Worker:
    def __init__(self, cfg: WorkerConfig, store: ResultsStore | None = None):
        self.cfg = cfg
        self.store = store or ResultsStore(cfg.db, max_attempts=cfg.max_attempts)
        self.hub = None
        if cfg.hub_sync:
            from .hub_sync import HubSync

            hub = HubSync.from_env()
            self.hub = hub if hub.enabled else None

    # -- one job -----------------------------------------------------------------------------
    def run_once(self) -> Submission | None:
        """Claim and process one job; None when the queue is empty."""
        if self.hub is not None:
            self.hub.pull_requests(self.store)
        sub = self.store.claim_next(self.cfg.worker_id, stale_after_s=self.cfg.stale_after_s)
        if sub is None:
            return None
        self._push(sub)
        return self.process(sub)

    def process(self, sub: Submission) -> Submission:
        hb = _Heartbeat(self.store, sub.id, self.cfg.worker_id, self.cfg.heartbeat_interval())
        hb.start()
        with _JobLog() as jl:
            try:
                log.info("worker %s: submission %d '%s' (back-end %s), attempt %d/%d", self.cfg.worker_id,
                         sub.id, sub.display_name, sub.backend, sub.attempts, self.store.max_attempts)
                results, per_image, timings = self._evaluate(sub, hb)
                if hb.lost.is_set():
                    raise ClaimLost(f"submission {sub.id} was taken from this worker")
                done = self.store.finish(sub.id, results, per_image, worker_id=self.cfg.worker_id,
                                         timings=timings, log_tail=jl.text())
                log.info("submission %d FINISHED (%d results)", sub.id, len(results))
                if self.hub is not None:
                    self.hub.push_results(done, results)
            except ClaimLost as exc:  # someone else owns the job now: leave it alone
                log.warning("%s; dropping it", exc)
                done = self.store.get_submission(sub.id)
            except _NoData as exc:
                log.error("%s", exc)
                self.store.fail(sub.id, str(exc), jl.text(), worker_id=self.cfg.worker_id)
                done = self.store.get_submission(sub.id)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                log.error("submission %d failed: %s\n%s", sub.id, reason, traceback.format_exc())
                self.store.fail(sub.id, reason, jl.text(), worker_id=self.cfg.worker_id)
                done = self.store.get_submission(sub.id)
            finally:
                hb.stop()
        self._push(done)
        return done

    def _evaluate(self, sub: Submission, hb: _Heartbeat
                  ) -> tuple[list[ResultRecord], list[PerImageScore], dict[str, float]]:
        t0 = time.time()
        end = t0 + self.cfg.job_delay_s
        while time.time() < end and not hb.lost.is_set():
            time.sleep(min(0.1, end - time.time()))
        if not sub.checkpoint_path:
            raise ValueError("The submission has no staged checkpoint file.")
        names = self.cfg.benchmarks_for(sub.backend)
        if not names:
            raise _NoData(f"No benchmark is registered for back-end {sub.backend}.")
        harness = Harness(HarnessConfig(backend=sub.backend, checkpoint=sub.checkpoint_path,
                                        methods=self._methods(sub), device=self.cfg.device,
                                        batch_size=self.cfg.batch_size, display_name=sub.display_name))
        if harness.model_sha256 != sub.weights_sha256:
            raise ValueError(f"The staged weights have SHA-256 {harness.model_sha256[:12]}..., but the "
                             f"submission recorded {sub.weights_sha256[:12]}...: the file changed after submission.")
        results: list[ResultRecord] = []
        per_image: list[PerImageScore] = []
        timings: dict[str, float] = {"load_s": round(time.time() - t0, 3)}
        skipped: list[str] = []
        for name in names:
            if hb.lost.is_set():
                raise ClaimLost(f"submission {sub.id} was taken from this worker")
            outcome = harness.run_benchmark_safe(name)
            if outcome.skipped:
                first = outcome.reason.splitlines()[0] if outcome.reason else ""
                skipped.append(f"{name} ({first})")
                log.warning("benchmark %s skipped: data unavailable: %s", name, outcome.reason)
                continue
            for mr in outcome.results:
                # The store keys them by submission anyway; the Hub mirror gets the same keys.
                key = f"submission/{sub.id}" + ("" if mr.method == "autosam" else f"/{mr.method}")
                results += [replace(r, method=key, submission_id=sub.id) for r in mr.records()]
                per_image += mr.per_image_scores()
                timings[f"{name}_s"] = round(mr.timing.get("benchmark_seconds", 0.0), 3)
                log.info("%s: %s", name, ", ".join(f"{k}={v:.4f}" for k, v in mr.metrics.items()))
        if not results:
            raise _NoData(f"No benchmark data available for back-end {sub.backend}: skipped "
                          + "; ".join(skipped))
        timings["total_s"] = round(time.time() - t0, 3)
        return results, per_image, timings

    @staticmethod
    def _methods(sub: Submission) -> tuple[str, ...]:
        """AutoSAM always; h too when the submitted checkpoint carries one."""
        has_h = bool((sub.config or {}).get("has_h"))
        return ("autosam", "h") if has_h else ("autosam",)

    def _push(self, sub: Submission) -> None:
        if self.hub is not None:
            self.hub.push_submission(sub)

    # -- loop ------------------------------------------------------------------------------------
    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        log.info("worker %s polling %s every %gs", self.cfg.worker_id, self.store.path, self.cfg.poll_s)
        while not stop.is_set():
            try:
                sub = self.run_once()
            except Exception as exc:  # the store or the Hub hiccuped: keep serving
                log.error("worker loop error: %s", exc)
                sub = None
            if sub is None:
                stop.wait(self.cfg.poll_s)


class _NoData(RuntimeError):
    """No registered benchmark could be scored (data missing everywhere)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leaderboard.worker", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default=None, help="SQLite store (default $AUTOSAM_LEADERBOARD_DB or ./leaderboard.sqlite)")
    p.add_argument("--once", action="store_true", help="process at most one job, then exit")
    p.add_argument("--poll-s", type=float, default=10.0, help="seconds between queue polls when idle")
    p.add_argument("--stale-after-s", type=float, default=600.0,
                   help="a RUNNING job without a heartbeat for this long is re-claimed")
    p.add_argument("--heartbeat-s", type=float, default=None, help="heartbeat period (default stale/4)")
    p.add_argument("--max-attempts", type=int, default=2, help="worker deaths before a job is FAILED")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--gpu", type=int, default=None, help="use CUDA device N (one worker per GPU)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--benchmarks-for-backend", action="append", default=[], metavar="BACKEND=B1,B2",
                   help="benchmarks to score for a back-end ('*' for any); repeatable")
    p.add_argument("--no-hub", action="store_true", help="do not sync with the Hub even if configured")
    p.add_argument("--job-delay-s", type=float, default=0.0, help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    device = args.device
    if args.gpu is not None:
        import torch

        torch.cuda.set_device(args.gpu)
        device = f"cuda:{args.gpu}"
    mapping = dict(DEFAULT_BENCHMARKS_FOR_BACKEND)
    if args.benchmarks_for_backend:
        mapping = parse_benchmark_map(args.benchmarks_for_backend)
    cfg = WorkerConfig(db=args.db, poll_s=args.poll_s, stale_after_s=args.stale_after_s,
                       heartbeat_s=args.heartbeat_s, max_attempts=args.max_attempts, device=device,
                       batch_size=args.batch_size, benchmarks_for_backend=mapping,
                       job_delay_s=args.job_delay_s, hub_sync=not args.no_hub)
    worker = Worker(cfg)
    if args.once:
        sub = worker.run_once()
        print("no job" if sub is None else f"submission {sub.id}: {sub.status}"
              + (f" ({sub.failure_reason})" if sub.failure_reason else ""), flush=True)
        return 0
    stop = threading.Event()
    # SIGTERM finishes the current job's bookkeeping and exits (a SIGKILL is handled by staleness).
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        worker.run_forever(stop)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
