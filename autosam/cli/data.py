"""`autosam data ...`: pack a folder into a Hugging Face data set, list benchmarks, check a source."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _pack(args: argparse.Namespace) -> int:
    from autosam.data.pack import pack_folder

    res = pack_folder(args.folder, args.out, split=args.split, push_to_hub_repo=args.push_to_hub,
                      private=args.private, skip_bad=args.skip_bad, overwrite=args.overwrite)
    for b in res.bad:
        print(f"skipped {b.id}: {b.reason}", file=sys.stderr)
    print(f"Packed {res.n} {res.task} samples as split {res.split!r} into {res.out} "
          f"(load with --data disk:{res.out}:{res.split})")
    if res.pushed_to:
        print(f"Pushed to https://huggingface.co/datasets/{res.pushed_to}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from autosam.data.registry import default_data_root, list_benchmarks

    rows = list_benchmarks(args.benchmarks_file)
    if args.json:
        out: list[dict[str, Any]] = []
        for b in rows:
            out.append({"name": b.name, "task": b.task, "input_size": b.input_size, "augmentation": b.augmentation,
                        "splits": {k: [list(g) for g in v.sources] for k, v in b.splits.items()},
                        "paper_table": b.paper_table, "citation": b.citation, "file": b.file})
        print(json.dumps(out, indent=2))
        return 0
    print(f"data root: {default_data_root() or '(none: set AUTOSAM_DATA_ROOT)'}")
    for b in rows:
        splits = ", ".join(f"{k}({v.expected_size or '?'})" for k, v in b.splits.items())
        print(f"{b.name:16s} {b.task:6s} size {b.input_size:<4d} aug {b.augmentation:6s} {splits:18s} {b.description}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from autosam.data.registry import UnknownBenchmarkError, get_benchmark, load_benchmark
    from autosam.data.spec import open_dataset

    try:
        get_benchmark(args.source, args.benchmarks_file)
    except UnknownBenchmarkError:
        ds = open_dataset(args.source)  # not a benchmark name: a data spec
    else:
        ds = load_benchmark(args.source, args.split, extra_files=args.benchmarks_file)
    bad = ds.validate(progress=args.progress)
    print(f"{ds.source}: {len(ds)} samples, {len(bad)} unreadable, task {ds.task}")
    for b in bad:
        print(f"  bad {b.id}: {b.reason}")
    print(f"fingerprint: {ds.fingerprint('stat' if args.quick else 'content')}")
    return 1 if bad else 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("data", help="data sets: pack folders, list benchmarks, check sources")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    pk = sub.add_parser("pack", help="turn a folder (images/+masks/ or SUN-SEG Frame/+GT/) into a HF data set")
    pk.add_argument("folder")
    pk.add_argument("out", help="output folder (save_to_disk)")
    pk.add_argument("--split", default=None, help="split name (default: the folder's name if it is one, else train)")
    pk.add_argument("--push-to-hub", metavar="REPO", default=None, help="also push to this Hub repo (needs HF_TOKEN)")
    pk.add_argument("--private", action="store_true", help="create the Hub repo as private")
    pk.add_argument("--skip-bad", action="store_true", help="leave unreadable samples out instead of failing")
    pk.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    pk.add_argument("--debug", action="store_true")
    pk.set_defaults(func=_pack)

    ls = sub.add_parser("list", help="list the benchmark registry")
    ls.add_argument("--benchmarks-file", action="append", default=None, help="extra benchmark JSON file or folder")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)

    ck = sub.add_parser("check", help="read every sample of a benchmark or data spec; report bad ones")
    ck.add_argument("source", help="benchmark name or data spec (folder, hf:, disk:, parquet:)")
    ck.add_argument("--split", default=None)
    ck.add_argument("--benchmarks-file", action="append", default=None)
    ck.add_argument("--quick", action="store_true", help="fingerprint from file names, sizes and mtimes")
    ck.add_argument("--progress", action="store_true")
    ck.add_argument("--debug", action="store_true")
    ck.set_defaults(func=_check)
