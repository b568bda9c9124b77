"""`autosam` entry point: each command lives in its own module with a ``register`` function."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# Each module adds its sub-command(s) via register(subparsers).
COMMAND_MODULES = ["models", "metrics", "data", "train", "evaluate", "predict"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autosam",
        description="AutoSAM: prompt-free SAM for medical images (train, evaluate, predict, score).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"autosam.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        # Expected user errors carry a message written for people; no traceback.
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
