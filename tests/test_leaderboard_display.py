"""Paper-shaped tables, CSV/JSON export and plotly figures."""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from leaderboard import about, display
from leaderboard.benchmarks import TABLE2_BENCHMARKS
from leaderboard.records import ResultRecord
from leaderboard.seeds import seed_paper_results
from leaderboard.store import ResultsStore


@pytest.fixture(scope="module")
def frame(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    store = ResultsStore(tmp_path_factory.mktemp("lb") / "lb.sqlite")
    seed_paper_results(store)
    sub = store.add_submission("alice", "My g", "f" * 64, {"backend": "lite_medsam"})
    store.claim_next("w")
    store.finish(sub.id, [
        ResultRecord("kvasir", "test", "dice", 0.91, 0.89, 0.93, 100, params_m=0.74, gmacs=1.5),
        ResultRecord("kvasir", "test", "iou", 0.84, 0.82, 0.86, 100, params_m=0.74, gmacs=1.5),
    ])
    return store.results_frame()


def test_table1_shape(frame: pd.DataFrame) -> None:
    t = display.image_table(frame)
    assert list(t.columns) == ["Method", "Source", "MoNuSeg Dice", "MoNuSeg IoU", "GlaS Dice", "GlaS IoU"]
    assert len(t) == 15 and set(t["Source"]) == {"reported"}  # reported rows carry no CI column
    autosam = t[t["Method"] == "AutoSAM (paper)"].iloc[0]
    assert autosam["MoNuSeg Dice"] == pytest.approx(0.8243) and autosam["GlaS IoU"] == pytest.approx(0.8708)
    assert math.isnan(t[t["Method"] == "FCN"].iloc[0]["GlaS Dice"])


def test_table2_with_verified_row_and_ci_column(frame: pd.DataFrame) -> None:
    t = display.image_table(frame, TABLE2_BENCHMARKS)
    assert len(t) == 15 and t["Source"].tolist().count("verified") == 1
    assert "Kvasir Dice 95% CI" in t.columns and "ETIS Dice 95% CI" not in t.columns
    cols = list(t.columns)
    assert cols.index("Kvasir Dice 95% CI") == cols.index("Kvasir Dice") + 1
    mine = t[t["Source"] == "verified"].iloc[0]
    assert mine["Method"] == "My g" and mine["Kvasir Dice 95% CI"] == "[0.89, 0.93]"
    assert math.isnan(mine["ColonDB Dice"])
    assert display.image_table(frame, TABLE2_BENCHMARKS, source="reported").shape == (14, 2 + 8)


def test_inline_ci_and_sorting(frame: pd.DataFrame) -> None:
    t = display.image_table(frame, ("kvasir",), ci="inline", sort_by="Kvasir IoU")
    assert t.iloc[0]["Method"] == "AutoSAM (paper)"  # 0.870, best IoU
    mine = t[t["Source"] == "verified"].iloc[0]
    assert mine["Kvasir Dice"] == "0.910 [0.89, 0.93]"
    s = display.image_table(frame, ("kvasir",), sort_by="Kvasir Dice", ascending=True)
    assert s["Kvasir Dice"].is_monotonic_increasing
    with pytest.raises(KeyError):
        display.image_table(frame, sort_by="nope")
    with pytest.raises(ValueError):
        display.image_table(frame, ci="maybe")


def test_video_table_shape(frame: pd.DataFrame) -> None:
    t = display.video_table(frame)
    assert t.shape == (15, 3 + 12)
    assert t.columns[:3].tolist() == ["Method", "Source", "Type"]
    assert t.columns[3] == "SUN-SEG Easy S_alpha" and t.columns[-1] == "SUN-SEG Hard Sen"
    assert t["Type"].value_counts().to_dict() == {"image-based": 6, "video-based": 9}
    vps = t[t["Method"] == "VPS+"].iloc[0]
    assert vps["SUN-SEG Easy Dice"] == pytest.approx(0.756) and vps["SUN-SEG Hard Sen"] == pytest.approx(0.623)
    best = display.video_table(frame, sort_by="SUN-SEG Hard S_alpha")
    assert best.iloc[0]["Method"] == "AutoSAM (paper)"


def test_csv_and_json_export(frame: pd.DataFrame, tmp_path: Path) -> None:
    t = display.image_table(frame, TABLE2_BENCHMARKS)
    text = display.to_csv(t, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == text
    back = pd.read_csv(io.StringIO(text))
    assert list(back.columns) == list(t.columns) and len(back) == len(t)
    assert back["Kvasir Dice"].iloc[0] == pytest.approx(t["Kvasir Dice"].iloc[0])
    recs = json.loads(display.to_json(t, tmp_path / "t.json"))
    assert len(recs) == len(t) and recs[0]["Method"] == t["Method"].iloc[0]


def test_figures_build(frame: pd.DataFrame) -> None:
    fig = display.benchmark_bars(frame, "kvasir", "dice")
    assert isinstance(fig, go.Figure)
    assert {tr.name for tr in fig.data} == {"reported", "verified"}
    ver = next(tr for tr in fig.data if tr.name == "verified")
    assert ver.error_y.array[0] == pytest.approx(0.02) and ver.error_y.arrayminus[0] == pytest.approx(0.02)
    assert sum(len(tr.x) for tr in fig.data) == 15
    fig.to_json()  # serialisable (what gradio/plotly.js need)
    sc = display.cost_scatter(frame, "dice", "kvasir")
    xs = {x for tr in sc.data for x in tr.x}
    assert xs == {41.56, 0.74}
    sc2 = display.cost_scatter(frame, "dice", "kvasir", cost="gmacs")
    assert {x for tr in sc2.data for x in tr.x} == {25.11, 1.5}
    with pytest.raises(ValueError):
        display.cost_scatter(frame, cost="flops")
    empty = display.benchmark_bars(frame.iloc[0:0], "kvasir", "dice")
    assert len(empty.data) == 0


def test_about_texts() -> None:
    assert "2306.06370" in about.CITATION_BUTTON_TEXT and "Giryes" in about.CITATION_BUTTON_TEXT
    assert "0.5" in about.PROTOCOL_TEXT and "python -m leaderboard.evaluate" in about.REPRODUCE_TEXT
