"""The paper seeds equal Tables 1-3 of the AutoSAM paper cell for cell.

The expected values below were typed again from the paper (arXiv 2306.06370), independently of
leaderboard/seeds/paper_tables.json, in the paper's own units.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from leaderboard.benchmarks import BENCHMARKS
from leaderboard.seeds import paper_results, seed_paper_results
from leaderboard.store import ResultsStore

# Table 1 (percent): MoNuSeg Dice, IoU | GlaS Dice, IoU; '-' = not reported.
TABLE1 = """
fcn              28.84 28.71 -     -
unet             79.43 65.99 86.05 75.12
unetpp           79.49 66.04 87.36 79.03
resunet          79.49 66.07 -     -
axial_attention  76.83 62.49 -     -
medt             79.55 66.17 88.85 78.93
fcn_hardnet85    79.52 66.06 89.37 82.09
uctransnet       79.87 66.68 89.84 82.24
3pseg            80.30 67.19 91.19 84.34
medadaptor_sam   80.34 67.33 92.02 85.88
autosam          82.43 70.17 92.82 87.08
autosam_h        76.75 62.32 91.51 84.80
sam_gt_point     29.65 17.52 61.67 46.40
sam_gt_mask      30.24 18.21 58.46 42.81
sam_autosam_mask 58.10 41.26 87.71 79.92
"""
T1_COLS = [("monuseg", "dice"), ("monuseg", "iou"), ("glas", "dice"), ("glas", "iou")]

# Table 2 (percent): Kvasir, Clinic, Colon, ETIS; Dice then IoU each.
TABLE2 = """
unet          81.8 74.6 82.3 75.5 51.2 44.4 39.8 33.5
unetpp        82.1 74.3 79.4 72.9 48.3 41.0 40.1 34.4
sfa           72.3 61.1 70.0 60.7 46.9 34.7 29.7 21.7
mseg          89.7 83.9 90.9 86.4 73.5 66.6 70.0 63.0
dcrnet        88.6 82.5 89.6 84.4 70.4 63.1 55.6 49.6
acsnet        89.8 83.8 88.2 82.6 71.6 64.9 57.8 50.9
pranet        89.8 84.0 89.9 84.9 71.2 64.0 62.8 56.7
eunet         90.8 85.4 90.2 84.6 75.6 68.1 68.7 60.9
sanet         90.4 84.7 91.6 85.9 75.3 67.0 75.0 65.4
polyp_pvt     91.7 86.4 93.7 88.9 80.8 72.7 78.7 70.6
fcn_hardnet85 90.0 84.9 92.0 86.9 77.3 70.2 76.9 69.5
3pseg         91.8 86.5 93.8 89.0 80.9 73.4 79.1 71.4
autosam_h     86.5 79.6 88.5 82.0 80.7 72.4 71.5 63.0
autosam       91.0 87.0 92.8 89.3 83.0 76.7 79.7 74.0
"""
T2_COLS = [(b, m) for b in ("kvasir", "clinicdb", "colondb", "etis") for m in ("dice", "iou")]

# Table 3 (fractions): Easy then Hard; S_alpha, E_phi^mn, F^w_beta, F_beta^mn, Dice, Sen.
TABLE3 = """
unet     image 0.669 0.677 0.459 0.528 0.530 0.420 0.670 0.679 0.457 0.527 0.542 0.429
unetpp   image 0.684 0.687 0.491 0.553 0.559 0.457 0.685 0.697 0.480 0.544 0.554 0.467
acsnet   image 0.782 0.779 0.642 0.688 0.713 0.601 0.783 0.787 0.636 0.684 0.708 0.618
pranet   image 0.733 0.753 0.572 0.632 0.621 0.524 0.717 0.735 0.544 0.607 0.598 0.512
sanet    image 0.720 0.745 0.566 0.634 0.649 0.521 0.706 0.743 0.526 0.580 0.598 0.505
autosam  image 0.815 0.855 0.716 0.774 0.753 0.672 0.822 0.866 0.714 0.764 0.759 0.726
cosnet   video 0.654 0.600 0.431 0.496 0.596 0.359 0.670 0.627 0.443 0.506 0.606 0.380
mat      video 0.770 0.737 0.575 0.641 0.710 0.542 0.785 0.755 0.578 0.645 0.712 0.579
pcsa     video 0.680 0.660 0.451 0.519 0.592 0.398 0.682 0.660 0.442 0.510 0.584 0.415
2_3d     video 0.786 0.777 0.652 0.708 0.722 0.603 0.786 0.775 0.634 0.688 0.706 0.607
amd      video 0.474 0.533 0.133 0.146 0.266 0.222 0.472 0.527 0.128 0.141 0.252 0.213
dcf      video 0.523 0.514 0.270 0.312 0.325 0.340 0.514 0.522 0.263 0.303 0.317 0.364
fsnet    video 0.725 0.695 0.551 0.630 0.702 0.493 0.724 0.694 0.541 0.611 0.699 0.491
pnsnet   video 0.767 0.744 0.616 0.664 0.676 0.574 0.767 0.755 0.609 0.656 0.675 0.579
vps_plus video 0.806 0.798 0.676 0.730 0.756 0.630 0.797 0.793 0.653 0.709 0.737 0.623
"""
T3_COLS = [(b, m) for b in ("sun_seg_easy", "sun_seg_hard")
           for m in ("Smeasure", "meanEm", "wFmeasure", "meanFm", "maxDice", "meanSen")]


def _expected() -> tuple[dict[tuple[str, str, str], float], dict[str, str]]:
    cells: dict[tuple[str, str, str], float] = {}
    kinds: dict[str, str] = {}
    for text, cols, scale, has_kind in ((TABLE1, T1_COLS, 100, False), (TABLE2, T2_COLS, 100, False),
                                        (TABLE3, T3_COLS, 1, True)):
        for line in text.strip().splitlines():
            parts = line.split()
            method, vals = parts[0], parts[1:]
            if has_kind:
                kinds[method] = vals[0] + "-based"
                vals = vals[1:]
            assert len(vals) == len(cols), line
            for (bench, metric), v in zip(cols, vals):
                if v != "-":
                    key = ("paper/" + method, bench, metric)
                    assert key not in cells
                    cells[key] = float(v) / scale
    return cells, kinds


def test_row_counts_match_the_paper() -> None:
    assert len(TABLE1.strip().splitlines()) == 15
    assert len(TABLE2.strip().splitlines()) == 14
    assert len(TABLE3.strip().splitlines()) == 15


def test_seeds_equal_paper_cell_for_cell() -> None:
    expected, kinds = _expected()
    got = {(r.method, r.benchmark, r.metric): r for r in paper_results()}
    assert len(got) == len(paper_results()) == 54 + 112 + 180
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key].value == pytest.approx(value, abs=1e-9), key
    for r in got.values():
        assert 0.0 <= r.value <= 1.0 and r.source == "reported"
        assert r.split == BENCHMARKS[r.benchmark].split
    for method, kind in kinds.items():
        assert got[("paper/" + method, "sun_seg_easy", "maxDice")].method_type == kind
    # '-' cells are absent, not zero
    assert ("paper/fcn", "glas", "dice") not in got and ("paper/resunet", "glas", "iou") not in got


def test_autosam_rows_carry_g_cost() -> None:
    rows = [r for r in paper_results() if r.method == "paper/autosam"]
    assert len(rows) == 4 + 8 + 12
    assert all(r.params_m == 41.56 and r.gmacs == 25.11 for r in rows)
    assert all(r.params_m is None for r in paper_results() if r.method == "paper/unet")


def test_seeding_is_idempotent(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "lb.sqlite")
    assert seed_paper_results(store) == 346
    first = store.results_frame()
    assert seed_paper_results(store) == 346
    second = store.results_frame()
    assert len(first) == len(second) == 346
    assert set(second["source"]) == {"reported"}
    cols = ["method", "benchmark", "split", "metric", "value"]
    assert first[cols].equals(second[cols])
    v = second[(second["method"] == "paper/autosam") & (second["benchmark"] == "monuseg")
               & (second["metric"] == "dice")]["value"]
    assert v.tolist() == [0.8243]


def test_keys_match_data_and_metrics_packages() -> None:
    """Benchmark/metric keys are those of autosam.data and autosam.metrics (no renaming later)."""
    registry = pytest.importorskip("autosam.data.registry")
    video = pytest.importorskip("autosam.metrics.video")
    names = {getattr(b, "name", b) for b in registry.list_benchmarks()}
    assert set(BENCHMARKS) <= names
    for key, info in BENCHMARKS.items():
        assert info.split in registry.get_benchmark(key).splits
        if info.kind == "video":
            assert set(info.metrics) <= set(video.METRIC_NAMES)
