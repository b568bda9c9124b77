"""Evaluation harness: image + video benchmarks, store records, built-ins (torchrun: *_dist.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from leaderboard import evaluate as lb_eval
from leaderboard.harness import HarnessConfig
from leaderboard.store import ResultsStore
from tests.test_leaderboard_harness_env import N_IMAGES, BenchEnv, build_env

BASE_ARGS = ["--benchmarks", "tiny_img", "tiny_vid", "--methods", "autosam", "sam_box",
             "--batch-size", "4", "--no-progress"]
PROTOCOL_KEYS = {"backend", "backend_sha256", "g_input_size", "threshold", "dataset_fingerprint",
                 "dataset_revision", "code_version", "git_commit", "time", "hardware", "checkpoint_sha256"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> BenchEnv:
    e = build_env(tmp_path_factory.mktemp("harness"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOSAM_BENCHMARKS_DIR", str(e.bench_dir))
        yield e


@pytest.fixture(scope="module")
def one_proc(env: BenchEnv) -> dict:
    """One in-process run on both benchmarks, with predictions, JSON and store."""
    out = env.root / "one"
    rc = lb_eval.main(["--checkpoint", str(env.checkpoint), *BASE_ARGS, "--json", str(out / "s.json"),
                       "--db", str(out / "lb.sqlite"), "--save-predictions", str(out / "pred"),
                       "--display-name", "Tiny"])
    assert rc == 0
    return {"json": json.loads((out / "s.json").read_text()), "db": out / "lb.sqlite", "pred": out / "pred"}


def test_image_benchmark_scores_store_and_predictions(env: BenchEnv, one_proc: dict) -> None:
    from autosam.backends import create_backend
    from autosam.checkpoint import load_checkpoint
    from autosam.data import load_benchmark
    from autosam.evaluation import evaluate
    from autosam.predictor import Predictor

    res = one_proc["json"]["benchmarks"]["tiny_img"]["methods"]
    assert set(res) == {"autosam", "sam_box"}
    r = res["autosam"]
    ids = {f"img{i:02d}" for i in range(N_IMAGES)}
    assert r["n"] == N_IMAGES and set(r["per_image"]) == ids
    assert r["metrics"]["dice"] == pytest.approx(np.mean([v["dice"] for v in r["per_image"].values()]))
    lo, hi = r["ci"]["dice"]
    assert lo <= r["metrics"]["dice"] <= hi
    assert PROTOCOL_KEYS <= set(r["protocol"]) and r["protocol"]["backend"] == "sam_tiny"
    assert r["protocol"]["g_input_size"] == 64 and r["protocol"]["world_size"] == 1
    assert r["protocol"]["dataset_fingerprint"].startswith("files-content-sha256:")
    assert res["sam_box"]["per_image"][max(ids)] == {"dice": 1.0, "iou": 1.0}  # empty GT, no prompt

    # Same numbers as calling autosam.evaluation directly (the harness adds no scoring of its own).
    backend = create_backend("sam_tiny")
    pred = Predictor(backend, load_checkpoint(env.checkpoint))
    direct = evaluate(pred, load_benchmark("tiny_img"), ["autosam"], batch_size=4, progress=False)
    assert {x.id: x.dice for x in direct.rows} == {k: v["dice"] for k, v in r["per_image"].items()}

    for mode in ("autosam", "sam_box"):
        assert len(list((one_proc["pred"] / "tiny_img" / mode).glob("img*.png"))) == N_IMAGES

    store = ResultsStore(one_proc["db"])
    df = store.results_frame(source="verified")
    img = df[(df.benchmark == "tiny_img")]
    assert set(img.metric) == {"dice", "iou"} and len(img) == 4
    row = img[(img.metric == "dice") & img.method.str.endswith("/autosam")].iloc[0]
    assert row.method_display == "Tiny" and row.value == pytest.approx(r["metrics"]["dice"])
    assert row.ci_low == pytest.approx(lo) and row.n == N_IMAGES and PROTOCOL_KEYS <= set(row.protocol)
    box = img[img.method == "builtin/sam_tiny/sam_box"]
    assert len(box) == 2 and box.iloc[0].extra["note"] == "uses ground truth"
    per = store.per_image_frame_for_method(row.method)
    assert len(per[per.benchmark == "tiny_img"]) == 2 * N_IMAGES  # (dice, iou) per image


def test_video_benchmark_vps_layout_and_metrics(env: BenchEnv, one_proc: dict) -> None:
    from autosam.metrics import evaluate_dataset

    r = one_proc["json"]["benchmarks"]["tiny_vid"]["methods"]["autosam"]
    assert {"Smeasure", "meanEm", "wFmeasure", "meanFm", "maxDice", "meanSen"} <= set(r["metrics"])
    assert r["n"] == 2 and set(r["per_image"]) == {"case1", "case2"}  # per-case rows
    assert r["extra"]["n_frames"] == 4  # 2 cases x (4 frames - first - last)
    pred_root = one_proc["pred"] / "tiny_vid" / "autosam"
    assert sorted(p.relative_to(pred_root).as_posix() for p in pred_root.rglob("*.png"))[:2] == [
        "case1/case1_frame_0001.png", "case1/case1_frame_0002.png"]
    # The saved PNGs scored by the VPS evaluator directly give the same numbers.
    direct = evaluate_dataset(env.video_dir, pred_root, progress=False)
    for k, v in direct.scores.items():
        assert r["metrics"][k] == v
    df = ResultsStore(one_proc["db"]).results_frame()
    assert set(df[df.benchmark == "tiny_vid"].metric) >= {"Smeasure", "maxDice", "meanSen"}


def test_all_model_methods_and_builtin(env: BenchEnv, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    assert lb_eval.main(["--checkpoint", str(env.checkpoint), "--benchmarks", "tiny_img", "--limit", "1",
                         "--methods", "h", "autosam_mask", "sam_point", "sam_mask", "--no-progress",
                         "--json", str(out)]) == 0
    res = json.loads(out.read_text())["benchmarks"]["tiny_img"]["methods"]
    assert set(res) == {"h", "autosam_mask", "sam_point", "sam_mask"}
    assert all(m["n"] == 1 and 0 <= m["metrics"]["dice"] <= 1 for m in res.values())
    assert res["h"]["method_display"].endswith("(h)")

    assert lb_eval.main(["--builtin", "--backend", "sam_tiny", "--benchmarks", "tiny_img", "tiny_missing",
                         "--limit", "1", "--no-progress", "--json", str(out), "--db", str(tmp_path / "b.sqlite")]) == 0
    d = json.loads(out.read_text())["benchmarks"]
    assert set(d["tiny_img"]["methods"]) == {"sam_point", "sam_box", "sam_mask"}
    assert d["tiny_img"]["methods"]["sam_box"]["method_key"] == "builtin/sam_tiny/sam_box"
    assert d["tiny_img"]["methods"]["sam_box"]["protocol"]["checkpoint_sha256"] is None
    assert d["tiny_missing"]["status"] == "skipped" and "does not exist" in d["tiny_missing"]["reason"]


def test_errors_are_clear(env: BenchEnv) -> None:
    with pytest.raises(ValueError, match="need --checkpoint"):
        HarnessConfig(backend="sam_tiny", methods=("autosam",))
    with pytest.raises(ValueError, match="Unknown method"):
        HarnessConfig(backend="sam_tiny", methods=("nope",))
    assert lb_eval.main(["--benchmarks", "tiny_img"]) == 2  # neither --checkpoint nor --builtin
    # Nothing available at all: exit code 1.
    assert lb_eval.main(["--builtin", "--backend", "sam_tiny", "--benchmarks", "tiny_missing", "--no-progress"]) == 1


def test_shipped_summary_seeds_the_same_verified_rows(env: BenchEnv, one_proc: dict, tmp_path: Path) -> None:
    """A harness JSON shipped with a model reproduces the store rows of the run that wrote it."""
    from leaderboard.seeds import seed_verified_summary

    store = ResultsStore(tmp_path / "seeded.sqlite")
    n = seed_verified_summary(store, one_proc["json"])
    direct = ResultsStore(one_proc["db"]).results_frame(source="verified")
    seeded = store.results_frame(source="verified")
    assert n == len(direct) == len(seeded)
    key = ["method", "benchmark", "metric"]
    a = direct.sort_values(key).reset_index(drop=True)
    b = seeded.sort_values(key).reset_index(drop=True)
    assert list(a.method) == list(b.method)
    np.testing.assert_allclose(a.value.astype(float), b.value.astype(float))
    m = a.method.iloc[0]
    assert len(store.per_image_frame_for_method(m)) == len(ResultsStore(one_proc["db"]).per_image_frame_for_method(m))
    assert seed_verified_summary(store, one_proc["json"]) == n  # idempotent
    assert len(store.results_frame(source="verified")) == n
