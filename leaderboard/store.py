"""SQLite results store: submissions queue, aggregate results, per-image scores.

One file in WAL mode so the app can read while a worker writes. Every write runs in a
``BEGIN IMMEDIATE`` transaction (the write lock is taken up front, so check-then-write sequences
such as claiming a job or rejecting a duplicate cannot interleave between processes). A fresh
connection per call keeps the store safe to share across threads and processes.

Worker life cycle: ``claim_next`` -> ``heartbeat`` (periodically) -> ``finish`` | ``fail``.
A RUNNING job whose heartbeat is older than ``stale_after_s`` is reclaimed by the next worker,
and failed once it has died ``max_attempts`` times.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from .records import SOURCES, STATUSES, PerImageScore, ResultRecord, Submission

DEFAULT_DB = "./leaderboard.sqlite"
ENV_DB = "AUTOSAM_LEADERBOARD_DB"
LOG_TAIL_CHARS = 8000
SCHEMA_VERSION = 1

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    submitter TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at REAL NOT NULL,
    weights_sha256 TEXT NOT NULL,
    config TEXT NOT NULL,
    backend TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN {STATUSES}),
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT, claimed_at REAL, heartbeat_at REAL, started_at REAL, finished_at REAL,
    failure_reason TEXT, log_tail TEXT, timings TEXT NOT NULL DEFAULT '{{}}', checkpoint_path TEXT
);
CREATE INDEX IF NOT EXISTS ix_sub_queue ON submissions(status, created_at, id);
CREATE INDEX IF NOT EXISTS ix_sub_sha ON submissions(weights_sha256);
CREATE INDEX IF NOT EXISTS ix_sub_user ON submissions(submitter, created_at);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    method TEXT NOT NULL,
    submission_id INTEGER REFERENCES submissions(id) ON DELETE CASCADE,
    method_display TEXT NOT NULL,
    method_type TEXT NOT NULL DEFAULT 'image-based',
    source TEXT NOT NULL CHECK (source IN {SOURCES}),
    benchmark TEXT NOT NULL, split TEXT NOT NULL, metric TEXT NOT NULL,
    value REAL NOT NULL, ci_low REAL, ci_high REAL, n INTEGER,
    protocol TEXT NOT NULL DEFAULT '{{}}', params_m REAL, gmacs REAL,
    extra TEXT NOT NULL DEFAULT '{{}}', created_at REAL NOT NULL,
    UNIQUE (method, source, benchmark, split, metric)
);
CREATE TABLE IF NOT EXISTS per_image_scores (
    result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    image_id TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (result_id, image_id, metric)
);
"""

_RESULT_COLS = (
    "method", "submission_id", "method_display", "method_type", "source", "benchmark", "split",
    "metric", "value", "ci_low", "ci_high", "n", "protocol", "params_m", "gmacs", "extra",
)


class StoreRefusal(ValueError):
    """A write refused by a guard checked inside the transaction."""


class DuplicateSubmission(StoreRefusal):
    def __init__(self, existing: Submission):
        self.existing = existing
        super().__init__(
            f"These weights (sha256 {existing.weights_sha256[:12]}...) were already submitted as "
            f"'{existing.display_name}' (submission {existing.id}, status {existing.status})."
        )


class RateLimited(StoreRefusal):
    def __init__(self, count: int, limit: int, window_s: float):
        self.count, self.limit, self.window_s = count, limit, window_s
        super().__init__(
            f"Rate limit reached: {count} submissions in the last {window_s / 3600:g} h "
            f"(limit {limit}). Please try again later."
        )


class ClaimLost(RuntimeError):
    """The job is no longer RUNNING under this worker (reclaimed as stale, or already done)."""


def default_db_path() -> str:
    return os.environ.get(ENV_DB) or DEFAULT_DB


def _row_to_submission(row: sqlite3.Row) -> Submission:
    d = dict(row)
    d["config"] = json.loads(d["config"])
    d["timings"] = json.loads(d["timings"] or "{}")
    return Submission(**d)


class ResultsStore:
    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_attempts: int = 2,
        busy_timeout_ms: int = 30_000,
        clock: Callable[[], float] = time.time,
    ):
        self.path = Path(path if path is not None else default_db_path())
        self.max_attempts = max_attempts
        self.busy_timeout_ms = busy_timeout_ms
        self._clock = clock  # injectable so tests can age heartbeats without sleeping
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as c:
            mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RuntimeError(f"Could not switch {self.path} to WAL mode (got {mode!r})")
        with self._write() as c:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    c.execute(stmt)
            c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # -- connections -----------------------------------------------------------------------
    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        c = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None)
        try:
            c.row_factory = sqlite3.Row
            c.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            c.execute("PRAGMA foreign_keys=ON")
            yield c
        finally:
            c.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._conn() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def journal_mode(self) -> str:
        with self._conn() as c:
            return str(c.execute("PRAGMA journal_mode").fetchone()[0])

    # -- submissions -----------------------------------------------------------------------
    def add_submission(
        self,
        submitter: str,
        display_name: str,
        weights_sha256: str,
        config: dict[str, Any],
        *,
        backend: str | None = None,
        checkpoint_path: str | None = None,
        uid: str | None = None,
        reject_duplicate: bool = False,
        rate_limit: tuple[int, float] | None = None,
    ) -> Submission:
        """Queue a PENDING submission. Guards run inside the write transaction, so two racing
        submissions of the same weights cannot both pass the duplicate check."""
        now = self._clock()
        with self._write() as c:
            if reject_duplicate:
                dup = self._find_sha(c, weights_sha256)
                if dup is not None:
                    raise DuplicateSubmission(dup)
            if rate_limit is not None:
                limit, window_s = rate_limit
                n = self._count_recent(c, submitter, window_s, now)
                if n >= limit:
                    raise RateLimited(n, limit, window_s)
            cur = c.execute(
                "INSERT INTO submissions (uid, submitter, display_name, created_at, weights_sha256,"
                " config, backend, status, checkpoint_path) VALUES (?,?,?,?,?,?,?,'PENDING',?)",
                (uid or uuid.uuid4().hex, submitter, display_name, now, weights_sha256,
                 json.dumps(config, sort_keys=True), backend or str(config.get("backend", "")),
                 checkpoint_path),
            )
            return self._get(c, int(cur.lastrowid))

    def get_submission(self, submission_id: int) -> Submission:
        with self._conn() as c:
            return self._get(c, submission_id)

    def get_by_uid(self, uid: str) -> Submission | None:
        with self._conn() as c:
            row = c.execute("SELECT * FROM submissions WHERE uid=?", (uid,)).fetchone()
        return _row_to_submission(row) if row else None

    def list_submissions(self, status: str | None = None, submitter: str | None = None) -> list[Submission]:
        q, args = "SELECT * FROM submissions WHERE 1=1", []
        if status is not None:
            q, args = q + " AND status=?", args + [status]
        if submitter is not None:
            q, args = q + " AND submitter=?", args + [submitter]
        with self._conn() as c:
            rows = c.execute(q + " ORDER BY created_at, id", args).fetchall()
        return [_row_to_submission(r) for r in rows]

    def find_by_weights_hash(self, weights_sha256: str) -> Submission | None:
        """Latest non-FAILED submission with these weights (a failed one may be resubmitted)."""
        with self._conn() as c:
            return self._find_sha(c, weights_sha256)

    def count_recent_submissions(self, submitter: str, window_s: float) -> int:
        with self._conn() as c:
            return self._count_recent(c, submitter, window_s, self._clock())

    # -- worker protocol ---------------------------------------------------------------------
    def claim_next(self, worker_id: str, stale_after_s: float = 600.0) -> Submission | None:
        """Atomically take the oldest PENDING job, or a RUNNING one whose worker stopped
        heart-beating. Jobs that already died ``max_attempts`` times are marked FAILED."""
        now = self._clock()
        cutoff = now - stale_after_s
        with self._write() as c:
            stale = c.execute(
                "SELECT id, attempts FROM submissions WHERE status='RUNNING'"
                " AND COALESCE(heartbeat_at, claimed_at, 0) < ?", (cutoff,)
            ).fetchall()
            for row in stale:
                if row["attempts"] >= self.max_attempts:
                    c.execute(
                        "UPDATE submissions SET status='FAILED', finished_at=?, failure_reason=?,"
                        " claimed_by=NULL WHERE id=?",
                        (now, f"worker died {row['attempts']} times (stale RUNNING)", row["id"]),
                    )
            row = c.execute(
                "SELECT id FROM submissions WHERE status='PENDING' OR (status='RUNNING'"
                " AND COALESCE(heartbeat_at, claimed_at, 0) < ?) ORDER BY created_at, id LIMIT 1",
                (cutoff,),
            ).fetchone()
            if row is None:
                return None
            c.execute(
                "UPDATE submissions SET status='RUNNING', attempts=attempts+1, claimed_by=?,"
                " claimed_at=?, heartbeat_at=?, started_at=?, failure_reason=NULL WHERE id=?",
                (worker_id, now, now, now, row["id"]),
            )
            return self._get(c, row["id"])

    def heartbeat(self, submission_id: int, worker_id: str) -> bool:
        """Refresh the claim; False means the job was taken from this worker: stop working on it."""
        with self._write() as c:
            cur = c.execute(
                "UPDATE submissions SET heartbeat_at=? WHERE id=? AND status='RUNNING' AND claimed_by=?",
                (self._clock(), submission_id, worker_id),
            )
            return cur.rowcount == 1

    def finish(
        self,
        submission_id: int,
        results: Iterable[ResultRecord],
        per_image: Iterable[PerImageScore] = (),
        *,
        worker_id: str | None = None,
        timings: dict[str, Any] | None = None,
        log_tail: str | None = None,
    ) -> Submission:
        """Store all results and per-image scores and mark FINISHED, in one transaction:
        either everything lands or nothing does (the job stays RUNNING)."""
        now = self._clock()
        with self._write() as c:
            sub = self._get(c, submission_id)
            if sub.status != "RUNNING" or (worker_id is not None and sub.claimed_by != worker_id):
                raise ClaimLost(
                    f"Submission {submission_id} is {sub.status} (claimed by {sub.claimed_by!r}); "
                    f"worker {worker_id!r} may not finish it."
                )
            # A rerun replaces the verified numbers of an earlier attempt.
            c.execute("DELETE FROM results WHERE submission_id=? AND source='verified'", (submission_id,))
            # One result set per method variant: submission/<id> is AutoSAM, submission/<id>/h is h.
            ids: dict[tuple[str, str, str, str], int] = {}
            for r in results:
                variant = r.method.split("/", 2)[2] if r.method.startswith(f"submission/{submission_id}/") else ""
                key = f"submission/{submission_id}" + (f"/{variant}" if variant else "")
                display = sub.display_name + (f" ({variant})" if variant else "")
                r = replace(r, method=key, method_display=display, source="verified",
                            submission_id=submission_id)
                ids[(variant, r.benchmark, r.split, r.metric)] = self._insert_result(c, r, now, upsert=False)
            for p in per_image:
                key4 = (p.method, p.benchmark, p.split, p.metric)
                if key4 not in ids:
                    raise ValueError(f"Per-image score {p} has no matching aggregate result {key4}")
                c.execute(
                    "INSERT INTO per_image_scores (result_id, image_id, metric, value) VALUES (?,?,?,?)",
                    (ids[key4], str(p.image_id), p.metric, float(p.value)),
                )
            c.execute(
                "UPDATE submissions SET status='FINISHED', finished_at=?, timings=?, log_tail=?,"
                " failure_reason=NULL WHERE id=?",
                (now, json.dumps(timings or {}), _tail(log_tail), submission_id),
            )
            return self._get(c, submission_id)

    def fail(self, submission_id: int, reason: str, log_tail: str | None = None,
             *, worker_id: str | None = None) -> bool:
        """Mark FAILED with a reason a person can read. With ``worker_id``, only if still ours."""
        q = ("UPDATE submissions SET status='FAILED', finished_at=?, failure_reason=?, log_tail=?"
             " WHERE id=? AND status IN ('PENDING','RUNNING')")
        args: list[Any] = [self._clock(), reason, _tail(log_tail), submission_id]
        if worker_id is not None:
            q, args = q + " AND claimed_by=?", args + [worker_id]
        with self._write() as c:
            return c.execute(q, args).rowcount == 1

    def requeue(self, submission_id: int) -> None:
        """Maintainer action: put a job back in the queue with a fresh attempt count."""
        with self._write() as c:
            c.execute(
                "UPDATE submissions SET status='PENDING', attempts=0, claimed_by=NULL, claimed_at=NULL,"
                " heartbeat_at=NULL, started_at=NULL, finished_at=NULL, failure_reason=NULL WHERE id=?",
                (submission_id,),
            )

    # -- results ------------------------------------------------------------------------------
    def upsert_results(self, results: Iterable[ResultRecord]) -> int:
        """Insert or update results keyed by (method, source, benchmark, split, metric)."""
        now, n = self._clock(), 0
        with self._write() as c:
            for r in results:
                if not r.method:
                    raise ValueError(f"Result {r} needs a method key")
                self._insert_result(c, r, now, upsert=True)
                n += 1
        return n

    def write_verified(self, groups: Iterable[tuple[ResultRecord, Iterable[PerImageScore]]]) -> int:
        """Upsert verified results that belong to no submission (a harness run of a checkpoint or
        of the built-in SAM baselines) with their per-image scores, in one transaction. A re-run
        replaces the per-image scores of the same result key."""
        now, n = self._clock(), 0
        with self._write() as c:
            for r, per_image in groups:
                if not r.method or r.source != "verified":
                    raise ValueError(f"write_verified needs a method key and source='verified', got {r}")
                rid = self._insert_result(c, r, now, upsert=True)
                c.execute("DELETE FROM per_image_scores WHERE result_id=?", (rid,))
                c.executemany(
                    "INSERT INTO per_image_scores (result_id, image_id, metric, value) VALUES (?,?,?,?)",
                    [(rid, str(p.image_id), p.metric, float(p.value)) for p in per_image],
                )
                n += 1
        return n

    def per_image_frame_for_method(self, method: str, source: str = "verified") -> pd.DataFrame:
        """Per-image scores of one method key (e.g. ``builtin/sam_tiny/sam_box``)."""
        with self._conn() as c:
            rows = c.execute(
                "SELECT r.benchmark, r.split, p.image_id, p.metric, p.value FROM per_image_scores p"
                " JOIN results r ON r.id=p.result_id WHERE r.method=? AND r.source=? ORDER BY p.rowid",
                (method, source),
            ).fetchall()
        return pd.DataFrame([dict(r) for r in rows], columns=["benchmark", "split", "image_id", "metric", "value"])

    def results_frame(self, source: str | None = None) -> pd.DataFrame:
        """All results as a long frame, one row per (method, source, benchmark, split, metric)."""
        q = f"SELECT {', '.join(_RESULT_COLS)} FROM results"
        args: list[Any] = []
        if source is not None:
            q, args = q + " WHERE source=?", [source]
        with self._conn() as c:
            rows = [dict(r) for r in c.execute(q + " ORDER BY id", args).fetchall()]
        for r in rows:
            r["protocol"], r["extra"] = json.loads(r["protocol"]), json.loads(r["extra"])
        df = pd.DataFrame(rows, columns=list(_RESULT_COLS))
        for col in ("value", "ci_low", "ci_high", "params_m", "gmacs"):
            df[col] = pd.to_numeric(df[col]).astype("float64")
        for col in ("submission_id", "n"):
            df[col] = pd.to_numeric(df[col]).astype("Int64")
        return df

    def per_image_frame(self, submission_id: int) -> pd.DataFrame:
        with self._conn() as c:
            rows = c.execute(
                "SELECT r.method, r.benchmark, r.split, p.image_id, p.metric, p.value FROM per_image_scores p"
                " JOIN results r ON r.id=p.result_id WHERE r.submission_id=? ORDER BY p.rowid",
                (submission_id,),
            ).fetchall()
        return pd.DataFrame([dict(r) for r in rows],
                            columns=["method", "benchmark", "split", "image_id", "metric", "value"])

    # -- helpers --------------------------------------------------------------------------------
    def _get(self, c: sqlite3.Connection, submission_id: int) -> Submission:
        row = c.execute("SELECT * FROM submissions WHERE id=?", (submission_id,)).fetchone()
        if row is None:
            raise KeyError(f"No submission with id {submission_id}")
        return _row_to_submission(row)

    @staticmethod
    def _find_sha(c: sqlite3.Connection, sha: str) -> Submission | None:
        row = c.execute(
            "SELECT * FROM submissions WHERE weights_sha256=? AND status!='FAILED'"
            " ORDER BY created_at DESC, id DESC LIMIT 1", (sha,)
        ).fetchone()
        return _row_to_submission(row) if row else None

    @staticmethod
    def _count_recent(c: sqlite3.Connection, submitter: str, window_s: float, now: float) -> int:
        return int(c.execute(
            "SELECT COUNT(*) FROM submissions WHERE submitter=? AND created_at>?", (submitter, now - window_s)
        ).fetchone()[0])

    @staticmethod
    def _insert_result(c: sqlite3.Connection, r: ResultRecord, now: float, upsert: bool) -> int:
        if r.source not in SOURCES:
            raise ValueError(f"Result source must be one of {SOURCES}, got {r.source!r}")
        vals = [getattr(r, k) for k in _RESULT_COLS]
        vals[_RESULT_COLS.index("protocol")] = json.dumps(r.protocol, sort_keys=True)
        vals[_RESULT_COLS.index("extra")] = json.dumps(r.extra, sort_keys=True)
        vals[_RESULT_COLS.index("value")] = float(r.value)
        cols = ", ".join(_RESULT_COLS)
        q = f"INSERT INTO results ({cols}, created_at) VALUES ({', '.join('?' * len(_RESULT_COLS))}, ?)"
        if upsert:
            sets = ", ".join(f"{k}=excluded.{k}" for k in _RESULT_COLS)
            q += f" ON CONFLICT(method, source, benchmark, split, metric) DO UPDATE SET {sets}"
        c.execute(q, vals + [now])
        return int(c.execute(
            "SELECT id FROM results WHERE method=? AND source=? AND benchmark=? AND split=? AND metric=?",
            (r.method, r.source, r.benchmark, r.split, r.metric),
        ).fetchone()[0])


def _tail(text: str | None) -> str | None:
    return None if text is None else text[-LOG_TAIL_CHARS:]
