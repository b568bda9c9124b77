"""The one dataset abstraction every source implements, plus errors and fingerprints.

A sample is a plain dict (so the default DataLoader collate and the training cache can use it):
``{"id": str, "image": uint8 H×W×3, "mask": bool H×W | None}`` plus ``"case"``/``"frame"`` (str)
for video data. Sources only say how to read sample *i*; this class checks what they return and
turns every failure into a :class:`SampleError` that names the sample and the file or row.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from torch.utils.data import Dataset

from ..image_io import content_hash

log = logging.getLogger(__name__)

Sample = dict[str, Any]


class DataSourceError(ValueError):
    """A data source is misconfigured or unusable as a whole (missing folder, wrong column...)."""


class SampleError(ValueError):
    """One sample cannot be read; names the sample, where it lives and why."""

    def __init__(self, sample_id: str, where: str, reason: str):
        self.sample_id, self.where, self.reason = sample_id, where, reason
        super().__init__(f"Sample {sample_id!r} ({where}): {reason}")


@dataclass(frozen=True)
class BadSample:
    index: int
    id: str
    reason: str


def format_examples(items: Sequence[str], limit: int = 5) -> str:
    """'a, b, c ... (+7 more)' for error messages."""
    shown = ", ".join(str(x) for x in items[:limit])
    return shown + (f" ... (+{len(items) - limit} more)" if len(items) > limit else "")


class SegmentationDataset(Dataset):
    """Base class: image/mask samples addressed by index, with readable errors.

    Subclasses implement ``__len__``, ``sample_id``, ``_read(index) -> Sample`` and ``where``.
    ``skip_bad=True`` makes ``__getitem__`` log an unreadable sample once and return the next
    readable one, so an epoch never dies half-way; for exact bookkeeping (e.g. a cache keyed by
    index) call :meth:`validate` first and :meth:`exclude` the bad ids instead.
    """

    task: str = "image"  # "image" or "video"

    def __init__(self, skip_bad: bool = False, source: str = ""):
        self.skip_bad = skip_bad
        self.source = source  # the spec string it came from (protocol records)
        self._bad: dict[int, BadSample] = {}

    # -- to implement -------------------------------------------------------------------------
    def __len__(self) -> int:
        raise NotImplementedError

    def sample_id(self, index: int) -> str:
        raise NotImplementedError

    def where(self, index: int) -> str:
        """Where sample *index* lives (file path or row), for error messages."""
        return f"row {index}"

    def _read(self, index: int) -> Sample:
        raise NotImplementedError

    def _fingerprint(self, mode: str) -> str:
        """Default: hash of every decoded sample (slow but exact); file sources override."""
        h = hashlib.sha256()
        for i in range(len(self)):
            s = self.load(i)
            h.update(s["id"].encode())
            h.update(content_hash(s["image"]).encode())
            if s["mask"] is not None:
                h.update(content_hash(s["mask"]).encode())
        return "samples-sha256:" + h.hexdigest()

    # -- public API ---------------------------------------------------------------------------
    def ids(self) -> list[str]:
        return [self.sample_id(i) for i in range(len(self))]

    def load(self, index: int) -> Sample:
        """Read sample *index*; any failure becomes a :class:`SampleError` naming it."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a data set of {n} samples")
        index %= n
        sid = self.sample_id(index)
        try:
            sample = self._read(index)
        except SampleError:
            raise
        except Exception as exc:  # decoding errors of every kind: name the sample
            raise SampleError(sid, self.where(index), f"{type(exc).__name__}: {exc}") from exc
        image, mask = sample["image"], sample.get("mask")
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise SampleError(sid, self.where(index), f"decoded image has shape {image.shape} {image.dtype}")
        if mask is not None and mask.shape != image.shape[:2]:
            hint = " (transposed: check the image's EXIF orientation)" if mask.shape == image.shape[1::-1] else ""
            raise SampleError(
                sid, self.where(index),
                f"mask size {mask.shape[1]}x{mask.shape[0]} differs from image size "
                f"{image.shape[1]}x{image.shape[0]} (WxH){hint}",
            )
        sample["id"] = sid
        sample.setdefault("mask", None)
        return sample

    def __getitem__(self, index: int) -> Sample:
        if not self.skip_bad:
            return self.load(index)
        n = len(self)
        for step in range(n):
            j = (index + step) % n
            if j in self._bad:
                continue
            try:
                return self.load(j)
            except SampleError as exc:
                self._bad[j] = BadSample(j, exc.sample_id, exc.reason)
                log.warning("Skipping unreadable sample: %s", exc)
        raise DataSourceError(f"No readable sample in {self.source or type(self).__name__}.")

    @property
    def bad_samples(self) -> list[BadSample]:
        """Samples skipped so far in ``skip_bad`` mode (per process)."""
        return sorted(self._bad.values(), key=lambda b: b.index)

    def validate(self, progress: bool = False) -> list[BadSample]:
        """Read every sample; return the unreadable ones (never raises for a bad sample)."""
        bad = []
        it: Iterable[int] = range(len(self))
        if progress:
            from tqdm import tqdm

            it = tqdm(it, desc="validate", unit="sample")
        for i in it:
            try:
                self.load(i)
            except SampleError as exc:
                bad.append(BadSample(i, exc.sample_id, exc.reason))
        self._bad.update({b.index: b for b in bad})
        return bad

    def subset(self, indices: Sequence[int]) -> "SubsetDataset":
        return SubsetDataset(self, list(indices))

    def exclude(self, ids: Iterable[str]) -> "SubsetDataset":
        """A view without the given sample ids (e.g. the ``validate()`` list)."""
        drop = set(ids)
        return SubsetDataset(self, [i for i in range(len(self)) if self.sample_id(i) not in drop])

    def fingerprint(self, mode: str = "content") -> str:
        """Identity of the data: ``content`` hashes file bytes; ``stat`` uses names+sizes+mtimes."""
        if mode not in ("content", "stat"):
            raise ValueError("fingerprint mode must be 'content' or 'stat'")
        return self._fingerprint(mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r}, n={len(self)})"


def hash_files(paths: Iterable[tuple[str, Path]], mode: str) -> str:
    """sha256 over (name, file bytes) — or (name, size, mtime) in ``stat`` mode — in the given order."""
    h = hashlib.sha256()
    for name, path in paths:
        h.update(name.encode() + b"\0")
        if mode == "stat":
            st = path.stat()
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
        else:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


class SubsetDataset(SegmentationDataset):
    """Some samples of another data set, in the given order."""

    def __init__(self, parent: SegmentationDataset, indices: list[int]):
        super().__init__(skip_bad=parent.skip_bad, source=parent.source)
        self.parent, self.indices = parent, indices
        self.task = parent.task

    def __len__(self) -> int:
        return len(self.indices)

    def sample_id(self, index: int) -> str:
        return self.parent.sample_id(self.indices[index])

    def where(self, index: int) -> str:
        return self.parent.where(self.indices[index])

    def _read(self, index: int) -> Sample:
        return self.parent.load(self.indices[index])

    def _fingerprint(self, mode: str) -> str:
        h = hashlib.sha256(self.parent.fingerprint(mode).encode())
        h.update(",".join(map(str, self.indices)).encode())
        return "subset-sha256:" + h.hexdigest()


class ConcatDataset(SegmentationDataset):
    """Several data sets one after the other (e.g. Kvasir train + ClinicDB train).

    Ids stay as they are unless two parts share one; then every id gets ``<part>/`` in front.
    """

    def __init__(self, parts: Sequence[SegmentationDataset], names: Sequence[str] | None = None):
        if not parts:
            raise DataSourceError("Nothing to concatenate.")
        super().__init__(skip_bad=parts[0].skip_bad, source=" + ".join(p.source for p in parts))
        self.parts = list(parts)
        self.task = parts[0].task
        self._offsets = np.cumsum([0] + [len(p) for p in parts])
        all_ids = [i for p in parts for i in p.ids()]
        names = list(names) if names else [str(k) for k in range(len(parts))]
        self._prefix = [f"{n}/" for n in names] if len(set(all_ids)) < len(all_ids) else [""] * len(parts)

    def _locate(self, index: int) -> tuple[int, int]:
        k = int(np.searchsorted(self._offsets, index, side="right") - 1)
        return k, index - int(self._offsets[k])

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def sample_id(self, index: int) -> str:
        k, j = self._locate(index)
        return self._prefix[k] + self.parts[k].sample_id(j)

    def where(self, index: int) -> str:
        k, j = self._locate(index)
        return self.parts[k].where(j)

    def _read(self, index: int) -> Sample:
        k, j = self._locate(index)
        return self.parts[k].load(j)

    def _fingerprint(self, mode: str) -> str:
        h = hashlib.sha256()
        for p in self.parts:
            h.update(p.fingerprint(mode).encode() + b"\0")
        return "concat-sha256:" + h.hexdigest()


def dataset_fingerprint(ds: SegmentationDataset, mode: str = "content") -> str:
    """A string identifying the exact data (HF revision, or a content hash) for protocol records."""
    return ds.fingerprint(mode)
