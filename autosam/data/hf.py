"""Hugging Face ``datasets`` sources: the Hub, ``save_to_disk`` folders and parquet files.

Column names differ between repos (``mask``, ``annotation``, ``label``...): a :class:`ColumnMap`
names them, and unnamed ones are guessed from common names. Image columns are read as raw bytes
(``Image(decode=False)``) and decoded by :mod:`autosam.image_io`, so EXIF, 16-bit, palette and
0/1 masks behave exactly as for local files.
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..image_io import load_image, load_mask
from .base import DataSourceError, Sample, SegmentationDataset, hash_files

IMAGE_COLUMNS = ("image", "img", "images", "pixel_values", "input")
MASK_COLUMNS = ("mask", "annotation", "label", "labels", "segmentation", "masks", "gt", "ground_truth", "target")
ID_COLUMNS = ("id", "name", "image_id", "file_name", "filename", "image_name")


@dataclass(frozen=True)
class ColumnMap:
    """Which column holds what; ``None`` means guess from common names."""

    image: str | None = None
    mask: str | None = None
    id: str | None = None
    case: str | None = None
    frame: str | None = None

    def non_default(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def resolve(self, columns: Sequence[str], require_masks: bool, where: str) -> "ColumnMap":
        """Check named columns exist and guess unnamed ones; errors list the real columns."""
        cols = list(columns)
        for role, name in self.non_default().items():
            if name not in cols:
                raise DataSourceError(
                    f"{where} has no column {name!r} (asked for as the {role} column). "
                    f"Its columns are: {', '.join(cols)}. Pass e.g. ?{role}=<column> in the spec."
                )

        def guess(name: str | None, candidates: Sequence[str]) -> str | None:
            return name or next((c for c in candidates if c in cols), None)

        out = replace(self, image=guess(self.image, IMAGE_COLUMNS), mask=guess(self.mask, MASK_COLUMNS),
                      id=guess(self.id, ID_COLUMNS))
        if out.image is None:
            raise DataSourceError(f"{where}: no image column found among {', '.join(cols)}; pass ?image=<column>.")
        if out.mask is None and require_masks:
            raise DataSourceError(f"{where}: no mask column found among {', '.join(cols)}; pass ?mask=<column>.")
        return out


def _cell_source(value: Any) -> Any:
    """A stored cell -> something load_image/load_mask accept (bytes, path, PIL, array)."""
    if isinstance(value, dict):
        if value.get("bytes") is not None:
            return value["bytes"]
        if value.get("path"):
            return value["path"]
        raise ValueError("the image cell has neither bytes nor a path")
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    if value is None:
        raise ValueError("the image cell is empty")
    return value


class HFDataset(SegmentationDataset):
    """A ``datasets.Dataset`` seen as segmentation samples."""

    def __init__(self, ds: Any, columns: ColumnMap | None = None, source: str = "", skip_bad: bool = False,
                 require_masks: bool = True, fingerprint_hint: str | None = None,
                 data_files: Sequence[Path] = ()):
        import datasets

        super().__init__(skip_bad=skip_bad, source=source)
        where = source or "the data set"
        cmap = (columns or ColumnMap()).resolve(ds.column_names, require_masks, where)
        keep = [c for c in dict.fromkeys([cmap.image, cmap.mask, cmap.id, cmap.case, cmap.frame]) if c]
        ds = ds.select_columns(keep)
        for col in (cmap.image, cmap.mask):
            if col and isinstance(ds.features[col], datasets.Image):
                ds = ds.cast_column(col, datasets.Image(decode=False))  # raw bytes; image_io decodes
        self.ds, self.columns = ds, cmap
        self._fp_hint, self._data_files = fingerprint_hint, list(data_files)
        self._ids = self._make_ids(ds, cmap)
        self._case = [str(v) for v in ds[cmap.case]] if cmap.case else None
        self._frame = [str(v) for v in ds[cmap.frame]] if cmap.frame else None
        if self._case is not None:
            self.task = "video"

    @staticmethod
    def _make_ids(ds: Any, cmap: ColumnMap) -> list[str]:
        n = len(ds)
        if cmap.id:
            ids = [str(v) for v in ds[cmap.id]]
            if len(set(ids)) == n:
                return ids
        # File names stored with Image features make readable ids; read only the path field.
        try:
            col = ds.data.column(cmap.image).combine_chunks()
            paths = col.field("path").to_pylist() if ds._indices is None else None
            if paths and all(paths):
                stems = [Path(p).stem for p in paths]
                if len(set(stems)) == n:
                    return stems
        except Exception:  # not a struct column, or indices mapping: fall back to row numbers
            pass
        width = max(5, len(str(n)))
        return [f"{i:0{width}d}" for i in range(n)]

    def __len__(self) -> int:
        return len(self.ds)

    def sample_id(self, index: int) -> str:
        return self._ids[index]

    def where(self, index: int) -> str:
        return f"{self.source or 'dataset'} row {index}"

    def _read(self, index: int) -> Sample:
        row = self.ds[index]
        sample: Sample = {"image": load_image(_cell_source(row[self.columns.image]))}
        sample["mask"] = load_mask(_cell_source(row[self.columns.mask])) if self.columns.mask else None
        if self._case is not None:
            sample["case"] = self._case[index]
        if self._frame is not None:
            sample["frame"] = self._frame[index]
        return sample

    def _fingerprint(self, mode: str) -> str:
        if self._fp_hint:
            return self._fp_hint
        if self._data_files:
            files = [(p.name, p) for p in self._data_files]
            return f"files-{mode}-sha256:" + hash_files(files, mode)
        return super()._fingerprint(mode)


def _pick_split(obj: Any, split: str | None, where: str) -> tuple[Any, str]:
    import datasets

    if isinstance(obj, datasets.Dataset):
        return obj, split or "train"
    names = list(obj.keys())
    if split is None:
        if len(names) == 1:
            return obj[names[0]], names[0]
        raise DataSourceError(f"{where} has several splits ({', '.join(names)}); name one, e.g. {where}:{names[0]}.")
    if split not in obj:
        raise DataSourceError(f"{where} has no split {split!r}; its splits are: {', '.join(names)}.")
    return obj[split], split


def _is_offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def hub_revision_sha(repo: str, revision: str | None) -> str | None:
    """The commit a Hub revision points to (None offline or on error)."""
    if revision and re.fullmatch(r"[0-9a-f]{40}", revision):
        return revision
    if _is_offline():
        return None
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(repo, revision=revision).sha
    except Exception:
        return None


def from_hub(repo: str, split: str | None = None, revision: str | None = None,
             columns: ColumnMap | None = None, config: str | None = None, skip_bad: bool = False,
             require_masks: bool = True, cache_dir: str | None = None, source: str = "") -> HFDataset:
    """``datasets.load_dataset(repo, config, split=..., revision=...)`` (uses the local cache offline)."""
    import datasets

    where = source or f"hf:{repo}"
    try:
        obj = datasets.load_dataset(repo, config, split=split, revision=revision, cache_dir=cache_dir)
    except ValueError as exc:
        if split and "split" in str(exc).lower():
            raise DataSourceError(f"{where}: {exc}") from exc
        raise
    ds, split = _pick_split(obj, split, where)
    sha = hub_revision_sha(repo, revision)
    # Offline the commit is unknown: fall back to datasets' own fingerprint of the cached files.
    hint = f"hf:{repo}@{sha}:{split}" if sha else f"hf:{repo}@{revision or 'main'}:{split}#{ds._fingerprint}"
    return HFDataset(ds, columns, source=where, skip_bad=skip_bad, require_masks=require_masks, fingerprint_hint=hint)


def from_disk(path: str | os.PathLike, split: str | None = None, columns: ColumnMap | None = None,
              skip_bad: bool = False, require_masks: bool = True, source: str = "") -> HFDataset:
    """A folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    import datasets

    p = Path(path).expanduser()
    where = source or f"disk:{p}"
    if not p.exists():
        raise DataSourceError(f"No saved data set at {p}.")
    try:
        obj = datasets.load_from_disk(str(p))
    except FileNotFoundError as exc:
        raise DataSourceError(f"{p} is not a data set saved with save_to_disk ({exc}).") from exc
    ds, split = _pick_split(obj, split, where)
    files = sorted((p / split).glob("*.arrow")) if (p / split).is_dir() else sorted(p.glob("*.arrow"))
    return HFDataset(ds, columns, source=where, skip_bad=skip_bad, require_masks=require_masks, data_files=files)


def from_parquet(pattern: str | Sequence[str], columns: ColumnMap | None = None, skip_bad: bool = False,
                 require_masks: bool = True, cache_dir: str | None = None, source: str = "") -> HFDataset:
    """Parquet file(s) given as globs (comma-separated in a string)."""
    import datasets

    patterns = [s for s in (pattern.split(",") if isinstance(pattern, str) else pattern) if s]
    files = sorted({Path(f) for pat in patterns for f in glob.glob(os.path.expanduser(pat), recursive=True)})
    where = source or f"parquet:{','.join(patterns)}"
    if not files:
        raise DataSourceError(f"No parquet files match {', '.join(patterns)}.")
    ds = datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train", cache_dir=cache_dir)
    return HFDataset(ds, columns, source=where, skip_bad=skip_bad, require_masks=require_masks, data_files=files)

