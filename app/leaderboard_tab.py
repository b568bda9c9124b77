"""Tab 2 — Leaderboard: the paper's tables and verified runs from the results store, with search,
a reported/verified filter, plots, CSV downloads, and refresh without restarting the app."""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from leaderboard import display
from leaderboard.benchmarks import (
    BENCHMARKS,
    TABLE1_BENCHMARKS,
    TABLE2_BENCHMARKS,
    TABLE3_BENCHMARKS,
    benchmark_display,
    metric_display,
)
from leaderboard.store import ResultsStore

SOURCES = ("all", "reported", "verified")
TABLES = (
    ("table1", "Table 1 — MoNuSeg & GlaS (Dice / IoU)"),
    ("table2", "Table 2 — polyps: Kvasir, ClinicDB, ColonDB, ETIS (Dice / IoU)"),
    ("table3", "Table 3 — SUN-SEG video polyps (VPS metrics)"),
)


def filter_results(df: pd.DataFrame, query: str = "", source: str = "all") -> pd.DataFrame:
    """Rows whose method name (or key) contains every word of ``query``; one source or all."""
    d = df
    if source in ("reported", "verified"):
        d = d[d["source"] == source]
    for word in (query or "").lower().split():
        hit = d["method_display"].str.lower().str.contains(word, regex=False) | \
            d["method"].str.lower().str.contains(word, regex=False)
        d = d[hit]
    return d


def build_tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "table1": display.image_table(df, TABLE1_BENCHMARKS),
        "table2": display.image_table(df, TABLE2_BENCHMARKS),
        "table3": display.video_table(df),
    }


def for_display(table: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """Round numbers and blank out missing cells ('-' in the paper) for the browser."""
    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = [None if (v is None or math.isnan(v)) else round(float(v), decimals) for v in out[col]]
            out[col] = out[col].astype(object)
    return out


def bench_metrics(bench: str) -> list[tuple[str, str]]:
    info = BENCHMARKS.get(bench)
    metrics = info.metrics if info else ("dice", "iou")
    return [(metric_display(m), m) for m in metrics]


class LeaderboardView:
    def __init__(self, store: ResultsStore, out_dir: str | Path) -> None:
        self.store = store
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def snapshot(self, query: str = "", source: str = "all", bench: str = "kvasir", metric: str = "dice"):
        df = self.store.results_frame()
        d = filter_results(df, query, source)
        tables = build_tables(d)
        csvs = []
        for key, table in tables.items():
            text = display.to_csv(table)
            # Content-addressed folder: sessions with different filters never overwrite each other.
            folder = self.out_dir / hashlib.sha256(text.encode()).hexdigest()[:16]
            path = folder / f"autosam_leaderboard_{key}.csv"
            if not path.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            csvs.append(str(path))
        if metric not in dict((m, m) for _, m in bench_metrics(bench)):
            metric = bench_metrics(bench)[0][1]
        bars = display.benchmark_bars(d, bench, metric)
        bars.update_layout(height=420, margin=dict(l=40, r=20, t=50, b=120))
        scatter = display.cost_scatter(d, metric, bench)
        scatter.update_layout(height=420)
        n_methods = d[["method", "source"]].drop_duplicates().shape[0]
        n_verified = int(df.loc[df["source"] == "verified", "method"].nunique())
        note = (f"{n_methods} method rows shown · {n_verified} verified method(s) in the store · "
                f"updated {time.strftime('%H:%M:%S')} (auto-refresh; no restart needed)")
        return tables, csvs, bars, scatter, note


def build_leaderboard_tab(view: LeaderboardView, refresh_s: float = 60.0):
    """Build the tab; returns (refresh fn, its inputs, its outputs) for ``demo.load``."""
    gr.Markdown("Numbers are **reported** (copied from the AutoSAM paper, unverified) or **verified** "
                "(recomputed here from submitted weights, with a 95% bootstrap CI). Scores are fractions "
                "in [0, 1]; empty cells were not reported.", elem_id="leaderboard-intro")
    with gr.Row():
        query = gr.Textbox(label="Search methods", placeholder="e.g. AutoSAM, U-Net, SAM", scale=3,
                           elem_id="lb-search")
        source = gr.Radio(list(SOURCES), value="all", label="Source", scale=2, elem_id="lb-source")
        refresh = gr.Button("Refresh", scale=1, elem_id="lb-refresh")
    note = gr.Markdown(elem_id="lb-note")
    frames, downloads = {}, {}
    for key, title in TABLES:
        gr.Markdown(f"### {title}")
        frames[key] = gr.Dataframe(interactive=False, wrap=True, pinned_columns=1, max_height=520,
                                   elem_id=f"lb-{key}", show_label=False)
        downloads[key] = gr.DownloadButton(f"Download {key.replace('table', 'Table ')} (CSV)", size="sm",
                                           elem_id=f"lb-{key}-csv")
    gr.Markdown("### Plots")
    with gr.Row():
        all_benches = TABLE1_BENCHMARKS + TABLE2_BENCHMARKS + TABLE3_BENCHMARKS
        bench = gr.Dropdown([(benchmark_display(b), b) for b in all_benches], value="kvasir", label="Benchmark",
                            elem_id="lb-bench")
        metric = gr.Dropdown(bench_metrics("kvasir"), value="dice", label="Metric", elem_id="lb-metric")
    with gr.Row():
        bars = gr.Plot(label="Score per method (95% CI where verified)", elem_id="lb-bars")
        scatter = gr.Plot(label="Score vs cost of g", elem_id="lb-scatter")

    def refresh_fn(q, src, b, m):
        tables, csvs, fig_bars, fig_scatter, text = view.snapshot(q, src, b, m)
        return (text, *[for_display(tables[k]) for k, _ in TABLES],
                *csvs, fig_bars, fig_scatter)

    def on_bench(b):
        choices = bench_metrics(b)
        return gr.Dropdown(choices=choices, value=choices[0][1])

    inputs = [query, source, bench, metric]
    outputs = [note, *frames.values(), *downloads.values(), bars, scatter]
    refresh.click(refresh_fn, inputs, outputs, api_name="leaderboard")
    query.submit(refresh_fn, inputs, outputs, api_visibility="private")
    source.change(refresh_fn, inputs, outputs, api_visibility="private")
    bench.change(on_bench, bench, metric, api_visibility="private").then(
        refresh_fn, inputs, outputs, api_visibility="private")
    metric.change(refresh_fn, inputs, outputs, api_visibility="private")
    timer = gr.Timer(refresh_s, active=refresh_s > 0)
    timer.tick(refresh_fn, inputs, outputs, api_visibility="private", show_progress="hidden")
    return refresh_fn, inputs, outputs
