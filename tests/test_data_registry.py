"""Benchmark registry: built-in JSON files, user files, source resolution offline, real data."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autosam.data import (BenchmarkUnavailableError, ConcatDataset, FolderDataset, UnknownBenchmarkError,
                          get_benchmark, list_benchmarks, load_benchmark)
from autosam.data.augment import PRESETS

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _folder(root: Path, n: int, prefix: str = "im") -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir(parents=True)
    for k in range(n):
        Image.fromarray(np.full((8, 10, 3), k, np.uint8)).save(root / "images" / f"{prefix}{k}.jpg")
        Image.fromarray(np.eye(8, 10, dtype=np.uint8) * 255).save(root / "masks" / f"{prefix}{k}.png")
    return root


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOSAM_BENCHMARKS_DIR", raising=False)
    monkeypatch.delenv("AUTOSAM_DATA_ROOT", raising=False)


def test_builtin_benchmarks_are_complete() -> None:
    reg = {b.name: b for b in list_benchmarks()}
    need = {"kvasir", "clinicdb", "colondb", "etis", "cvc300", "glas", "monuseg", "sun_seg_easy", "sun_seg_hard",
            "polyp_train", "glas_train", "monuseg_train"}
    assert need <= set(reg)
    assert {reg[n].input_size for n in ("kvasir", "glas", "monuseg")} == {352, 224, 512}
    assert reg["sun_seg_easy"].task == "video" and reg["kvasir"].task == "image"
    assert reg["kvasir"].sources()[0] == ("{data_root}/kvasir/test",)
    assert any(s[0].startswith("hf:MedOtter/polyp-seg-generalization-bench:test_kvasir") for s in reg["kvasir"].sources())
    assert len(reg["polyp_train"].sources("train")[0]) == 2  # Kvasir + ClinicDB concatenated
    assert reg["kvasir"].splits["test"].expected_size == 100
    assert reg["sun_seg_hard"].splits["test"].expected_cases == 37
    for b in reg.values():
        assert b.augmentation in PRESETS and b.citation and b.default_split in b.splits


def test_load_resolves_local_folder_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(tmp_path / "kvasir" / "test", 3)
    monkeypatch.setenv("AUTOSAM_DATA_ROOT", str(tmp_path))
    ds = load_benchmark("kvasir")  # expected 100: a warning, not an error
    assert isinstance(ds, FolderDataset) and len(ds) == 3 and ds[0]["mask"].sum() == 8
    with pytest.raises(UnknownBenchmarkError, match="no split 'train'"):
        load_benchmark("kvasir", split="train")
    with pytest.raises(UnknownBenchmarkError, match="known: .*kvasir"):
        get_benchmark("kvasirr")


def test_concatenated_training_source(tmp_path: Path) -> None:
    _folder(tmp_path / "kvasir" / "train", 2, "k")
    _folder(tmp_path / "clinicdb" / "train", 3, "c")
    ds = load_benchmark("polyp_train", data_root=tmp_path)
    assert isinstance(ds, ConcatDataset) and ds.ids() == ["k0", "k1", "c0", "c1", "c2"]
    assert ds[4]["id"] == "c2" and "clinicdb" in ds.source


def test_unavailable_lists_every_source_tried(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkUnavailableError) as err:
        load_benchmark("colondb", data_root=tmp_path)
    msg = str(err.value)
    assert f"{tmp_path}/colondb/test does not exist" in msg
    assert "hf:MedOtter/polyp-seg-generalization-bench:test_cvc_colondb" in msg  # offline: cache miss reported


def test_user_benchmark_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _folder(tmp_path / "mine" / "test", 2)
    user_dir = tmp_path / "benchmarks"
    user_dir.mkdir()
    spec = {"name": "my_set", "task": "image", "input_size": 256, "augmentation": "flips",
            "splits": {"test": {"sources": ["/nonexistent/x", str(data)], "expected_size": 2}},
            "citation": "me", "paper_table": ""}
    (user_dir / "my_set.json").write_text(json.dumps(spec))
    monkeypatch.setenv("AUTOSAM_BENCHMARKS_DIR", str(user_dir))
    assert get_benchmark("my_set").file.endswith("my_set.json")
    assert load_benchmark("my_set").ids() == ["im0", "im1"]
    # An explicit file overrides a built-in of the same name.
    override = dict(spec, name="kvasir")
    f = tmp_path / "override.json"
    f.write_text(json.dumps([override]))
    monkeypatch.delenv("AUTOSAM_BENCHMARKS_DIR")
    assert get_benchmark("kvasir", extra_files=[f]).input_size == 256
    assert get_benchmark("kvasir").input_size == 352


@pytest.mark.parametrize("change,msg", [({"colour": 1}, "unknown keys"), ({"task": "3d"}, "task must be"),
                                        ({"augmentation": "wild"}, "unknown augmentation"),
                                        ({"splits": {"test": {}}}, "needs 'sources'")])
def test_invalid_user_json_is_explained(tmp_path: Path, change: dict, msg: str) -> None:
    spec = {"name": "bad", "task": "image", "input_size": 1, "augmentation": "none",
            "splits": {"test": {"sources": ["/x"]}}}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({**spec, **change}))
    with pytest.raises(ValueError, match=msg):
        list_benchmarks(extra_files=[f])


@pytest.mark.realdata
def test_real_kvasir_test_via_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (SHARED_DATA / "kvasir" / "test").is_dir():
        pytest.skip("../shared/data/kvasir/test is absent")
    monkeypatch.setenv("AUTOSAM_DATA_ROOT", str(SHARED_DATA))
    ds = load_benchmark("kvasir")
    assert len(ds) == 100 and ds.task == "image"
    s = ds[0]
    assert s["image"].dtype == np.uint8 and s["mask"].shape == s["image"].shape[:2] and 0 < s["mask"].mean() < 1
    assert ds.fingerprint("stat").startswith("folder-stat-sha256:")
