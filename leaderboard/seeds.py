"""The numbers reported in the AutoSAM paper (Tables 1-3), loaded into the store as 'reported'.

The transcription lives in ``seeds/paper_tables.json`` in the paper's own units so it can be
checked against the paper by eye; conversion to fractions happens here, in one place.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from .benchmarks import BENCHMARKS
from .records import ResultRecord
from .store import ResultsStore

PAPER_METHOD_PREFIX = "paper/"
_SCALE = {"percent": 0.01, "fraction": 1.0}


@lru_cache(maxsize=1)
def load_paper_tables() -> dict[str, Any]:
    text = resources.files("leaderboard").joinpath("seeds/paper_tables.json").read_text("utf-8")
    return json.loads(text)


def paper_results() -> list[ResultRecord]:
    """One ResultRecord per non-empty cell of Tables 1-3, values as fractions in [0, 1]."""
    data = load_paper_tables()
    methods, paper = data["methods"], data["paper"]
    out: list[ResultRecord] = []
    for table in data["tables"]:
        scale = _SCALE[table["unit"]]
        for row in table["rows"]:
            meta = methods[row["method"]]
            for (bench, metric), raw in zip(table["columns"], row["values"], strict=True):
                if raw is None:  # '-' in the paper: not reported, so absent here
                    continue
                out.append(ResultRecord(
                    benchmark=bench,
                    split=BENCHMARKS[bench].split,
                    metric=metric,
                    # round() removes float noise from the unit conversion (79.43 * 0.01).
                    value=round(raw * scale, 6),
                    method=PAPER_METHOD_PREFIX + row["method"],
                    method_display=meta["display"],
                    source="reported",
                    method_type=meta["type"],
                    params_m=meta.get("g_params_m"),
                    gmacs=meta.get("g_gmacs"),
                    protocol={"origin": f"AutoSAM paper, Table {table['table']}", "arxiv": paper["arxiv"]},
                    extra={"table": table["table"], "label": row["label"], "raw": raw,
                           "unit": table["unit"], **({"note": meta["note"]} if "note" in meta else {})},
                ))
    return out


def seed_paper_results(store: ResultsStore) -> int:
    """Insert or refresh the paper's numbers; idempotent (upsert on the result key)."""
    return store.upsert_results(paper_results())


def shipped_result_files() -> list:
    """Harness JSON summaries shipped with the default model (``autosam/assets/*.eval.json``)."""
    try:
        assets = resources.files("autosam").joinpath("assets")
        return sorted((p for p in assets.iterdir() if p.name.endswith(".eval.json")), key=lambda p: p.name)
    except (FileNotFoundError, NotADirectoryError, ModuleNotFoundError):
        return []


def seed_verified_summary(store: ResultsStore, summary: dict[str, Any]) -> int:
    """Load a ``python -m leaderboard.evaluate --json`` summary into the store as 'verified' rows
    (with CIs and per-image scores): the exact numbers the harness produced, not re-typed ones."""
    from .evaluate import write_groups
    from .harness import MethodResult

    results = []
    for bench in summary.get("benchmarks", {}).values():
        for d in bench.get("methods", {}).values() if bench.get("status") == "ok" else ():
            d = dict(d)
            d["ci"] = {k: tuple(v) for k, v in d.get("ci", {}).items()}
            results.append(MethodResult(**d))
    return store.write_verified(write_groups(results))


def seed_store(store: ResultsStore) -> int:
    """Everything a fresh leaderboard shows: the paper's rows and the shipped model's verified rows."""
    n = seed_paper_results(store)
    for f in shipped_result_files():
        n += seed_verified_summary(store, json.loads(f.read_text("utf-8")))
    return n
