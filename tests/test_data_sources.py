"""Data sources: local folders (odd files included), SUN-SEG video layout, HF disk/parquet, specs."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autosam.data import (ColumnMap, ConcatDataset, DataSourceError, DataSpec, FolderDataset, SampleError,
                          VideoFolderDataset, dataset_fingerprint, open_dataset, parse_data_spec)

H, W = 24, 32


def _mask(seed: int = 0) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[4 + seed % 5: 16, 6: 20 + seed % 7] = True
    return m


def _rgb(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _write_pair(root: Path, name: str, img: Image.Image, mask: Image.Image, img_ext: str = ".png",
                mask_name: str | None = None, **save_kw) -> None:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    img.save(root / "images" / f"{name}{img_ext}", **save_kw)
    mask.save(root / "masks" / (mask_name or f"{name}.png"))


@pytest.fixture()
def odd_folder(tmp_path: Path) -> Path:
    """One folder holding every odd file kind real data sets have."""
    root = tmp_path / "set" / "test"
    m = _mask()
    m255 = Image.fromarray(m.astype(np.uint8) * 255)
    _write_pair(root, "rgb_jpeg", Image.fromarray(_rgb(1)), m255, ".jpg", quality=95)
    g16 = (np.random.default_rng(2).integers(0, 4000, (H, W))).astype(np.uint16)
    _write_pair(root, "gray16", Image.fromarray(g16), Image.fromarray(m.astype(np.uint8)))  # 0/1 mask
    _write_pair(root, "gray8", Image.fromarray(_rgb(3)[:, :, 0]), m255)
    rgba = np.dstack([_rgb(4), np.full((H, W), 255, np.uint8)])
    pal = Image.fromarray(m.astype(np.uint8), mode="L").convert("P")
    pal.putpalette([200, 0, 0, 255, 255, 255] + [0] * 762)  # index 0 has a non-black colour
    _write_pair(root, "rgba", Image.fromarray(rgba, "RGBA"), pal)
    # JPEG-noisy mask (Kvasir style) stored as .jpg in masks/
    _write_pair(root, "noisy", Image.fromarray(_rgb(5)), m255, mask_name="noisy.jpg")
    # EXIF orientation 6 (rotate 90°): stored W×H, displayed H×W; its mask is in display orientation.
    raw = Image.fromarray(_rgb(6)[:, ::-1].transpose(1, 0, 2).copy())  # stored transposed
    exif = Image.Exif()
    exif[0x0112] = 6
    _write_pair(root, "exif", raw, m255, ".jpg", exif=exif.tobytes(), quality=95)
    return root


def test_folder_decodes_every_odd_kind(odd_folder: Path) -> None:
    ds = open_dataset(str(odd_folder))
    assert isinstance(ds, FolderDataset) and ds.task == "image"
    assert sorted(ds.ids()) == sorted(["rgb_jpeg", "gray16", "gray8", "rgba", "noisy", "exif"])
    for i in range(len(ds)):
        s = ds[i]
        assert s["image"].dtype == np.uint8 and s["image"].shape == (H, W, 3), s["id"]
        assert s["mask"].dtype == bool and s["mask"].shape == (H, W), s["id"]
        np.testing.assert_array_equal(s["mask"], _mask(), err_msg=s["id"])
    assert ds.validate() == []


def test_list_txt_sets_order_and_unknown_names_fail(odd_folder: Path) -> None:
    (odd_folder / "list.txt").write_text("gray8\nrgb_jpeg.jpg\n")
    assert open_dataset(str(odd_folder)).ids() == ["gray8", "rgb_jpeg"]
    (odd_folder / "list.txt").write_text("gray8\nnope\n")
    with pytest.raises(DataSourceError, match="nope"):
        open_dataset(str(odd_folder))


def test_missing_masks_listed(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for k in range(8):
        _write_pair(root, f"im{k}", Image.fromarray(_rgb(k)), Image.fromarray(_mask().astype(np.uint8) * 255))
    for k in range(1, 8):
        (root / "masks" / f"im{k}.png").unlink()
    with pytest.raises(DataSourceError, match=r"7 of 8 images.*im1\.png.*\+2 more"):
        FolderDataset(root)
    ds = FolderDataset(root, require_masks=False)
    assert ds[0]["mask"] is not None and ds[1]["mask"] is None


def test_mask_suffix_pairing_glas_style(tmp_path: Path) -> None:
    root = tmp_path / "glas"
    _write_pair(root, "train_1", Image.fromarray(_rgb()), Image.fromarray(_mask().astype(np.uint8) * 7),
                ".bmp", mask_name="train_1_anno.bmp")
    s = open_dataset(str(root))[0]
    assert s["id"] == "train_1" and s["mask"].sum() == _mask().sum()  # instance labels binarised


def test_bad_samples_named_validated_and_skipped(odd_folder: Path) -> None:
    (odd_folder / "images" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    Image.fromarray(_mask().astype(np.uint8) * 255).save(odd_folder / "masks" / "corrupt.png")
    _write_pair(odd_folder, "small_mask", Image.fromarray(_rgb()), Image.fromarray(np.zeros((H // 2, W), np.uint8)))
    ds = open_dataset(str(odd_folder))
    idx = ds.ids().index("corrupt")
    with pytest.raises(SampleError, match=r"corrupt.*corrupt\.png"):
        ds[idx]
    with pytest.raises(SampleError, match=r"small_mask.*mask size 32x12 differs from image size 32x24"):
        ds.load(ds.ids().index("small_mask"))
    bad = ds.validate()
    assert sorted(b.id for b in bad) == ["corrupt", "small_mask"]
    clean = ds.exclude(b.id for b in bad)
    assert len(clean) == len(ds) - 2 and all(clean[i]["id"] for i in range(len(clean)))
    skipping = open_dataset(str(odd_folder), skip_bad=True)
    got = skipping[idx]  # the next readable sample instead of a crash
    assert got["id"] != "corrupt" and [b.id for b in skipping.bad_samples] == ["corrupt"]


def test_duplicate_stems_refused(tmp_path: Path) -> None:
    root = tmp_path / "dup"
    _write_pair(root, "a", Image.fromarray(_rgb()), Image.fromarray(_mask().astype(np.uint8) * 255))
    Image.fromarray(_rgb()).save(root / "images" / "a.jpg")
    with pytest.raises(DataSourceError, match="share the name 'a'"):
        FolderDataset(root)


def _sunseg(root: Path) -> list[tuple[str, str]]:
    """Two SUN-SEG-named cases (written out of order) and one numeric case."""
    expected = []
    for case, clip in (("case10_1", 10), ("case2", 2)):
        for k in (10, 2, 1):
            stem = f"case_M_20181001100941_0U62372100109341_{clip}_005_{clip:03d}-1_a2_ayy_image{k:04d}"
            expected.append((case, stem))
    expected = sorted(expected, key=lambda cs: (int(cs[0][4:].split("_")[0]), int(cs[1][-4:])))
    for case, stem in expected + [("7", "10"), ("7", "9")]:
        (root / "Frame" / case).mkdir(parents=True, exist_ok=True)
        (root / "GT" / case).mkdir(parents=True, exist_ok=True)
        Image.fromarray(_rgb()).save(root / "Frame" / case / f"{stem}.jpg")
        Image.fromarray(_mask().astype(np.uint8) * 255).save(root / "GT" / case / f"{stem}.png")
    return [("case2", s) for c, s in expected if c == "case2"] + [("7", "9"), ("7", "10")] + \
        [("case10_1", s) for c, s in expected if c == "case10_1"]


def test_sunseg_video_layout_order_and_fields(tmp_path: Path) -> None:
    root = tmp_path / "easy"
    order = _sunseg(root)
    ds = open_dataset(str(root))
    assert isinstance(ds, VideoFolderDataset) and ds.task == "video"
    by_case = {c: [ds[i]["frame"] for i in idx] for c, idx in ds.cases().items()}
    assert by_case["case2"][-1].endswith("image0010") and by_case["case2"][0].endswith("image0001")
    assert by_case["7"] == ["9", "10"]  # numeric, not string, order
    assert sorted(by_case) == sorted({c for c, _ in order})
    s = ds[0]
    assert s["id"] == f"{s['case']}/{s['frame']}" and s["mask"].shape == (H, W)
    (root / "GT" / "7" / "9.png").unlink()
    with pytest.raises(DataSourceError, match=r"7/9\.jpg"):
        open_dataset(str(root))


# ----------------------------------------------------------------------------- HF sources
def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _hf_dataset(n: int = 3, mask_col: str = "annotation"):
    import datasets

    d = datasets.Dataset.from_dict({
        "name": [f"s{k}" for k in range(n)],
        "img": [{"bytes": _png(_rgb(k)), "path": None} for k in range(n)],
        mask_col: [{"bytes": _png(_mask(k).astype(np.uint8)), "path": None} for k in range(n)],  # 0/1 masks
        "extra": list(range(n)),
    })
    return d.cast_column("img", datasets.Image()).cast_column(mask_col, datasets.Image())


def test_disk_and_parquet_with_column_mapping(tmp_path: Path) -> None:
    import datasets

    d = _hf_dataset()
    datasets.DatasetDict({"test": d, "train": d}).save_to_disk(str(tmp_path / "saved"))
    d.to_parquet(str(tmp_path / "p.parquet"))
    for spec in (f"disk:{tmp_path / 'saved'}:test?image=img&mask=annotation&id=name",
                 f"parquet:{tmp_path / '*.parquet'}?image=img&id=name"):  # mask guessed: 'annotation'
        ds = open_dataset(spec, cache_dir=str(tmp_path / "cache"))
        assert ds.ids() == ["s0", "s1", "s2"], spec
        for k in range(3):
            np.testing.assert_array_equal(ds[k]["image"], _rgb(k))
            np.testing.assert_array_equal(ds[k]["mask"], _mask(k))
        assert dataset_fingerprint(ds) == dataset_fingerprint(ds)
    with pytest.raises(DataSourceError, match=r"several splits \(test, train\)"):
        open_dataset(f"disk:{tmp_path / 'saved'}?image=img")
    with pytest.raises(DataSourceError, match="no split 'val'"):
        open_dataset(f"disk:{tmp_path / 'saved'}:val?image=img")


def test_wrong_column_lists_existing_columns(tmp_path: Path) -> None:
    _hf_dataset(mask_col="label").save_to_disk(str(tmp_path / "s"))
    with pytest.raises(DataSourceError, match=r"no column 'mask'.*name, img, label, extra"):
        open_dataset(f"disk:{tmp_path / 's'}?image=img&mask=mask")
    ds = open_dataset(f"disk:{tmp_path / 's'}?image=img")  # 'label' guessed as the mask column
    assert ds.columns.mask == "label" and ds.ids() == ["s0", "s1", "s2"]  # 'name' guessed as id


def test_bad_hf_row_is_named(tmp_path: Path) -> None:
    import datasets

    d = datasets.Dataset.from_dict({"image": [{"bytes": b"garbage", "path": "broken.png"}],
                                    "mask": [{"bytes": _png(_mask().astype(np.uint8)), "path": None}]})
    d.cast_column("image", datasets.Image()).save_to_disk(str(tmp_path / "b"))
    ds = open_dataset(f"disk:{tmp_path / 'b'}")
    assert ds.ids() == ["broken"]  # id from the stored file name
    with pytest.raises(SampleError, match=r"'broken'.*row 0"):
        ds[0]


def test_parse_data_spec_round_trip() -> None:
    s = parse_data_spec("hf:MedOtter/polyp-seg-generalization-bench@v1.0:test_kvasir?image=image&mask=annotation")
    assert (s.kind, s.location, s.revision, s.split) == ("hf", "MedOtter/polyp-seg-generalization-bench", "v1.0",
                                                         "test_kvasir")
    assert s.columns == ColumnMap(image="image", mask="annotation")
    assert parse_data_spec(s.to_string()) == s
    assert parse_data_spec("hf:a/b").split is None
    d = parse_data_spec("disk:/x/y:test?id=name&config=c")
    assert (d.location, d.split, d.config, d.columns.id) == ("/x/y", "test", "c", "name")
    assert parse_data_spec("disk:/x/y").split is None and parse_data_spec("disk:rel/dir").location == "rel/dir"
    assert parse_data_spec("/data/kvasir/test") == DataSpec("folder", "/data/kvasir/test")
    assert parse_data_spec("folder:/a").kind == "folder"
    assert parse_data_spec("parquet:/p/*.parquet,/q/x.parquet").location == "/p/*.parquet,/q/x.parquet"
    for bad, msg in (("hf:", "no location"), ("hf:not a repo", "not a Hub repo"), ("disk:/x?colour=1", "Unknown option")):
        with pytest.raises(DataSourceError, match=msg):
            parse_data_spec(bad)


def test_folder_fingerprint_tracks_content(odd_folder: Path) -> None:
    ds = open_dataset(str(odd_folder))
    fp, quick = ds.fingerprint(), ds.fingerprint("stat")
    assert fp.startswith("folder-content") and quick.startswith("folder-stat") and fp == ds.fingerprint()
    Image.fromarray(np.zeros((H, W), np.uint8)).save(odd_folder / "masks" / "gray8.png")
    assert open_dataset(str(odd_folder)).fingerprint() != fp


def test_concat_prefixes_only_colliding_ids(tmp_path: Path) -> None:
    for part in ("a", "b"):
        _write_pair(tmp_path / part, "x", Image.fromarray(_rgb()), Image.fromarray(_mask().astype(np.uint8) * 255))
    cat = ConcatDataset([FolderDataset(tmp_path / "a"), FolderDataset(tmp_path / "b")], names=["a", "b"])
    assert cat.ids() == ["a/x", "b/x"] and cat[1]["id"] == "b/x"
