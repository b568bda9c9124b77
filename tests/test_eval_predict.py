"""evaluate() for every Table 1 mode, GT prompts, and the `autosam eval` / `autosam predict` commands."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_tiny_model, synthetic_pair


def test_gt_point_hand_checked():
    from autosam.evaluation import gt_point

    m = np.zeros((12, 14), bool)
    m[2:9, 3:10] = True  # 7×7 square: centre (x=6, y=5) is the only pixel 4 steps from the outside
    assert gt_point(m) == (6, 5)
    full = np.ones((5, 5), bool)  # the image border counts as background
    assert gt_point(full) == (2, 2)
    ell = np.zeros((10, 10), bool)
    ell[1:9, 1:4] = True
    ell[6:9, 1:9] = True  # an L: the point must lie on the mask
    x, y = gt_point(ell)
    assert ell[y, x]
    assert gt_point(np.zeros((4, 4), bool)) is None


def test_gt_box_hand_checked():
    from autosam.evaluation import gt_box

    m = np.zeros((10, 12), bool)
    m[2:4, 3:5] = True
    m[7, 9] = True  # two components: one box around both, inclusive indices
    assert gt_box(m) == (3, 2, 9, 7)
    assert gt_box(np.zeros((3, 3), bool)) is None


def write_folder(root: Path, sizes=((40, 56), (48, 40), (36, 36)), empty_last: bool = True) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    for i, (h, w) in enumerate(sizes):
        img, m = synthetic_pair(h, w, seed=i)
        if empty_last and i == len(sizes) - 1:
            m[:] = False
        Image.fromarray(img).save(root / "images" / f"im{i}.png")
        Image.fromarray(m.astype(np.uint8) * 255).save(root / "masks" / f"im{i}.png")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("evaldata"))


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, tiny_backend) -> Path:
    from autosam.checkpoint import save_checkpoint

    tm = make_tiny_model(tiny_backend)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors", tm.config, tm.g, tm.h)


def test_evaluate_all_modes(tiny_backend, folder, tmp_path):
    from autosam.data import open_dataset
    from autosam.evaluation import evaluate
    from autosam.predictor import MODES, Predictor

    ds = open_dataset(str(folder))
    pred = Predictor(tiny_backend, make_tiny_model(tiny_backend))
    res = evaluate(pred, ds, list(MODES), batch_size=2, save_dir=tmp_path / "pred", progress=False)
    assert len(res.rows) == 3 * len(MODES) and res.n_images == 3 and not res.skipped
    d = res.to_dict()
    for m in MODES:
        s = d["modes"][m]
        assert s["n"] == 3 and 0 <= s["dice"] <= 1 and 0 <= s["iou"] <= s["dice"] + 1e-9
        assert s["dice_ci"][0] <= s["dice"] <= s["dice_ci"][1]
    # Empty GT: no prompt is possible -> empty prediction -> both empty -> 1.
    for m in ("sam_points", "sam_box", "sam_mask_prompt"):
        row = next(r for r in res.rows if r.id == "im2" and r.mode == m)
        assert row.dice == 1.0 and row.iou == 1.0 and row.latency_s == 0.0
    saved = Image.open(tmp_path / "pred" / "autosam" / "im1.png")
    assert saved.size == (40, 48) and saved.mode == "L"
    assert len(list((tmp_path / "pred").glob("*/*.png"))) == 3 * len(MODES)
    # Batched (autosam) and one-by-one prediction agree.
    single = pred.predict(ds.load(1)["image"], "autosam").prob
    batched = Predictor(tiny_backend, make_tiny_model(tiny_backend)).predict_batch(
        [ds.load(i)["image"] for i in range(3)], "autosam")[1].prob
    np.testing.assert_allclose(single, batched, atol=1e-5)


def test_cached_predictor_matches_predictor(tiny_backend, folder, tmp_path):
    from autosam.data import open_dataset
    from autosam.evaluation import CachedPredictor, evaluate
    from autosam.predictor import Predictor
    from autosam.training.embedding_cache import EmbeddingCache

    ds = open_dataset(str(folder))
    model = make_tiny_model(tiny_backend)
    plain = evaluate(Predictor(tiny_backend, model), ds, ["autosam", "h"], batch_size=3, progress=False, ci=False)
    cache = EmbeddingCache(tmp_path / "c", tiny_backend, dtype=torch.float32)
    for _ in range(2):  # fill, then read back
        cached = evaluate(CachedPredictor(tiny_backend, model, embedding_cache=cache), ds, ["autosam", "h"],
                          batch_size=3, progress=False, ci=False)
        assert [(r.dice, r.iou) for r in cached.rows] == [(r.dice, r.iou) for r in plain.rows]
    assert cache.hits == 3 and cache.misses == 3


def test_cli_eval_json_interface(folder, ckpt, tmp_path, capsys):
    from autosam.cli.main import main

    out, per = tmp_path / "res.json", tmp_path / "per.csv"
    rc = main(["eval", "--checkpoint", str(ckpt), "--data", str(folder), "--json", str(out), "--csv", str(per),
               "--modes", "autosam", "h", "sam_box", "--batch-size", "2", "--no-progress"])
    assert rc == 0
    res = json.loads(out.read_text())
    assert set(res["modes"]) == {"autosam", "h", "sam_box"}
    for s in res["modes"].values():
        assert {"dice", "iou", "n"} <= set(s) and s["n"] == 3
    assert res["backend"] == "sam_tiny" and res["n_images"] == 3
    with open(per) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 9 and set(rows[0]) == {"id", "mode", "dice", "iou", "latency_s"}
    assert "autosam" in capsys.readouterr().out
    # Default modes: autosam, plus h because this checkpoint has it.
    rc = main(["eval", "--checkpoint", str(ckpt), "--data", str(folder), "--json", str(out), "--no-progress"])
    assert rc == 0 and set(json.loads(out.read_text())["modes"]) == {"autosam", "h"}


def test_cli_missing_default_checkpoint(folder, tmp_path, monkeypatch, capsys):
    import autosam.cli.evaluate as ev
    from autosam.cli.main import main

    monkeypatch.setattr(ev, "DEFAULT_MODEL_DIR", tmp_path / "no_assets")
    assert main(["eval", "--data", str(folder), "--no-progress"]) == 1
    assert "autosam train" in capsys.readouterr().err
    assert main(["predict", str(folder / "images"), str(tmp_path / "o"), "--no-progress"]) == 1
    assert "autosam train" in capsys.readouterr().err


def test_cli_predict_folder_and_file(folder, ckpt, tmp_path, capsys):
    from autosam.cli.main import main

    src = tmp_path / "in"
    src.mkdir()
    for f in (folder / "images").iterdir():
        (src / f.name).write_bytes(f.read_bytes())
    (src / "broken.png").write_bytes(b"definitely not an image")
    out = tmp_path / "out"
    rc = main(["predict", "--checkpoint", str(ckpt), str(src), str(out), "--overlay", "--batch-size", "2",
               "--no-progress"])
    assert rc == 0
    captured = capsys.readouterr()
    assert "broken.png" in captured.err
    for f in (folder / "images").iterdir():
        m = np.array(Image.open(out / f"{f.stem}.png"))
        assert m.shape == np.array(Image.open(f)).shape[:2] and set(np.unique(m)) <= {0, 255}
        assert Image.open(out / "overlay" / f"{f.stem}.png").size == Image.open(f).size
    assert not (out / "broken.png").exists()
    one = tmp_path / "one"
    assert main(["predict", "--checkpoint", str(ckpt.parent), str(src / "im0.png"), str(one), "--mode", "h",
                 "--no-progress"]) == 0
    assert Image.open(one / "im0.png").size == (56, 40)
