"""Tables shaped like the paper's and plotly figures, from ``ResultsStore.results_frame()``.

Rows are keyed by (method key, source) — not by display name — so two submissions that chose
the same name, or a verified re-run of a paper row, stay separate rows.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from .benchmarks import (
    IMAGE_METRICS, TABLE1_BENCHMARKS, TABLE3_BENCHMARKS, VIDEO_METRICS, benchmark_display, metric_display,
)

CI_MODES = ("column", "inline", "none")
COST_COLUMNS = {"params_m": "Params of g (M)", "gmacs": "GMACs of g"}


def column_name(benchmark: str, metric: str) -> str:
    return f"{benchmark_display(benchmark)} {metric_display(metric)}"


def _fmt(v: float, decimals: int) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{decimals}f}"


def _ci_str(lo: float, hi: float, decimals: int) -> str:
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    return f"[{lo:.{max(decimals - 1, 2)}f}, {hi:.{max(decimals - 1, 2)}f}]"


def _wide_table(
    df: pd.DataFrame,
    benchmarks: Sequence[str],
    metrics: Sequence[str],
    *,
    ci: str,
    sort_by: str | None,
    ascending: bool,
    source: str | None,
    decimals: int,
    with_type: bool,
) -> pd.DataFrame:
    if ci not in CI_MODES:
        raise ValueError(f"ci must be one of {CI_MODES}, got {ci!r}")
    d = df[df["benchmark"].isin(benchmarks) & df["metric"].isin(metrics)]
    if source is not None:
        d = d[d["source"] == source]
    cols = [(b, m) for b in benchmarks for m in metrics]
    names = [column_name(b, m) for b, m in cols]
    rows: list[dict[str, object]] = []
    cis: list[dict[str, str]] = []
    # groupby(sort=False) keeps first-appearance order: the paper's row order for seeds.
    for (_key, src), g in d.groupby(["method", "source"], sort=False):
        row: dict[str, object] = {"Method": g["method_display"].iloc[0], "Source": src}
        if with_type:
            row["Type"] = g["method_type"].iloc[0]
        ci_row: dict[str, str] = {}
        for (b, m), name in zip(cols, names):
            hit = g[(g["benchmark"] == b) & (g["metric"] == m)]
            row[name] = float(hit["value"].iloc[-1]) if len(hit) else math.nan
            ci_row[name] = _ci_str(hit["ci_low"].iloc[-1], hit["ci_high"].iloc[-1], decimals) if len(hit) else ""
        rows.append(row)
        cis.append(ci_row)
    head = ["Method", "Source"] + (["Type"] if with_type else [])
    table = pd.DataFrame(rows, columns=head + names)
    for n in names:
        table[n] = table[n].astype("float64")
    order = list(range(len(table)))
    if sort_by is not None:
        if sort_by not in table.columns:
            raise KeyError(f"Cannot sort by {sort_by!r}; columns are {list(table.columns)}")
        order = list(table.sort_values(sort_by, ascending=ascending, na_position="last", kind="stable").index)
        table = table.loc[order].reset_index(drop=True)
    cis = [cis[i] for i in order]
    if ci == "column":
        # Only benchmarks that actually carry a CI get a CI column (reported rows have none).
        for n in names:
            vals = [c[n] for c in cis]
            if any(vals):
                table.insert(table.columns.get_loc(n) + 1, f"{n} 95% CI", vals)
    elif ci == "inline":
        for n in names:
            table[n] = [
                (f"{_fmt(v, decimals)} {c[n]}".strip() if not math.isnan(v) else "")
                for v, c in zip(table[n], cis)
            ]
    return table


def image_table(
    df: pd.DataFrame,
    benchmarks: Sequence[str] = TABLE1_BENCHMARKS,
    *,
    metrics: Sequence[str] = IMAGE_METRICS,
    ci: str = "column",
    sort_by: str | None = None,
    ascending: bool = False,
    source: str | None = None,
    decimals: int = 3,
) -> pd.DataFrame:
    """Tables 1-2: one row per (method, source), columns "<benchmark> Dice", "<benchmark> IoU".

    ``ci="column"`` adds "<col> 95% CI" text columns next to the numbers (numbers stay sortable);
    ``ci="inline"`` turns cells into "0.910 [0.89, 0.93]" strings (for display/export only).
    """
    return _wide_table(df, benchmarks, metrics, ci=ci, sort_by=sort_by, ascending=ascending,
                       source=source, decimals=decimals, with_type=False)


def video_table(
    df: pd.DataFrame,
    *,
    ci: str = "column",
    sort_by: str | None = None,
    ascending: bool = False,
    source: str | None = None,
    decimals: int = 3,
) -> pd.DataFrame:
    """Table 3: SUN-SEG Easy/Hard, six metrics each, with an image-/video-based "Type" column."""
    return _wide_table(df, TABLE3_BENCHMARKS, VIDEO_METRICS, ci=ci, sort_by=sort_by, ascending=ascending,
                       source=source, decimals=decimals, with_type=True)


def to_csv(table: pd.DataFrame, path: str | Path | None = None, *, float_format: str = "%.4f") -> str:
    text = table.to_csv(index=False, float_format=float_format)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def to_json(table: pd.DataFrame, path: str | Path | None = None) -> str:
    text = table.to_json(orient="records", indent=2, force_ascii=False)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _select(df: pd.DataFrame, benchmark: str, metric: str, source: str | None) -> pd.DataFrame:
    d = df[(df["benchmark"] == benchmark) & (df["metric"] == metric)]
    if source is not None:
        d = d[d["source"] == source]
    return d


def benchmark_bars(df: pd.DataFrame, benchmark: str, metric: str = "dice", *, source: str | None = None) -> go.Figure:
    """Bar per method, best first, coloured by source, with 95% CI error bars where known."""
    d = _select(df, benchmark, metric, source).sort_values("value", ascending=False, kind="stable")
    fig = go.Figure()
    for src, g in d.groupby("source", sort=False):
        has_ci = g["ci_low"].notna() & g["ci_high"].notna()
        plus = (g["ci_high"] - g["value"]).where(has_ci, 0.0).clip(lower=0)
        minus = (g["value"] - g["ci_low"]).where(has_ci, 0.0).clip(lower=0)
        fig.add_trace(go.Bar(
            x=g["method_display"].tolist(), y=g["value"].tolist(), name=str(src),
            error_y=dict(type="data", array=plus.tolist(), arrayminus=minus.tolist(), visible=bool(has_ci.any())),
            hovertemplate="%{x}: %{y:.3f}<extra>" + str(src) + "</extra>",
        ))
    label = column_name(benchmark, metric)
    fig.update_layout(title=label, yaxis_title=metric_display(metric), xaxis_title="method",
                      barmode="group", xaxis={"categoryorder": "array", "categoryarray": d["method_display"].tolist()})
    return fig


def cost_scatter(
    df: pd.DataFrame, metric: str = "dice", benchmark: str = "kvasir", *, cost: str = "params_m",
    source: str | None = None,
) -> go.Figure:
    """Accuracy vs cost of g (parameters or GMACs); rows with unknown cost are left out."""
    if cost not in COST_COLUMNS:
        raise ValueError(f"cost must be one of {list(COST_COLUMNS)}, got {cost!r}")
    d = _select(df, benchmark, metric, source)
    d = d[d[cost].notna()]
    fig = go.Figure()
    for src, g in d.groupby("source", sort=False):
        fig.add_trace(go.Scatter(
            x=g[cost].tolist(), y=g["value"].tolist(), mode="markers+text", name=str(src),
            text=g["method_display"].tolist(), textposition="top center",
            hovertemplate="%{text}<br>cost %{x}<br>value %{y:.3f}<extra></extra>",
        ))
    fig.update_layout(title=f"{column_name(benchmark, metric)} vs {COST_COLUMNS[cost]}",
                      xaxis_title=COST_COLUMNS[cost], yaxis_title=metric_display(metric))
    return fig
