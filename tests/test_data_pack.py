"""`autosam data pack`: folder -> HF data set on disk (-> Hub), and back with the same pixels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autosam.cli.main import main
from autosam.data import DataSourceError, open_dataset
from autosam.data.pack import pack_folder


def _image_folder(root: Path, n: int = 3) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(root / "images" / f"im{k}.jpg")
        m = np.zeros((12, 16), np.uint8)
        m[2:8, 3: 5 + k] = 1  # 0/1 masks: packed as 0/255 PNG
        Image.fromarray(m).save(root / "masks" / f"im{k}.png")
    return root


def _video_folder(root: Path) -> Path:
    for case, frames in (("case1", ("2", "10", "1")), ("case3", ("5",))):
        (root / "Frame" / case).mkdir(parents=True)
        (root / "GT" / case).mkdir(parents=True)
        for f in frames:
            Image.fromarray(np.full((8, 8, 3), int(f) * 10, np.uint8)).save(root / "Frame" / case / f"{f}.jpg")
            Image.fromarray(np.eye(8, dtype=np.uint8) * 255).save(root / "GT" / case / f"{f}.png")
    return root


def _same(a, b) -> None:
    assert a.ids() == b.ids() and len(a) == len(b)
    for i in range(len(a)):
        x, y = a[i], b[i]
        np.testing.assert_array_equal(x["image"], y["image"])
        np.testing.assert_array_equal(x["mask"], y["mask"])
        assert x.get("case") == y.get("case") and x.get("frame") == y.get("frame")


def test_pack_round_trip_image_folder(tmp_path: Path) -> None:
    src = _image_folder(tmp_path / "kv" / "test")
    res = pack_folder(src, tmp_path / "packed")
    assert (res.split, res.n, res.task, res.bad) == ("test", 3, "image", [])
    packed = open_dataset(f"disk:{tmp_path / 'packed'}")  # one split: picked without naming it
    _same(open_dataset(str(src)), packed)
    import datasets

    feats = datasets.load_from_disk(str(tmp_path / "packed"))["test"].features
    assert isinstance(feats["image"], datasets.Image) and isinstance(feats["mask"], datasets.Image)
    with pytest.raises(DataSourceError, match="not empty"):
        pack_folder(src, tmp_path / "packed")


def test_pack_video_keeps_case_frame_and_order(tmp_path: Path) -> None:
    src = _video_folder(tmp_path / "sun")
    pack_folder(src, tmp_path / "v", split="test")
    packed = open_dataset(f"disk:{tmp_path / 'v'}:test?case=case&frame=frame")
    assert packed.task == "video"
    assert packed.ids() == ["case1/1", "case1/2", "case1/10", "case3/5"]
    _same(open_dataset(str(src)), packed)


def test_pack_refuses_bad_samples_unless_skipped(tmp_path: Path) -> None:
    src = _image_folder(tmp_path / "d")
    (src / "images" / "im1.jpg").write_bytes(b"\xff\xd8 broken jpeg")
    with pytest.raises(DataSourceError, match=r"1 unreadable samples.*im1"):
        pack_folder(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    res = pack_folder(src, tmp_path / "out", skip_bad=True)
    assert res.n == 2 and [b.id for b in res.bad] == ["im1"]
    assert open_dataset(f"disk:{tmp_path / 'out'}").ids() == ["im0", "im2"]


def test_cli_pack_list_check(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = _image_folder(tmp_path / "train")
    assert main(["data", "pack", str(src), str(tmp_path / "p")]) == 0
    assert "split 'train'" in capsys.readouterr().out
    assert main(["data", "check", f"disk:{tmp_path / 'p'}:train"]) == 0
    out = capsys.readouterr().out
    assert "3 samples, 0 unreadable" in out and "fingerprint: files-content-sha256:" in out
    assert main(["data", "list"]) == 0 and "sun_seg_easy" in capsys.readouterr().out
    assert main(["data", "pack", str(tmp_path / "nope"), str(tmp_path / "q")]) == 1  # clear error, no traceback
    assert "Data folder not found" in capsys.readouterr().err


def test_push_to_hub_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    src = _image_folder(tmp_path / "test")
    calls = []
    monkeypatch.setattr(datasets.DatasetDict, "push_to_hub",
                        lambda self, repo, **kw: calls.append((repo, kw, list(self))))
    # Offline (the test default) refuses before touching the network.
    with pytest.raises(DataSourceError, match="HF_HUB_OFFLINE"):
        pack_folder(src, tmp_path / "a", push_to_hub_repo="me/set")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(DataSourceError, match="needs a token"):
        pack_folder(src, tmp_path / "b", push_to_hub_repo="me/set")
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    res = pack_folder(src, tmp_path / "c", push_to_hub_repo="me/set", private=True)
    assert res.pushed_to == "me/set"
    assert calls == [("me/set", {"private": True, "token": "hf_test"}, ["test"])]
