"""Worker: finishes jobs atomically, fails with reasons, survives SIGKILL, never double-runs a job."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autosam.backends.weights import file_sha256
from leaderboard.records import Submission
from leaderboard.store import ResultsStore
from leaderboard.worker import Worker, WorkerConfig, parse_benchmark_map
from tests.test_leaderboard_harness_env import N_IMAGES, REPO, BenchEnv, build_env


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> BenchEnv:
    e = build_env(tmp_path_factory.mktemp("worker"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOSAM_BENCHMARKS_DIR", str(e.bench_dir))
        yield e


def _submit(store: ResultsStore, env: BenchEnv, sha: str | None = None) -> Submission:
    from autosam.checkpoint import read_config

    cfg = read_config(env.checkpoint)
    return store.add_submission("alice", "tiny-model", sha or file_sha256(env.checkpoint), cfg.to_dict(),
                                backend=cfg.backend, checkpoint_path=str(env.checkpoint))


def _worker(store: ResultsStore, benchmarks: str = "sam_tiny=tiny_img,tiny_missing", **kw) -> Worker:
    cfg = WorkerConfig(db=str(store.path), benchmarks_for_backend=parse_benchmark_map([benchmarks]),
                       hub_sync=False, batch_size=4, **kw)
    return Worker(cfg, store)


def test_worker_finishes_job_and_records_skipped_benchmarks(env: BenchEnv, tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "lb.sqlite")
    sub = _submit(store, env)
    done = _worker(store).run_once()
    assert done is not None and done.id == sub.id and done.status == "FINISHED", done.failure_reason
    assert "tiny_missing skipped" in (done.log_tail or "") and done.timings["tiny_img_s"] > 0
    df = store.results_frame(source="verified")
    assert set(df.metric) == {"dice", "iou"} and set(df.benchmark) == {"tiny_img"}
    # The checkpoint carries h, so both AutoSAM and h are scored, each under its own key.
    assert set(df.method) == {f"submission/{sub.id}", f"submission/{sub.id}/h"}
    assert (df.submission_id == sub.id).all()
    assert df.iloc[0].protocol["checkpoint_sha256"] == sub.weights_sha256
    assert len(store.per_image_frame(sub.id)) == 2 * 2 * N_IMAGES
    assert _worker(store).run_once() is None  # queue empty


def test_worker_fails_with_reason(env: BenchEnv, tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "lb.sqlite")
    sub = _submit(store, env)
    done = _worker(store, "*=tiny_missing").run_once()
    assert done.status == "FAILED" and "No benchmark data available for back-end sam_tiny" in done.failure_reason
    assert "tiny_missing" in done.failure_reason and done.log_tail
    assert store.results_frame().empty

    sub = _submit(store, env, sha="0" * 64)  # the staged file no longer matches what was checked
    done = _worker(store).run_once()
    assert done.id == sub.id and done.status == "FAILED" and "the file changed" in done.failure_reason


def test_stale_job_is_failed_after_max_attempts(env: BenchEnv, tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "lb.sqlite", max_attempts=1)
    sub = _submit(store, env)
    assert store.claim_next("dead-worker").id == sub.id  # claimed, then the worker "dies"
    time.sleep(0.3)
    assert _worker(store, stale_after_s=0.2).run_once() is None
    s = store.get_submission(sub.id)
    assert s.status == "FAILED" and "worker died 1 times" in s.failure_reason


def _spawn(env: BenchEnv, db: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "leaderboard.worker", "--db", str(db), "--no-hub", "--poll-s", "0.2",
           "--batch-size", "4", "--benchmarks-for-backend", "sam_tiny=tiny_one", *extra]
    return subprocess.Popen(cmd, cwd=REPO, env=env.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait(pred, timeout: float = 60.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_killed_worker_loses_nothing(env: BenchEnv, tmp_path: Path) -> None:
    db = tmp_path / "lb.sqlite"
    store = ResultsStore(db)
    sub = _submit(store, env)
    w1 = _spawn(env, db, "--stale-after-s", "1", "--job-delay-s", "60")
    try:
        _wait(lambda: store.get_submission(sub.id).status == "RUNNING")
        first = store.get_submission(sub.id).claimed_by
        os.kill(w1.pid, signal.SIGKILL)  # no chance to clean up
        w1.wait(10)
    finally:
        if w1.poll() is None:
            w1.kill()
    assert store.get_submission(sub.id).status == "RUNNING"  # orphaned, until its heartbeat goes stale
    _wait(lambda: time.time() - (store.get_submission(sub.id).heartbeat_at or 0) > 1.5)
    w2 = _spawn(env, db, "--once", "--stale-after-s", "1")
    out, _ = w2.communicate(timeout=120)
    s = store.get_submission(sub.id)
    assert s.status == "FINISHED", out[-3000:]
    assert s.attempts == 2 and s.claimed_by != first
    assert len(store.per_image_frame(sub.id)) == 4  # one image x (dice, iou) x (autosam, h)


def test_two_workers_never_take_the_same_job(env: BenchEnv, tmp_path: Path) -> None:
    """Two workers (own connections, own ids) race over three jobs: each job runs exactly once."""
    store = ResultsStore(tmp_path / "lb.sqlite")
    subs = [_submit(store, env) for _ in range(3)]
    workers = [_worker(ResultsStore(store.path), "sam_tiny=tiny_one") for _ in range(2)]
    start = threading.Barrier(2)
    done: dict[int, list[int]] = {0: [], 1: []}

    def loop(k: int) -> None:
        start.wait()
        while (s := workers[k].run_once()) is not None:
            done[k].append(s.id)

    threads = [threading.Thread(target=loop, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(done[0] + done[1]) == [s.id for s in subs]  # no job twice, none lost
    for s in subs:
        s = store.get_submission(s.id)
        assert s.status == "FINISHED" and s.attempts == 1
        assert s.claimed_by == workers[0 if s.id in done[0] else 1].cfg.worker_id
