"""Pack a local folder (image or SUN-SEG video layout) into a Hugging Face data set.

Columns: ``id`` (string), ``image`` (``datasets.Image``: the original file bytes, so pixels are
exactly those of the folder), ``mask`` (``datasets.Image``: a 0/255 single-channel PNG of the
binarised mask, so every consumer reads the same labels), plus ``case`` and ``frame`` for video.
Every sample is decoded once while packing: nothing unreadable is written or pushed.
"""
from __future__ import annotations

import io
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from .base import BadSample, DataSourceError, SampleError, format_examples
from .folder import FolderDataset, open_folder

SPLIT_NAMES = ("train", "test", "validation", "val", "valid", "dev")


@dataclass
class PackResult:
    out: Path
    split: str
    task: str
    n: int
    bad: list[BadSample] = field(default_factory=list)
    pushed_to: str | None = None


def _mask_png(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _rows(ds: FolderDataset) -> Iterator[dict[str, Any]]:
    video = ds.task == "video"
    for i in range(len(ds)):
        try:
            s = ds.load(i)
        except SampleError:
            continue  # found again (with its reason) after packing; see pack_folder
        img_path = ds.image_path(i)
        row: dict[str, Any] = {
            "id": s["id"],
            "image": {"bytes": img_path.read_bytes(), "path": img_path.name},
            "mask": {"bytes": _mask_png(s["mask"]), "path": Path(s["id"]).name + ".png"},
        }
        if video:
            row["case"], row["frame"] = s["case"], s["frame"]
        yield row


def _bad_sample(ds: FolderDataset, index: int) -> BadSample:
    try:
        ds.load(index)
    except SampleError as exc:
        return BadSample(index, exc.sample_id, exc.reason)
    return BadSample(index, ds.sample_id(index), "unreadable while packing")


def _features(video: bool) -> Any:
    import datasets

    cols: dict[str, Any] = {"id": datasets.Value("string"), "image": datasets.Image(), "mask": datasets.Image()}
    if video:
        cols.update(case=datasets.Value("string"), frame=datasets.Value("string"))
    return datasets.Features(cols)


def resolve_token(token: str | None = None) -> str:
    """An explicit token, else ``$HF_TOKEN``, else the one saved by ``hf auth login``."""
    tok = token or os.environ.get("HF_TOKEN")
    if not tok:
        try:
            from huggingface_hub import get_token

            tok = get_token()
        except Exception:
            tok = None
    if not tok:
        raise DataSourceError("Pushing to the Hub needs a token: set HF_TOKEN or run `hf auth login`.")
    return tok


def push_to_hub(dd: Any, repo: str, private: bool = False, token: str | None = None) -> str:
    """Push a DatasetDict; returns the repo id. Refuses clearly when offline or without a token."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise DataSourceError("HF_HUB_OFFLINE is set: cannot push to the Hub (unset it to push).")
    dd.push_to_hub(repo, private=private, token=resolve_token(token))
    return repo


def pack_folder(folder: str | os.PathLike, out: str | os.PathLike, split: str | None = None,
                push_to_hub_repo: str | None = None, private: bool = False, token: str | None = None,
                skip_bad: bool = False, overwrite: bool = False) -> PackResult:
    """Folder -> ``DatasetDict({split: ...}).save_to_disk(out)`` (and push when a repo is given).

    ``split`` defaults to the folder's name when it is a split name (``kvasir/test`` -> ``test``),
    else ``train``. Unreadable samples abort packing with a list, unless ``skip_bad``.
    """
    import datasets

    ds = open_folder(folder)
    out_p = Path(out).expanduser()
    if out_p.exists() and any(out_p.iterdir()) and not overwrite:
        raise DataSourceError(f"{out_p} exists and is not empty; choose another OUT or pass overwrite.")
    name = Path(folder).expanduser().resolve().name.lower()
    split = split or (name if name in SPLIT_NAMES else "train")
    video = ds.task == "video"
    tmp = tempfile.mkdtemp(prefix=".autosam-pack-", dir=out_p.parent if out_p.parent.exists() else None)
    try:
        # A generator writes Arrow to disk as it goes: big folders never sit in memory.
        packed = datasets.Dataset.from_generator(
            _rows, gen_kwargs={"ds": ds}, features=_features(video), cache_dir=tmp)
        # The generator may run on a copy of its arguments: find skipped samples by id instead.
        missing = set(ds.ids()) - set(packed["id"])
        bad = [_bad_sample(ds, i) for i in range(len(ds)) if ds.sample_id(i) in missing]
        if bad and not skip_bad:
            raise DataSourceError(
                f"{len(bad)} unreadable samples in {folder}: "
                + format_examples([f"{b.id} ({b.reason})" for b in bad], 3)
                + ". Fix them, or pack with --skip-bad to leave them out."
            )
        if len(packed) == 0:
            raise DataSourceError(f"No readable samples in {folder}.")
        dd = datasets.DatasetDict({split: packed})
        if out_p.exists():
            shutil.rmtree(out_p)
        dd.save_to_disk(str(out_p))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = PackResult(out=out_p, split=split, task=ds.task, n=len(ds) - len(bad), bad=bad)
    if push_to_hub_repo:
        result.pushed_to = push_to_hub(datasets.load_from_disk(str(out_p)), push_to_hub_repo, private, token)
    return result
