"""Plain records kept by the leaderboard: submissions, results and per-image scores.

JSON form follows the Hugging Face leaderboard convention: one flat record per submission with a
``status`` field (plus an ISO ``submitted_time``), so a record can be mirrored to a Hub dataset.
Reading accepts times as epoch seconds or ISO-8601 strings.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

STATUSES = ("PENDING", "RUNNING", "FINISHED", "FAILED")
SOURCES = ("reported", "verified")
_TIME_FIELDS = ("created_at", "claimed_at", "heartbeat_at", "started_at", "finished_at")


def iso_time(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, tz=timezone.utc).isoformat()


def parse_time(v: Any) -> float | None:
    if v is None or v == "":
        return None
    if isinstance(v, (int, float)):
        return float(v)
    dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    if dt.tzinfo is None:  # naive times in records are UTC by convention
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


@dataclass
class Submission:
    id: int
    uid: str
    submitter: str
    display_name: str
    created_at: float
    weights_sha256: str
    config: dict[str, Any]
    backend: str
    status: str = "PENDING"
    attempts: int = 0
    claimed_by: str | None = None
    claimed_at: float | None = None
    heartbeat_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    failure_reason: str | None = None
    log_tail: str | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    checkpoint_path: str | None = None

    def to_record(self) -> dict[str, Any]:
        """Flat JSON-able dict. Times stay epoch seconds (exact round trip); ``submitted_time``
        adds the ISO-8601 string HF leaderboards show."""
        d = asdict(self)
        d["submitted_time"] = iso_time(self.created_at)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_record(), indent=2, sort_keys=True)

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> "Submission":
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}  # tolerate extra keys from other tools
        for k in _TIME_FIELDS:
            if k in d:
                d[k] = parse_time(d[k])
        if d.get("status", "PENDING") not in STATUSES:
            raise ValueError(f"Unknown submission status {d.get('status')!r}; expected one of {STATUSES}")
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> "Submission":
        return cls.from_record(json.loads(text))


@dataclass
class ResultRecord:
    """One aggregate number: (method, source, benchmark, split, metric) -> value [+ CI]."""

    benchmark: str
    split: str
    metric: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    # backend name + weights sha256, input size, threshold, dataset fingerprint, code version,
    # time, hardware: everything needed to tell whether two numbers are comparable.
    protocol: dict[str, Any] = field(default_factory=dict)
    method: str = ""  # stable key: "paper/<slug>" or "submission/<id>" (filled by the store)
    method_display: str = ""
    source: str = "verified"
    submission_id: int | None = None
    method_type: str = "image-based"
    params_m: float | None = None  # parameters of g, millions
    gmacs: float | None = None  # GMACs of g
    extra: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> "ResultRecord":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class PerImageScore:
    """A per-image (or per-clip) score; linked to the result with the same benchmark/split/metric."""

    benchmark: str
    split: str
    image_id: str
    metric: str
    value: float
    method: str = ""  # method variant within a submission ("" = its main method, autosam)
