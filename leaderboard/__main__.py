"""``python -m leaderboard {evaluate,worker} ...``: the harness and the worker under one name."""
from __future__ import annotations

import sys

USAGE = "usage: python -m leaderboard {evaluate,worker} [args...]  (see --help of each)"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("evaluate", "worker"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "evaluate":
        from .evaluate import main as run
    else:
        from .worker import main as run
    return run(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
