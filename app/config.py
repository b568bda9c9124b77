"""App settings: one dataclass, filled from command-line flags, then environment, then defaults."""
from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Where `autosam train` output is expected to be shipped with the package (the lead adds it).
ASSETS_DIR = Path(__file__).resolve().parents[1] / "autosam" / "assets"


def on_space() -> bool:
    """True inside a Hugging Face Space (the platform sets SPACE_ID)."""
    return bool(os.environ.get("SPACE_ID"))


def oauth_enabled() -> bool:
    """HF OAuth is configured (Space README has ``hf_oauth: true``)."""
    return on_space() and bool(os.environ.get("OAUTH_CLIENT_ID"))


def hub_offline() -> bool:
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "AUTOSAM_OFFLINE"))


def _default_device() -> str:
    try:
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover - torch is a hard dependency
        return "cpu"


def default_threads() -> int:
    """Half the cores (at least 1). On a small shared CPU, two PyTorch threads fighting another
    busy process are several times slower than one (measured: LiteMedSAM's decoder 1.0 s with 2
    threads vs 0.07 s with 1 on 2 cores next to a training job)."""
    return max(1, (os.cpu_count() or 1) // 2)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"error: environment variable {name}={raw!r} is not an integer") from None


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


@dataclass
class AppConfig:
    """Everything the app needs to start. ``None`` fields are resolved at start-up."""

    backend: str | None = None  # None: the checkpoint's back-end, else lite_medsam
    checkpoint: str | None = None  # None: best autosam/assets/*.safetensors, if any
    device: str = field(default_factory=_default_device)
    threads: int | None = None  # PyTorch CPU threads; None: leave PyTorch's setting alone
    db_path: str | None = None  # None: leaderboard.store.default_db_path()
    submissions_dir: str | None = None  # None: leaderboard.submission default (./submissions)
    cache_dir: str = field(default_factory=lambda: str(Path(tempfile.gettempdir()) / "autosam-app"))
    host: str = "127.0.0.1"
    port: int | None = None  # None: GRADIO_SERVER_PORT or Gradio's default (7860, next free)
    max_image_side: int = 2048  # larger uploads are downscaled (with a note)
    display_side: int = 768  # overlays are sent to the browser at most this large
    hub_examples: bool = True  # fetch a few benchmark test images when online (background)
    hub_examples_per_set: int = 2
    refresh_s: float = 60.0  # leaderboard / queue auto-refresh
    queue_size: int = 32
    seed_paper: bool = True

    @classmethod
    def from_args(cls, argv: Sequence[str] | None = None) -> AppConfig:
        p = build_parser()
        a = p.parse_args(argv)
        cfg = cls(
            backend=a.backend or os.environ.get("AUTOSAM_BACKEND") or None,
            checkpoint=a.checkpoint or os.environ.get("AUTOSAM_CHECKPOINT") or None,
            device=a.device or os.environ.get("AUTOSAM_DEVICE") or _default_device(),
            threads=a.threads or _env_int("AUTOSAM_THREADS", 0) or default_threads(),
            db_path=a.db or None,
            submissions_dir=a.submissions_dir or None,
            host=a.host or os.environ.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if on_space() else "127.0.0.1"),
            port=a.port if a.port is not None else (_env_int("GRADIO_SERVER_PORT", 0) or None),
            max_image_side=a.max_image_side or _env_int("AUTOSAM_MAX_IMAGE_SIDE", 2048),
            hub_examples=(not a.no_hub_examples) and _env_bool("AUTOSAM_HUB_EXAMPLES", True),
            refresh_s=a.refresh_s,
            queue_size=a.queue_size,
        )
        if a.cache_dir or os.environ.get("AUTOSAM_APP_CACHE"):
            cfg.cache_dir = a.cache_dir or os.environ["AUTOSAM_APP_CACHE"]
        if cfg.max_image_side < 64:
            p.error("--max-image-side must be at least 64")
        return cfg


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python app.py",
        description="AutoSAM Gradio app: segment & compare, leaderboard, submissions. Offline by default.",
    )
    p.add_argument("--backend", help="frozen SAM back-end (lite_medsam, sam_vit_b/l/h, sam_tiny); "
                   "env AUTOSAM_BACKEND; default: the checkpoint's, else lite_medsam")
    p.add_argument("--checkpoint", help="trained model NAME.safetensors (NAME.json beside it); "
                   "env AUTOSAM_CHECKPOINT; default: best autosam/assets/*.safetensors")
    p.add_argument("--device", help="cpu or cuda (env AUTOSAM_DEVICE; default: cuda when available)")
    p.add_argument("--threads", type=int, help="PyTorch CPU threads (env AUTOSAM_THREADS; default: half the cores)")
    p.add_argument("--db", help="leaderboard SQLite file (env AUTOSAM_LEADERBOARD_DB; default ./leaderboard.sqlite)")
    p.add_argument("--submissions-dir", help="where accepted submissions are stored "
                   "(env AUTOSAM_SUBMISSIONS_DIR; default ./submissions)")
    p.add_argument("--cache-dir", help="examples and outputs (env AUTOSAM_APP_CACHE; default $TMPDIR/autosam-app)")
    p.add_argument("--host", help="address to listen on (env GRADIO_SERVER_NAME; "
                   "default 127.0.0.1, 0.0.0.0 on a Space)")
    p.add_argument("--port", type=int, help="port (env GRADIO_SERVER_PORT; default 7860 or the next free one)")
    p.add_argument("--max-image-side", type=int,
                   help="downscale larger uploads (env AUTOSAM_MAX_IMAGE_SIDE; default 2048)")
    p.add_argument("--no-hub-examples", action="store_true",
                   help="never fetch example images from the Hub (also off when HF_HUB_OFFLINE=1)")
    p.add_argument("--refresh-s", type=float, default=60.0, help="leaderboard auto-refresh period (s)")
    p.add_argument("--queue-size", type=int, default=32, help="max queued requests")
    return p
