"""ResultsStore: round trips, WAL, atomic claims, stale jobs, atomic finish, guards."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from leaderboard.records import PerImageScore, ResultRecord, Submission
from leaderboard.store import ClaimLost, DuplicateSubmission, RateLimited, ResultsStore

REPO = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> ResultsStore:
    return ResultsStore(tmp_path / "lb.sqlite", clock=clock)


def _add(store: ResultsStore, sha: str = "a" * 64, who: str = "alice", name: str = "m") -> Submission:
    return store.add_submission(who, name, sha, {"backend": "sam_tiny", "g": {"backbone": "sam_embed"}})


def test_wal_and_default_path_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "sub" / "env.sqlite"
    monkeypatch.setenv("AUTOSAM_LEADERBOARD_DB", str(db))
    s = ResultsStore()
    assert s.path == db and db.is_file()
    assert s.journal_mode().lower() == "wal"


def test_submission_round_trip(store: ResultsStore) -> None:
    sub = _add(store)
    assert sub.status == "PENDING" and sub.attempts == 0 and sub.backend == "sam_tiny"
    assert store.get_submission(sub.id) == sub
    assert store.get_by_uid(sub.uid) == sub
    assert store.list_submissions() == [sub]
    assert store.list_submissions(status="RUNNING") == []
    back = Submission.from_json(sub.to_json())
    assert back == sub
    rec = json.loads(sub.to_json())
    assert rec["status"] == "PENDING" and rec["submitted_time"].endswith("+00:00")  # ISO, HF style
    iso = {**rec, "created_at": rec["submitted_time"]}
    assert Submission.from_record(iso).created_at == pytest.approx(sub.created_at, abs=1e-5)
    with pytest.raises(ValueError):
        Submission.from_record({**rec, "status": "LOST"})
    with pytest.raises(KeyError):
        store.get_submission(999)


def test_result_record_round_trip() -> None:
    r = ResultRecord("kvasir", "test", "dice", 0.9, 0.88, 0.92, 100, {"threshold": 0.5})
    assert ResultRecord.from_record(json.loads(json.dumps(r.to_record()))) == r


def test_claim_oldest_first_and_heartbeat(store: ResultsStore, clock: Clock) -> None:
    a = _add(store, "a" * 64)
    clock.t += 1
    b = _add(store, "b" * 64)
    first = store.claim_next("w1")
    assert first is not None and first.id == a.id and first.status == "RUNNING"
    assert first.attempts == 1 and first.claimed_by == "w1" and first.started_at == clock.t
    second = store.claim_next("w2")
    assert second is not None and second.id == b.id
    assert store.claim_next("w3") is None
    clock.t += 500
    assert store.heartbeat(a.id, "w1") is True
    assert store.heartbeat(a.id, "w2") is False  # not w2's job
    clock.t += 500  # a: heartbeat 500 s ago (alive); b: 1000 s ago (stale)
    again = store.claim_next("w3", stale_after_s=600)
    assert again is not None and again.id == b.id and again.claimed_by == "w3" and again.attempts == 2


def test_stale_running_reclaimed_and_old_worker_locked_out(store: ResultsStore, clock: Clock) -> None:
    sub = _add(store)
    assert store.claim_next("w1").id == sub.id
    clock.t += 100
    assert store.claim_next("w2", stale_after_s=600) is None  # still fresh
    clock.t += 1000
    got = store.claim_next("w2", stale_after_s=600)
    assert got is not None and got.id == sub.id and got.attempts == 2 and got.claimed_by == "w2"
    assert store.heartbeat(sub.id, "w1") is False
    with pytest.raises(ClaimLost):
        store.finish(sub.id, [ResultRecord("kvasir", "test", "dice", 0.5)], worker_id="w1")
    assert store.fail(sub.id, "boom", worker_id="w1") is False
    assert store.get_submission(sub.id).status == "RUNNING"


def test_max_attempts_marks_failed_with_reason(store: ResultsStore, clock: Clock) -> None:
    sub = _add(store)
    store.claim_next("w1")
    clock.t += 1000
    store.claim_next("w2", stale_after_s=600)
    clock.t += 1000
    assert store.claim_next("w3", stale_after_s=600) is None
    s = store.get_submission(sub.id)
    assert s.status == "FAILED" and s.attempts == 2
    assert s.failure_reason == "worker died 2 times (stale RUNNING)"
    store.requeue(sub.id)
    s = store.get_submission(sub.id)
    assert s.status == "PENDING" and s.attempts == 0 and s.failure_reason is None


def test_max_attempts_configurable(tmp_path: Path, clock: Clock) -> None:
    store = ResultsStore(tmp_path / "x.sqlite", max_attempts=1, clock=clock)
    sub = _add(store)
    store.claim_next("w1")
    clock.t += 10_000
    assert store.claim_next("w2") is None
    assert store.get_submission(sub.id).failure_reason == "worker died 1 times (stale RUNNING)"


def test_two_threads_race_for_one_job(store: ResultsStore) -> None:
    sub = _add(store)
    n = 8
    barrier = threading.Barrier(n)
    got: list[Submission | None] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        r = store.claim_next(f"w{i}")
        with lock:
            got.append(r)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in got if r is not None]
    assert len(winners) == 1 and winners[0].id == sub.id
    assert store.get_submission(sub.id).attempts == 1


_CLAIM_SCRIPT = """
import os, sys, time
from leaderboard.store import ResultsStore
s = ResultsStore(sys.argv[1])
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
r = s.claim_next(sys.argv[3])
print(r.id if r else "none", flush=True)
"""


def test_processes_race_for_one_job(store: ResultsStore, tmp_path: Path) -> None:
    sub = _add(store)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [
        subprocess.Popen([sys.executable, "-c", _CLAIM_SCRIPT, str(store.path), str(go), f"p{i}"],
                         stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
        for i in range(4)
    ]
    time.sleep(1.5)  # let the interpreters start and wait on the flag
    go.touch()
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(outs) == sorted([str(sub.id)] + ["none"] * 3)


def test_finish_is_atomic(store: ResultsStore) -> None:
    sub = _add(store)
    store.claim_next("w1")
    results = [ResultRecord("kvasir", "test", "dice", 0.9, 0.88, 0.92, 2, {"threshold": 0.5}),
               ResultRecord("kvasir", "test", "iou", 0.8)]
    bad = [PerImageScore("kvasir", "test", "img1", "dice", 0.9),
           PerImageScore("kvasir", "test", "img1", "sensitivity", 0.7)]  # no such aggregate
    with pytest.raises(ValueError):
        store.finish(sub.id, results, bad, worker_id="w1")
    assert store.get_submission(sub.id).status == "RUNNING"
    assert store.results_frame().empty
    good = [PerImageScore("kvasir", "test", f"img{i}", m, 0.5 + i / 10) for i in (1, 2) for m in ("dice", "iou")]
    done = store.finish(sub.id, results, good, worker_id="w1", timings={"total_s": 3.0}, log_tail="x" * 20000)
    assert done.status == "FINISHED" and done.timings == {"total_s": 3.0} and len(done.log_tail) == 8000
    df = store.results_frame()
    assert len(df) == 2 and set(df["source"]) == {"verified"} and set(df["method"]) == {f"submission/{sub.id}"}
    assert (df["method_display"] == "m").all() and df["submission_id"].tolist() == [sub.id, sub.id]
    row = df[df["metric"] == "dice"].iloc[0]
    assert (row["value"], row["ci_low"], row["ci_high"], row["n"]) == (0.9, 0.88, 0.92, 2)
    assert row["protocol"] == {"threshold": 0.5}
    per = store.per_image_frame(sub.id)
    assert len(per) == 4 and set(per["image_id"]) == {"img1", "img2"}
    with pytest.raises(ClaimLost):  # finished jobs cannot be finished again
        store.finish(sub.id, results)
    assert results[0].method == ""  # caller's records are not mutated


def test_fail_records_reason_and_tail(store: ResultsStore) -> None:
    sub = _add(store)
    store.claim_next("w1")
    assert store.fail(sub.id, "CUDA out of memory", "line\n" * 5000, worker_id="w1") is True
    s = store.get_submission(sub.id)
    assert s.status == "FAILED" and s.failure_reason == "CUDA out of memory" and len(s.log_tail) == 8000
    assert store.fail(sub.id, "again") is False  # already terminal


def test_duplicates_and_rate_counts(store: ResultsStore, clock: Clock) -> None:
    a = _add(store, "a" * 64, "alice")
    assert store.find_by_weights_hash("a" * 64) == a
    assert store.find_by_weights_hash("b" * 64) is None
    with pytest.raises(DuplicateSubmission, match="already submitted"):
        store.add_submission("bob", "x", "a" * 64, {}, reject_duplicate=True)
    store.claim_next("w")
    store.fail(a.id, "bad")
    assert store.find_by_weights_hash("a" * 64) is None  # a failed one may be resubmitted
    store.add_submission("bob", "x", "a" * 64, {}, reject_duplicate=True)
    clock.t += 10
    _add(store, "c" * 64, "alice")
    assert store.count_recent_submissions("alice", 3600) == 2
    assert store.count_recent_submissions("alice", 5) == 1
    with pytest.raises(RateLimited, match="limit 2"):
        store.add_submission("alice", "y", "d" * 64, {}, rate_limit=(2, 3600))
    store.add_submission("alice", "y", "d" * 64, {}, rate_limit=(3, 3600))


def test_racing_duplicate_submissions_only_one_wins(store: ResultsStore) -> None:
    barrier = threading.Barrier(6)
    ok, refused = [], []

    def run(i: int) -> None:
        barrier.wait()
        try:
            ok.append(store.add_submission(f"u{i}", "n", "e" * 64, {}, reject_duplicate=True))
        except DuplicateSubmission:
            refused.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 1 and len(refused) == 5


def test_upsert_results_requires_method_and_valid_source(store: ResultsStore) -> None:
    with pytest.raises(ValueError):
        store.upsert_results([ResultRecord("kvasir", "test", "dice", 0.5)])
    with pytest.raises(ValueError):
        store.upsert_results([ResultRecord("kvasir", "test", "dice", 0.5, method="x", source="rumour")])
    assert store.upsert_results([ResultRecord("kvasir", "test", "dice", 0.5, method="x", source="reported")]) == 1
    assert store.upsert_results([ResultRecord("kvasir", "test", "dice", 0.6, method="x", source="reported")]) == 1
    df = store.results_frame()
    assert len(df) == 1 and df["value"].iloc[0] == 0.6
