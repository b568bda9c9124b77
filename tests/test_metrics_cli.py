"""`autosam metrics video|image|compare` end to end on synthetic trees (nested data set names)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from autosam.cli import main as cli_main
from autosam.metrics import METRIC_NAMES, dice_iou

from test_metrics_video import make_video_tree, vps_reference

pytestmark = pytest.mark.filterwarnings("ignore:This class will be removed")


@pytest.fixture(autouse=True)
def only_metrics_command(monkeypatch):
    # Keep these tests independent of the other command modules' imports.
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ["metrics"])


def test_metrics_is_registered_in_main():
    import importlib

    importlib.reload(cli_main)
    assert "metrics" in cli_main.COMMAND_MODULES


def run(*argv: str) -> int:
    return cli_main.main(["metrics", *argv])


def test_video_cli_end_to_end(tmp_path, capsys):
    pred_root, gt_root = make_video_tree(tmp_path, np.random.default_rng(11),
                                         datasets=("TestEasyDataset/Unseen", "TestHardDataset/Seen"))
    out = tmp_path / "res" / "video.json"
    assert run("video", "--pred-root", str(pred_root), "--gt-root", str(gt_root), "--json", str(out),
               "--n-resamples", "200") == 0
    data = json.loads(out.read_text())
    assert sorted(data) == ["TestEasyDataset/Unseen", "TestHardDataset/Seen"]
    for name, res in data.items():
        ref = vps_reference(str(gt_root / name), str(pred_root / name))
        for k in METRIC_NAMES:
            assert isinstance(res[k], float)
            assert res[k] == pytest.approx(ref[k], abs=1e-9)
            assert res["ci"][k][0] <= res["ci"][k][1]
        assert res["n_cases"] == len(res["per_case"]) == 3
        assert set(next(iter(res["per_case"].values()))) >= set(METRIC_NAMES) | {"n_frames"}
    assert "Smeasure" in capsys.readouterr().err  # summary table

    # Parallel workers give the same numbers.
    out2 = tmp_path / "video2.json"
    assert run("video", "--pred-root", str(pred_root), "--gt-root", str(gt_root), "--json", str(out2),
               "--n-resamples", "200", "--workers", "2", "--quiet") == 0
    assert json.loads(out2.read_text()) == data

    # A missing prediction for a kept frame: clear error naming the file; or zeros on request.
    case_dir = next(p for p in (pred_root / "TestHardDataset/Seen").iterdir())
    victim = sorted(case_dir.iterdir())[len(list(case_dir.iterdir())) // 2]
    gt_frames = sorted((gt_root / "TestHardDataset/Seen/GT" / case_dir.name).iterdir())
    victim.unlink()
    assert run("video", "--pred-root", str(pred_root), "--gt-root", str(gt_root), "--json",
               str(tmp_path / "x.json"), "--quiet") == 1
    err = capsys.readouterr().err
    assert "Missing prediction" in err and victim.name in err
    assert len(gt_frames) >= 3
    assert run("video", "--pred-root", str(pred_root), "--gt-root", str(gt_root), "--json",
               str(tmp_path / "z.json"), "--quiet", "--missing-as-zeros", "--dataset", "TestHardDataset/Seen") == 0
    assert list(json.loads((tmp_path / "z.json").read_text())) == ["TestHardDataset/Seen"]


def test_image_cli_and_compare(tmp_path, capsys):
    rng = np.random.default_rng(12)
    gdir, adir, bdir = (tmp_path / n for n in ("gt", "a", "b"))
    for d in (gdir, adir, bdir):
        d.mkdir()
    for i in range(6):
        g = np.zeros((20, 20), np.uint8)
        cv2.circle(g, (10, 10), int(rng.integers(3, 8)), 255, -1)
        cv2.imwrite(str(gdir / f"img{i}.png"), g)
        cv2.imwrite(str(adir / f"img{i}.png"), g)  # perfect
        noisy = np.where(rng.random((20, 20)) > 0.15, g / 255.0, 1 - g / 255.0).astype(np.float32)
        np.save(bdir / f"img{i}.npy", noisy)
    ja, jb = tmp_path / "a.json", tmp_path / "b.json"
    assert run("image", "--pred", str(adir), "--gt", str(gdir), "--json", str(ja), "--n-resamples", "100") == 0
    assert run("image", "--pred", str(bdir), "--gt", str(gdir), "--json", str(jb), "--n-resamples", "100") == 0
    a, b = json.loads(ja.read_text()), json.loads(jb.read_text())
    assert a["n"] == 6 and a["dice"] == 1.0 and a["iou"] == 1.0
    g0 = cv2.imread(str(gdir / "img0.png"), cv2.IMREAD_GRAYSCALE)
    assert b["per_image"]["img0"]["dice"] == dice_iou(np.load(bdir / "img0.npy"), g0)[0]
    assert b["dice_ci"][0] <= b["dice"] <= b["dice_ci"][1]

    out = tmp_path / "cmp.json"
    assert run("compare", "--a", str(ja), "--b", str(jb), "--metric", "dice", "--json", str(out),
               "--n-resamples", "100") == 0
    cmp = json.loads(out.read_text())
    assert cmp["n"] == 6 and cmp["mean_diff"] == pytest.approx(a["dice"] - b["dice"])
    assert cmp["ci"][0] <= cmp["mean_diff"] <= cmp["ci"][1]
    # No shared ids -> error exit with a message.
    lone = tmp_path / "lone.json"
    lone.write_text(json.dumps({"per_image": {"other": {"dice": 0.5, "iou": 0.3}}}))
    assert run("compare", "--a", str(ja), "--b", str(lone)) == 1
    assert "share no ids" in capsys.readouterr().err
