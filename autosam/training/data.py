"""Training data: sources and splits, K fixed augmented views per image, and the embedder.

A *view* of an image is a pure function of (image content, augmentation preset, view id), so its
SAM embedding is a constant that the :class:`EmbeddingCache` stores exactly. Which view an image
uses in an epoch is drawn from ``(seed, epoch, index)``; nothing depends on a global RNG, which
is what makes ``--resume`` and multi-process runs reproducible.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler, Sampler

from ..backends.base import FrozenBackend
from ..data.augment import get_preset, make_view
from ..data.base import SampleError, SegmentationDataset
from ..image_io import content_hash
from .embedding_cache import EmbeddingCache

log = logging.getLogger("autosam.training")


# ---- sources ---------------------------------------------------------------------------------
def benchmark_of(text: str) -> tuple[Any, str | None] | None:
    """(BenchmarkSpec, split) when ``text`` is ``name`` or ``name:split`` of a registry benchmark."""
    from ..data.registry import UnknownBenchmarkError, get_benchmark

    name, _, split = text.partition(":")
    if not name or "/" in name or "\\" in name:
        return None
    try:
        spec = get_benchmark(name)
    except (UnknownBenchmarkError, ValueError, FileNotFoundError):
        return None
    if split and split not in spec.splits:
        return None
    return spec, split or None


def open_data(text: str, skip_bad: bool = True, require_masks: bool = True) -> SegmentationDataset:
    """A data spec string or a benchmark name (``kvasir``, ``polyp_train:train``) -> data set."""
    from ..data.registry import load_benchmark
    from ..data.spec import open_dataset

    bench = benchmark_of(text)
    if bench is not None:
        return load_benchmark(bench[0], bench[1], skip_bad=skip_bad)
    return open_dataset(text, skip_bad=skip_bad, require_masks=require_masks)


def open_train_data(specs: Sequence[str]) -> SegmentationDataset:
    from ..data.base import ConcatDataset

    parts = [open_data(s) for s in specs]
    return parts[0] if len(parts) == 1 else ConcatDataset(parts, names=[str(k) for k in range(len(parts))])


def split_by_id(ds: SegmentationDataset, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded train/val split by sample id: ids ranked by sha256(seed:id); the first ones validate.

    Ranking by a hash of the id (not by position) keeps an image on the same side when the data
    set is reordered, and the count is exact: round(fraction * n), at least 1 when fraction > 0.
    """
    ids = ds.ids()
    if fraction <= 0:
        return list(range(len(ids))), []
    n_val = max(1, int(round(fraction * len(ids))))
    if n_val >= len(ids):
        raise ValueError(f"val_fraction {fraction} leaves no training images out of {len(ids)}.")
    rank = sorted(range(len(ids)), key=lambda i: hashlib.sha256(f"{seed}:{ids[i]}".encode()).hexdigest())
    val = sorted(rank[:n_val])
    val_set = set(val)
    return [i for i in range(len(ids)) if i not in val_set], val


# ---- views -----------------------------------------------------------------------------------
def preset_token(preset: str) -> str:
    """Preset name + hash of its numbers: a changed preset never reuses stale cached views."""
    p = get_preset(preset)
    digest = hashlib.sha256(repr(sorted(p.to_dict().items())).encode()).hexdigest()[:8]
    return f"{p.name}-{digest}"


def view_seed(source_hash: str, view: int) -> tuple[int, int]:
    return int(source_hash[:8], 16), view


def pick_view(seed: int, epoch: int, index: int, views: int) -> int:
    """The view image ``index`` uses in ``epoch`` (0..views-1), from a stateless seeded RNG."""
    if views <= 1:
        return 0
    return int(np.random.default_rng((seed, epoch, index)).integers(views))


def build_view(image: np.ndarray, mask: np.ndarray | None, preset: str, view: int,
               source_hash: str) -> tuple[np.ndarray, np.ndarray | None]:
    if view == 0 or preset == "none":
        return image, mask
    return make_view(image, mask, preset, view_seed(source_hash, view))


class ViewDataset(Dataset):
    """Items are ``(index, view)`` pairs (from :class:`ViewSampler`) -> a view sample dict.

    An unreadable sample is logged by name and replaced by the next readable one, so an epoch
    never dies half-way and every process still gets a full batch (DDP needs equal steps).
    """

    def __init__(self, ds: SegmentationDataset, preset: str = "none") -> None:
        self.ds, self.preset = ds, preset
        self.token = preset_token(preset)

    def __len__(self) -> int:
        return len(self.ds)

    def item(self, index: int, view: int) -> dict[str, Any]:
        s = self.ds.load(index)
        if s.get("mask") is None:
            raise SampleError(s["id"], self.ds.where(index), "no ground-truth mask")
        src = content_hash(s["image"])
        img, msk = build_view(s["image"], s["mask"], self.preset, view, src)
        return {"id": s["id"], "index": index, "view": view, "image": img, "mask": msk,
                "key": EmbeddingCache.key(src, self.token, view)}

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        index, view = key
        skipped: list[str] = []
        n = len(self.ds)
        for step in range(n):
            j = (index + step) % n
            try:
                out = self.item(j, view)
                out["skipped"] = skipped
                return out
            except Exception as exc:  # noqa: BLE001 - any failure of one sample is that sample's fault
                sid = _safe_id(self.ds, j)
                log.warning("Skipping bad training sample %s: %s", sid, exc)
                skipped.append(sid)
        raise RuntimeError(f"No readable training sample in {self.ds.source or type(self.ds).__name__}.")


def _safe_id(ds: SegmentationDataset, index: int) -> str:
    try:
        return ds.sample_id(index)
    except Exception:  # noqa: BLE001
        return f"#{index}"


def collate_views(items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Images differ in size, so a batch is a dict of lists."""
    out: dict[str, list[Any]] = {k: [it[k] for it in items] for k in items[0] if k != "skipped"}
    out["skipped"] = [sid for it in items for sid in it["skipped"]]
    return out


class ViewSampler(Sampler):
    """Wraps a (distributed) sampler of indices and pairs each index with its view of the epoch."""

    def __init__(self, base: DistributedSampler, seed: int, views: int) -> None:
        self.base, self.seed, self.views, self.epoch = base, seed, views, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.base.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for i in self.base:
            yield int(i), pick_view(self.seed, self.epoch, int(i), self.views)

    def __len__(self) -> int:
        return len(self.base)


# ---- embeddings ------------------------------------------------------------------------------
class Embedder:
    """SAM image embeddings for view images: from the exact cache, or from the encoder each time."""

    def __init__(self, backend: FrozenBackend, cache: EmbeddingCache | None) -> None:
        self.backend, self.cache = backend, cache
        self.encoded = 0  # encoder calls' images (no-cache mode)

    @property
    def hits(self) -> int:
        return self.cache.hits if self.cache else 0

    @property
    def misses(self) -> int:
        return self.cache.misses if self.cache else self.encoded

    def __call__(self, images: list[np.ndarray], keys: list[str]) -> torch.Tensor:
        if self.cache is not None:
            emb, _ = self.cache.embed(images, keys)
        else:
            x, _ = self.backend.preprocess(images)
            emb = self.backend.encode(x)
            self.encoded += len(images)
        return emb.to(self.backend.device, non_blocking=True)


def fill_cache(vds: ViewDataset, indices: Sequence[int], views: int, cache: EmbeddingCache,
               batch_size: int, progress: bool = False) -> tuple[int, int]:
    """Make sure views 0..views-1 of every image are cached; returns (already there, encoded)."""
    from tqdm import tqdm

    have = done = 0
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal done
        if pending:
            cache.embed([p["image"] for p in pending], [p["key"] for p in pending])
            done += len(pending)
            pending.clear()

    for i in tqdm(indices, desc="caching embeddings", unit="img", disable=not progress, leave=False):
        try:
            s = vds.ds.load(i)
        except Exception as exc:  # noqa: BLE001
            log.warning("Skipping bad sample %s while caching: %s", _safe_id(vds.ds, i), exc)
            continue
        src = content_hash(s["image"])
        for v in range(views):
            key = EmbeddingCache.key(src, vds.token, v)
            if cache.path(key).is_file():
                have += 1
                continue
            img, _ = build_view(s["image"], s["mask"], vds.preset, v, src)
            pending.append({"image": img, "key": key})
            if len(pending) >= batch_size:
                flush()
    flush()
    return have, done
