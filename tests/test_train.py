"""Training g and h on synthetic folders with the tiny back-end: loss, files, resume, exact cache."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import synthetic_pair


def write_folder(root: Path, n: int, h: int = 40, w: int = 56, seed0: int = 0, bad: int = 0) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    for i in range(n):
        img, m = synthetic_pair(h, w, seed=seed0 + i)
        Image.fromarray(img).save(root / "images" / f"s{i:02d}.png")
        Image.fromarray(m.astype(np.uint8) * 255).save(root / "masks" / f"s{i:02d}.png")
    for i in range(bad):  # unreadable image with a valid mask
        (root / "images" / f"bad{i}.png").write_bytes(b"not a png")
        Image.fromarray(np.zeros((h, w), np.uint8)).save(root / "masks" / f"bad{i}.png")
    return root


def tiny_cfg(data: Path, out: Path, cache: Path, **kw):
    from autosam.training.config import TrainConfig

    base = dict(train_data=[str(data)], val_fraction=0.0, backend="sam_tiny", backbone="sam_embed", hidden_dim=16,
                input_size=32, epochs=2, batch_size=3, lr=3e-3, cache_dir=str(cache), out_dir=str(out),
                progress=False, seed=0)
    base.update(kw)
    return TrainConfig(**base)


def g_tensors(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


@pytest.fixture(scope="module")
def data5(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("data5"), 5)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """One embedding cache for the tests that do not count cache misses (the encoder runs once per image)."""
    return tmp_path_factory.mktemp("cache")


def test_training_lowers_loss_and_writes_files(tmp_path, data5):
    from autosam.checkpoint import load_checkpoint
    from autosam.training.trainer import train

    cfg = tiny_cfg(data5, tmp_path / "run", tmp_path / "cache", epochs=2, batch_size=2, val_fraction=0.2)
    res = train(cfg, command="autosam train --test")
    losses = [r["train_loss"] for r in res.rows]
    assert losses[-1] < losses[0], losses
    # The first epoch fills the cache (4 train + 1 val image); later epochs never run the encoder.
    assert res.rows[0]["cache_misses"] == 5 and all(r["cache_misses"] == 0 for r in res.rows[1:])
    assert all(r["val_dice"] is not None and 0.0 <= r["val_dice"] <= 1.0 for r in res.rows)
    with open(tmp_path / "run" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert {"train_loss", "val_dice", "val_iou", "seconds", "cache_hits", "cache_misses"} <= set(rows[0])
    for name in ("last", "best"):
        tm = load_checkpoint(tmp_path / "run" / f"{name}.safetensors", backend_sha256=None)
        assert tm.config.backend == "sam_tiny" and tm.config.backend_sha256
        assert tm.config.g.backbone == "sam_embed" and tm.h is None
        assert tm.config.metadata["command"] == "autosam train --test"
        assert tm.config.metadata["data"]["n_train"] == 4 and tm.config.metadata["data"]["n_val"] == 1
    best = json.loads((tmp_path / "run" / "best.json").read_text())["metadata"]
    assert best["best"]["val_dice"] == max(r["val_dice"] for r in res.rows)
    assert json.loads((tmp_path / "run" / "train_config.json").read_text())["epochs"] == 2
    assert not list((tmp_path / "run").glob("*.pt")) and not list((tmp_path / "run").glob("*.pkl"))


def test_resume_after_interruption_equals_uninterrupted(tmp_path, data5, shared_cache):
    from autosam.training.trainer import train

    def cfg(out):
        return tiny_cfg(data5, tmp_path / out, shared_cache, epochs=2, augment="flips", views=2, max_train_samples=3)

    full = train(cfg("full"))

    class Crash(Exception):
        pass

    def crash(epoch, row):
        if epoch == 1:
            raise Crash()

    with pytest.raises(Crash):
        train(cfg("cut"), on_epoch_end=crash)
    with pytest.raises(ValueError, match="resume"):
        train(cfg("cut"))
    resumed = train(cfg("cut"), resume=True)
    a, b = g_tensors(full.last), g_tensors(resumed.last)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    strip = lambda rows: [{k: v for k, v in r.items() if "seconds" not in k and "cache" not in k} for r in rows]  # noqa: E731
    assert strip(full.rows) == strip(resumed.rows)
    # Optimizer state travelled as safetensors + JSON.
    st = json.loads((tmp_path / "cut" / "train_state.json").read_text())
    assert st["epoch"] == 2 and len(st["rows"]) == 2
    with pytest.raises(ValueError, match="Nothing to do"):
        train(cfg("cut"), resume=True)


def test_cache_on_off_equivalence(tmp_path, data5):
    from autosam.training.trainer import train

    kw = dict(epochs=2, max_train_samples=2, batch_size=2)
    off = train(tiny_cfg(data5, tmp_path / "off", tmp_path / "c0", use_cache=False, **kw))
    f32 = train(tiny_cfg(data5, tmp_path / "f32", tmp_path / "c32", cache_dtype="float32", **kw))
    f16 = train(tiny_cfg(data5, tmp_path / "f16", tmp_path / "c16", cache_dtype="float16", **kw))
    a, b, c = g_tensors(off.last), g_tensors(f32.last), g_tensors(f16.last)
    assert all(torch.equal(a[k], b[k]) for k in a)  # float32 cache: exactly the encoder's output
    assert [r["train_loss"] for r in off.rows] == [r["train_loss"] for r in f32.rows]
    assert off.rows[1]["cache_misses"] == 2 and f32.rows[1]["cache_misses"] == 0
    np.testing.assert_allclose([r["train_loss"] for r in f16.rows], [r["train_loss"] for r in off.rows], rtol=1e-3)
    assert max(float((a[k].float() - c[k].float()).abs().max()) for k in a) < 5e-2


def test_bad_samples_are_skipped_by_name(tmp_path, caplog, shared_cache):
    from autosam.training.trainer import train

    data = write_folder(tmp_path / "data", 2, bad=1)
    with caplog.at_level("WARNING", logger="autosam"):
        res = train(tiny_cfg(data, tmp_path / "run", shared_cache, epochs=1, batch_size=3))
    assert res.rows[0]["skipped"] == 1
    assert "bad0" in caplog.text


@pytest.mark.filterwarnings("ignore:hardnet39ds")
def test_train_h_writes_g_and_h(tmp_path, data5, shared_cache):
    from autosam.checkpoint import load_checkpoint
    from autosam.cli.main import main
    from autosam.training.config import TrainHConfig
    from autosam.training.train_h import train_h
    from autosam.training.trainer import train

    # An image-reading g (letterboxed pixels in), then h on top of it.
    g_run = train(tiny_cfg(data5, tmp_path / "g", shared_cache, backbone="hardnet39ds", epochs=1,
                           max_train_samples=2, batch_size=2, val_fraction=0.2))
    cfg = TrainHConfig(g_checkpoint=str(g_run.last), train_data=[str(data5)], val_fraction=0.2, epochs=2,
                       batch_size=2, max_train_samples=2, lr=3e-3, cache_dir=str(shared_cache),
                       out_dir=str(tmp_path / "h"), progress=False)
    res = train_h(cfg)
    assert res.rows[-1]["train_loss"] < res.rows[0]["train_loss"]
    assert res.rows[0]["cache_misses"] == 0  # an image g needs no SAM encoder to train h (val is cached)
    tm = load_checkpoint(res.best)
    assert tm.h is not None and tm.config.has_h and tm.config.g.backbone == "hardnet39ds"
    g0 = load_checkpoint(g_run.last).g.state_dict()
    assert all(torch.equal(g0[k], v) for k, v in tm.g.state_dict().items())  # g stayed frozen
    # The CLI spelling of the same thing, resumed for one more epoch.
    rc = main(["train-h", "--resume", "--out-dir", str(tmp_path / "h"), "--epochs", "3", "--no-progress"])
    assert rc == 0
    assert len(json.loads((tmp_path / "h" / "train_state.json").read_text())["rows"]) == 3


def test_cli_train_and_val_split(tmp_path, data5, shared_cache):
    from autosam.cli.main import main
    from autosam.training.data import open_data, split_by_id

    out = tmp_path / "run"
    rc = main(["train", "--data", str(data5), "--backend", "sam_tiny", "--backbone", "sam_embed", "--hidden-dim", "8",
               "--epochs", "1", "--batch-size", "2", "--val-fraction", "0.2", "--max-train-samples", "2",
               "--cache-dir", str(shared_cache), "--out-dir", str(out), "--no-progress"])
    assert rc == 0 and (out / "best.safetensors").is_file() and (out / "train.log").is_file()
    cfg = json.loads((out / "train_config.json").read_text())
    assert cfg["hidden_dim"] == 8 and cfg["val_fraction"] == 0.2
    # The split is seeded by id: same seed -> same split; every id on exactly one side.
    ds = open_data(str(data5))
    tr, va = split_by_id(ds, 0.4, seed=0)
    assert split_by_id(ds, 0.4, seed=0) == (tr, va) and len(va) == 2 and sorted(tr + va) == list(range(5))
    assert split_by_id(ds, 0.4, seed=1) != (tr, va) or split_by_id(ds, 0.4, seed=2) != (tr, va)
