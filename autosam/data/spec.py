"""One string names any data source, so every CLI takes a single ``--data`` argument.

Syntax (query options ``?image=col&mask=col&id=col&case=col&frame=col&config=name``)::

    /path/to/folder                      images/ + masks/ (or SUN-SEG Frame/ + GT/); ``folder:`` optional
    hf:<owner/repo>[@revision][:split][?...]   a Hugging Face Hub data set
    disk:<path>[:split][?...]             a ``save_to_disk`` folder (e.g. from ``autosam data pack``)
    parquet:<glob>[,<glob>...][?...]      parquet file(s)
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from .base import DataSourceError, SegmentationDataset
from .hf import ColumnMap, from_disk, from_hub, from_parquet

KINDS = ("folder", "hf", "disk", "parquet")
_OPTION_KEYS = tuple(f.name for f in fields(ColumnMap)) + ("config",)


@dataclass(frozen=True)
class DataSpec:
    """A parsed data source string (see the module docstring)."""

    kind: str  # one of KINDS
    location: str  # folder path, Hub repo id, saved-dataset path or parquet glob(s)
    split: str | None = None
    revision: str | None = None
    config: str | None = None
    columns: ColumnMap = field(default_factory=ColumnMap)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataSourceError(f"Unknown data source kind {self.kind!r}; use one of {', '.join(KINDS)}.")

    def to_string(self) -> str:
        """The canonical spec string (round-trips through :func:`parse_data_spec`)."""
        opts = self.columns.non_default()
        if self.config:
            opts["config"] = self.config
        query = ("?" + urlencode(opts)) if opts else ""
        if self.kind == "folder":
            return self.location
        if self.kind == "hf":
            rev = f"@{self.revision}" if self.revision else ""
            return f"hf:{self.location}{rev}" + (f":{self.split}" if self.split else "") + query
        if self.kind == "disk":
            return f"disk:{self.location}" + (f":{self.split}" if self.split else "") + query
        return f"parquet:{self.location}{query}"

    def __str__(self) -> str:
        return self.to_string()

    def is_local(self) -> bool:
        return self.kind != "hf"

    def exists_locally(self) -> bool:
        """Cheap check that a local source is there (the Hub is never 'local')."""
        if self.kind in ("folder", "disk"):
            return Path(self.location).expanduser().exists()
        if self.kind == "parquet":
            import glob

            return any(glob.glob(os.path.expanduser(p), recursive=True) for p in self.location.split(","))
        return False


def _split_query(text: str) -> tuple[str, dict[str, str]]:
    head, sep, query = text.partition("?")
    if not sep:
        return text, {}
    opts = dict(parse_qsl(query, keep_blank_values=False, strict_parsing=False))
    unknown = sorted(set(opts) - set(_OPTION_KEYS))
    if unknown:
        raise DataSourceError(f"Unknown option(s) {unknown} in data spec; known: {', '.join(_OPTION_KEYS)}.")
    return head, opts


def _path_and_split(rest: str) -> tuple[str, str | None]:
    """'path:split' -> (path, split); a trailing part with a path separator is part of the path."""
    head, sep, tail = rest.rpartition(":")
    if sep and head and tail and not re.search(r"[\\/]", tail) and len(head) > 1:
        return head, tail
    return rest, None


def parse_data_spec(text: str | DataSpec) -> DataSpec:
    """Parse a data source string; see the module docstring for the syntax."""
    if isinstance(text, DataSpec):
        return text
    s = str(text).strip()
    if not s:
        raise DataSourceError("Empty data spec.")
    kind, sep, rest = s.partition(":")
    if not sep or kind not in KINDS:  # a plain path (also 'C:\\...')
        return DataSpec("folder", os.path.expanduser(s))
    if not rest:
        raise DataSourceError(f"Data spec {s!r} names no location after '{kind}:'.")
    if kind == "folder":
        return DataSpec("folder", os.path.expanduser(rest))
    rest, opts = _split_query(rest)
    config = opts.pop("config", None)
    cols = ColumnMap(**opts)
    if kind == "hf":
        repo_rev, _, split = rest.partition(":")
        repo, _, rev = repo_rev.partition("@")
        if not re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", repo):
            raise DataSourceError(f"{repo!r} is not a Hub repo id (expected owner/name) in {s!r}.")
        return DataSpec("hf", repo, split or None, rev or None, config, cols)
    if kind == "disk":
        path, split = _path_and_split(rest)
        return DataSpec("disk", os.path.expanduser(path), split, None, config, cols)
    return DataSpec("parquet", rest, None, None, config, cols)


def open_dataset(spec: str | DataSpec, *, skip_bad: bool = False, require_masks: bool = True,
                 cache_dir: str | None = None) -> SegmentationDataset:
    """Open any data source: a spec string or a :class:`DataSpec`."""
    from .folder import open_folder

    sp = parse_data_spec(spec)
    src = sp.to_string()
    if sp.kind == "folder":
        ds: SegmentationDataset = open_folder(sp.location, require_masks=require_masks, skip_bad=skip_bad)
    elif sp.kind == "hf":
        ds = from_hub(sp.location, sp.split, sp.revision, sp.columns, sp.config, skip_bad=skip_bad,
                      require_masks=require_masks, cache_dir=cache_dir, source=src)
    elif sp.kind == "disk":
        ds = from_disk(sp.location, sp.split, sp.columns, skip_bad=skip_bad, require_masks=require_masks, source=src)
    else:
        ds = from_parquet(sp.location, sp.columns, skip_bad=skip_bad, require_masks=require_masks,
                          cache_dir=cache_dir, source=src)
    ds.source = src
    return ds
