"""The paper's benchmarks as data: one JSON file per benchmark, loaded into :class:`BenchmarkSpec`.

Built-in files live in ``autosam/data/benchmarks/``; users add or override benchmarks with JSON
files in ``$AUTOSAM_BENCHMARKS_DIR`` (``os.pathsep``-separated folders) or explicit files
(``--benchmarks-file``). A file holds one benchmark object or a list of them::

    {"name": "kvasir", "task": "image", "input_size": 352, "augmentation": "polyp",
     "splits": {"test": {"sources": ["{data_root}/kvasir/test",
                                     "hf:MedOtter/polyp-seg-generalization-bench:test_kvasir?image=image&mask=mask"],
                         "expected_size": 100}},
     "citation": "...", "paper_table": "..."}

A source is a data spec string (see :mod:`autosam.data.spec`) or a list of them, concatenated
(Kvasir train + ClinicDB train). ``{data_root}`` is ``$AUTOSAM_DATA_ROOT``, else the first of
``./data`` and ``../shared/data`` that exists. Sources are tried in order; the Hub is tried last
and, offline, only answers from the local cache.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Sequence

from .augment import PRESETS
from .base import ConcatDataset, DataSourceError, SegmentationDataset
from .spec import open_dataset, parse_data_spec

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).parent / "benchmarks"
TASKS = ("image", "video")


class UnknownBenchmarkError(ValueError):
    pass


class BenchmarkUnavailableError(RuntimeError):
    """No source of a benchmark could be opened; the message lists each one tried and why."""


@dataclass(frozen=True)
class SplitSpec:
    sources: tuple[tuple[str, ...], ...]  # tried in order; a tuple of several = concatenation
    expected_size: int | None = None  # number of images (frames for video) when known
    expected_cases: int | None = None  # video clips when known


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    task: str  # "image" | "video"
    splits: dict[str, SplitSpec]
    input_size: int  # g's input size for this data (MoNuSeg 512, GlaS 224, polyp 352)
    augmentation: str  # preset name in autosam.data.augment.PRESETS
    citation: str = ""
    paper_table: str = ""
    description: str = ""
    file: str = ""  # where it was defined

    @property
    def default_split(self) -> str:
        return next(iter(self.splits))

    def sources(self, split: str | None = None) -> list[tuple[str, ...]]:
        return list(self._split(split).sources)

    def _split(self, split: str | None) -> SplitSpec:
        s = split or self.default_split
        if s not in self.splits:
            raise UnknownBenchmarkError(f"Benchmark {self.name!r} has no split {s!r}; splits: {', '.join(self.splits)}.")
        return self.splits[s]

    @classmethod
    def from_dict(cls, d: dict[str, Any], file: str = "") -> "BenchmarkSpec":
        where = f"benchmark {d.get('name', '?')!r}" + (f" in {file}" if file else "")
        known = {f.name for f in fields(cls)} - {"file"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        missing = {"name", "task", "splits", "input_size", "augmentation"} - set(d)
        if missing:
            raise ValueError(f"{where}: missing keys {sorted(missing)}")
        if d["task"] not in TASKS:
            raise ValueError(f"{where}: task must be one of {TASKS}, got {d['task']!r}")
        if d["augmentation"] not in PRESETS:
            raise ValueError(f"{where}: unknown augmentation {d['augmentation']!r}; known: {', '.join(PRESETS)}")
        if not isinstance(d["splits"], dict) or not d["splits"]:
            raise ValueError(f"{where}: 'splits' must map split names to {{'sources': [...]}}")
        splits = {}
        for sname, sd in d["splits"].items():
            extra = set(sd) - {"sources", "expected_size", "expected_cases"}
            if extra or not sd.get("sources"):
                raise ValueError(f"{where}: split {sname!r} needs 'sources' (and optional expected_size/expected_cases)")
            srcs = tuple(tuple([s] if isinstance(s, str) else s) for s in sd["sources"])
            for group in srcs:
                for s in group:
                    parse_data_spec(s.replace("{data_root}", "/data_root"))  # syntax check now, not at load
            splits[sname] = SplitSpec(srcs, sd.get("expected_size"), sd.get("expected_cases"))
        return cls(name=d["name"], task=d["task"], splits=splits, input_size=int(d["input_size"]),
                   augmentation=d["augmentation"], citation=d.get("citation", ""),
                   paper_table=d.get("paper_table", ""), description=d.get("description", ""), file=file)


def default_data_root() -> Path | None:
    """``$AUTOSAM_DATA_ROOT``, else the first existing of ``./data`` and ``../shared/data``."""
    env = os.environ.get("AUTOSAM_DATA_ROOT")
    if env:
        return Path(env).expanduser()
    for cand in (Path("data"), Path("..") / "shared" / "data"):
        if cand.is_dir():
            return cand.resolve()
    return None


def _read_json(path: Path) -> list[BenchmarkSpec]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    return [BenchmarkSpec.from_dict(d, file=str(path)) for d in items]


def _user_files(extra: Iterable[str | os.PathLike] | None) -> list[Path]:
    out: list[Path] = []
    for d in filter(None, os.environ.get("AUTOSAM_BENCHMARKS_DIR", "").split(os.pathsep)):
        p = Path(d).expanduser()
        if not p.is_dir():
            raise FileNotFoundError(f"AUTOSAM_BENCHMARKS_DIR folder not found: {p}")
        out += sorted(p.glob("*.json"))
    for f in extra or ():
        p = Path(f).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"Benchmarks file not found: {p}")
        out += sorted(p.glob("*.json")) if p.is_dir() else [p]
    return out


def load_registry(extra_files: Iterable[str | os.PathLike] | None = None) -> dict[str, BenchmarkSpec]:
    """Built-in benchmarks, then user files (a user benchmark with a built-in's name replaces it)."""
    reg: dict[str, BenchmarkSpec] = {}
    for path in sorted(BUILTIN_DIR.glob("*.json")):
        for b in _read_json(path):
            reg[b.name] = b
    for path in _user_files(extra_files):
        for b in _read_json(path):
            if b.name in reg:
                log.info("Benchmark %r from %s replaces the one in %s", b.name, path, reg[b.name].file)
            reg[b.name] = b
    return reg


def list_benchmarks(extra_files: Iterable[str | os.PathLike] | None = None) -> list[BenchmarkSpec]:
    return list(load_registry(extra_files).values())


def get_benchmark(name: str, extra_files: Iterable[str | os.PathLike] | None = None) -> BenchmarkSpec:
    reg = load_registry(extra_files)
    if name not in reg:
        raise UnknownBenchmarkError(f"Unknown benchmark {name!r}; known: {', '.join(sorted(reg))}.")
    return reg[name]


def expand_source(source: str, data_root: Path | None) -> str | None:
    """Fill ``{data_root}``; None when the source needs a data root and there is none."""
    if "{data_root}" not in source:
        return source
    if data_root is None:
        return None
    return source.replace("{data_root}", str(data_root))


def _open_group(group: Sequence[str], root: Path | None, skip_bad: bool) -> SegmentationDataset:
    specs = []
    for s in group:
        full = expand_source(s, root)
        if full is None:
            raise DataSourceError("no data root (set AUTOSAM_DATA_ROOT, or create ./data or ../shared/data)")
        sp = parse_data_spec(full)
        if sp.is_local() and not sp.exists_locally():
            raise DataSourceError(f"{sp.location} does not exist")
        specs.append(sp)
    parts = [open_dataset(sp, skip_bad=skip_bad) for sp in specs]
    if len(parts) == 1:
        return parts[0]
    return ConcatDataset(parts, names=[Path(sp.location).parent.name or str(k) for k, sp in enumerate(specs)])


def _check_size(name: str, ds: SegmentationDataset, sp: SplitSpec) -> None:
    """A size other than the paper's is worth a warning (e.g. the Hub's MoNuSeg has 37 train images)."""
    if sp.expected_size is not None and len(ds) != sp.expected_size:
        log.warning("Benchmark %s: %s has %d samples, expected %d.", name, ds.source, len(ds), sp.expected_size)
    cases = getattr(ds, "cases", None)
    if sp.expected_cases is not None and callable(cases) and len(cases()) != sp.expected_cases:
        log.warning("Benchmark %s: %s has %d cases, expected %d.", name, ds.source, len(cases()), sp.expected_cases)


def load_benchmark(name: str | BenchmarkSpec, split: str | None = None, *, data_root: str | os.PathLike | None = None,
                   extra_files: Iterable[str | os.PathLike] | None = None, skip_bad: bool = False) -> SegmentationDataset:
    """Open the first available source of a benchmark split; error lists every source tried."""
    spec = name if isinstance(name, BenchmarkSpec) else get_benchmark(name, extra_files)
    sp = spec._split(split)
    root = Path(data_root).expanduser() if data_root else default_data_root()
    tried: list[str] = []
    for group in sp.sources:
        label = " + ".join(group)
        try:
            ds = _open_group(group, root, skip_bad)
        except (DataSourceError, OSError, ValueError) as exc:  # ConnectionError is an OSError
            tried.append(f"  - {label}: {exc}")
            continue
        except Exception as exc:  # a broken remote source must not hide the next one
            tried.append(f"  - {label}: {type(exc).__name__}: {exc}")
            continue
        _check_size(spec.name, ds, sp)
        return ds
    raise BenchmarkUnavailableError(
        f"No source of benchmark {spec.name!r} (split {split or spec.default_split!r}) is available "
        f"(data root: {root or 'none'}). Tried:\n" + "\n".join(tried) + "\nPut the data in one of the local "
        "folders (set AUTOSAM_DATA_ROOT), unset HF_HUB_OFFLINE to use the Hub, or point a benchmark JSON "
        "(AUTOSAM_BENCHMARKS_DIR / --benchmarks-file) at your copy."
    )
