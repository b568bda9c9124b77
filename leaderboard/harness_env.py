"""Protocol facts for result records: code version, hardware, time (what makes numbers comparable)."""
from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The checkout's commit (+ '-dirty' when tracked files changed); None outside a git tree."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("-dirty" if dirty else "") if sha else None


def code_version() -> str:
    import autosam

    commit = git_commit()
    return f"autosam {autosam.__version__}" + (f" ({commit[:12]}{'-dirty' if commit.endswith('-dirty') else ''})"
                                               if commit else "")


@lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: str | torch.device) -> dict[str, Any]:
    dev = torch.device(device)
    info: dict[str, Any] = {"device": str(dev), "cpu": cpu_model(), "torch": torch.__version__,
                            "python": platform.python_version()}
    if dev.type == "cuda" and torch.cuda.is_available():
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        info["gpu"] = torch.cuda.get_device_name(idx)
        info["cuda"] = torch.version.cuda
        info["dtype"] = "bf16 autocast"
    else:
        info["dtype"] = "float32"
        info["threads"] = torch.get_num_threads()
    return info


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
