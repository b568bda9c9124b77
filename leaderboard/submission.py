"""Checks a submission must pass before it is queued, and the ``submit`` entry point.

Nothing a submitter sends is ever executed: weights must be safetensors (pickles are refused
by extension and by magic bytes), the config must parse as ``ModelConfig``, and the weights
must load strictly into AutoSAM's own classes. All checks run on the staged copy, so what is
checked is exactly what the worker will evaluate.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from autosam.config import ModelConfig

from .records import Submission
from .store import DuplicateSubmission, RateLimited, ResultsStore

if TYPE_CHECKING:
    from .hub_sync import HubSync

ENV_SUBMISSIONS_DIR = "AUTOSAM_SUBMISSIONS_DIR"
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle", ".joblib", ".tar", ".zip")
WEIGHTS_NAME, CONFIG_NAME = "model.safetensors", "model.json"
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
_UID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SubmissionRefused(Exception):
    """A submission that will not be queued; ``reason`` is meant for the submitter."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def _default_dir() -> Path:
    return Path(os.environ.get(ENV_SUBMISSIONS_DIR) or "./submissions")


@dataclass
class SubmissionPolicy:
    max_bytes: int = 200 * 1024 * 1024
    max_config_bytes: int = 1024 * 1024
    rate_limit: int = 5
    rate_window_s: float = 24 * 3600
    check_load: bool = True  # strict load through autosam.checkpoint.load_checkpoint
    submissions_dir: Path = field(default_factory=_default_dir)


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


# -- individual checks ------------------------------------------------------------------------
def check_weights_name(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise SubmissionRefused(
            f"'{path.name}' looks like a pickled PyTorch file ({suffix}). Pickles can run code when "
            "loaded, so only .safetensors weights are accepted: save with autosam's save_checkpoint "
            "or safetensors.torch.save_file."
        )
    if suffix != ".safetensors":
        raise SubmissionRefused(f"'{path.name}' is not a .safetensors file; only .safetensors weights are accepted.")


def check_weights_bytes(path: Path) -> None:
    """Refuse pickles by magic bytes and anything that is not a well-formed safetensors file."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:2] == b"PK":
            raise SubmissionRefused(
                "The weights file is a zip archive (the format of torch.save), renamed to .safetensors. "
                "Pickled checkpoints are refused; convert it with safetensors.torch.save_file."
            )
        if head[:1] == b"\x80":
            raise SubmissionRefused(
                "The weights file starts with a pickle header (protocol 2+): it is a pickle, not "
                "safetensors. Pickled checkpoints are refused."
            )
        if len(head) < 8:
            raise SubmissionRefused("The weights file is too short to be a safetensors file.")
        (n,) = struct.unpack("<Q", head)
        if not 2 <= n <= min(_MAX_HEADER, size - 8):
            raise SubmissionRefused("The weights file is not a valid safetensors file (bad header length).")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SubmissionRefused("The weights file is not a valid safetensors file (header is not JSON).") from None
    if not isinstance(header, dict):
        raise SubmissionRefused("The weights file is not a valid safetensors file (header is not a JSON object).")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if not tensors:
        raise SubmissionRefused("The weights file contains no tensors.")
    try:
        end = max(int(v["data_offsets"][1]) for v in tensors.values())
    except (TypeError, KeyError, IndexError, ValueError):
        raise SubmissionRefused("The weights file is not a valid safetensors file (bad tensor entries).") from None
    if end != size - 8 - n:
        raise SubmissionRefused(
            f"The weights file is truncated or padded: its header describes {end} bytes of tensor data "
            f"but it holds {size - 8 - n}."
        )


def check_config_text(text: str) -> ModelConfig:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionRefused(f"The config is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).") from None
    try:
        return ModelConfig.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise SubmissionRefused(f"The config is not an AutoSAM model config: {exc}") from None


def local_backend_sha256(name: str) -> str | None:
    """The back-end's weight hash when knowable here (known constant or weights on disk)."""
    try:
        from autosam import backends
        from autosam.backends.weights import cache_dir, cached_sha256

        digest = backends.expected_sha256(name)
        if digest:
            return digest
        entry = getattr(backends, "BACKENDS", {}).get(name)
        if entry is not None and entry.weights_file and entry.weights_present():
            return cached_sha256(cache_dir() / entry.weights_file)
    except Exception:  # a broken local cache must not block submissions; the worker re-checks
        return None
    return None


def check_backend(cfg: ModelConfig, backend_hash: Callable[[str], str | None] = local_backend_sha256) -> None:
    from autosam.backends import list_backends

    names = [b.name for b in list_backends()]
    if cfg.backend not in names:
        raise SubmissionRefused(f"Unknown back-end '{cfg.backend}' in the config; known back-ends: {', '.join(names)}.")
    if not cfg.backend_sha256:
        raise SubmissionRefused(
            "The config has no backend_sha256, so we cannot tell which back-end weights g was trained "
            "against. Save the model with autosam's save_checkpoint, which records it."
        )
    local = backend_hash(cfg.backend)
    if local and local != cfg.backend_sha256:
        raise SubmissionRefused(
            f"The config says g was trained against {cfg.backend} weights with SHA-256 "
            f"{cfg.backend_sha256[:12]}..., but this leaderboard's {cfg.backend} weights have "
            f"{local[:12]}...: the model would be evaluated with a different back-end than it was trained on."
        )


def check_strict_load(weights: Path) -> None:
    """Load into our own g/h classes (strict). ``weights`` has its JSON config next to it."""
    from autosam.checkpoint import CheckpointError, load_checkpoint

    try:
        load_checkpoint(weights)
    except CheckpointError as exc:
        raise SubmissionRefused(f"The weights do not load into AutoSAM: {exc}") from None
    except Exception as exc:  # strict load_state_dict, shape mismatch, corrupt tensors
        raise SubmissionRefused(
            f"The weights do not load strictly into AutoSAM's model for this config: {type(exc).__name__}: {exc}"
        ) from None


# -- staging --------------------------------------------------------------------------------
def _copy_hashing(src: Path, dst: Path, max_bytes: int) -> str:
    """Copy ``src`` to ``dst`` (fsynced) and return its SHA-256; enforce the cap while reading,
    so a file that grows after the size check cannot slip through."""
    h, total = hashlib.sha256(), 0
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while block := fi.read(1 << 20):
            total += len(block)
            if total > max_bytes:
                raise SubmissionRefused(f"The weights file is larger than the {_mb(max_bytes)} limit.")
            h.update(block)
            fo.write(block)
        fo.flush()
        os.fsync(fo.fileno())
    return h.hexdigest()


def _clean_text(s: str, what: str, max_len: int = 100) -> str:
    s = re.sub(r"[\x00-\x1f\x7f]", "", s or "").strip()
    if not s:
        raise SubmissionRefused(f"Please give a {what}.")
    if len(s) > max_len:
        raise SubmissionRefused(f"The {what} is too long ({len(s)} characters; at most {max_len}).")
    return s


def submit(
    store: ResultsStore,
    weights_path: str | os.PathLike[str],
    config_path: str | os.PathLike[str],
    display_name: str,
    submitter: str,
    *,
    policy: SubmissionPolicy | None = None,
    uid: str | None = None,
    backend_hash: Callable[[str], str | None] = local_backend_sha256,
    hub: HubSync | None = None,
) -> Submission:
    """Run every check, copy the files into ``<submissions_dir>/<uid>/`` and queue a PENDING job.

    Raises :class:`SubmissionRefused` with a readable reason on any refusal.
    """
    policy = policy or SubmissionPolicy()
    display_name = _clean_text(display_name, "model name")
    submitter = _clean_text(submitter, "user name")
    uid = uid or uuid.uuid4().hex
    if not _UID_RE.fullmatch(uid):
        raise SubmissionRefused("Invalid request id.")
    limit = (policy.rate_limit, policy.rate_window_s)
    recent = store.count_recent_submissions(submitter, policy.rate_window_s)
    if recent >= policy.rate_limit:
        raise SubmissionRefused(str(RateLimited(recent, *limit)))

    weights, config = Path(weights_path), Path(config_path)
    for p, what in ((weights, "weights"), (config, "config")):
        if not p.is_file():
            raise SubmissionRefused(f"The {what} file '{p.name}' was not found.")
    check_weights_name(weights)
    if weights.stat().st_size > policy.max_bytes:
        raise SubmissionRefused(
            f"The weights file is {_mb(weights.stat().st_size)}; the limit is {_mb(policy.max_bytes)}."
        )
    if config.stat().st_size > policy.max_config_bytes:
        raise SubmissionRefused(f"The config file is larger than {_mb(policy.max_config_bytes)}.")
    try:
        config_text = config.read_text("utf-8")
    except UnicodeDecodeError:
        raise SubmissionRefused("The config file is not UTF-8 text.") from None
    cfg = check_config_text(config_text)
    check_backend(cfg, backend_hash)

    root = Path(policy.submissions_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / uid
    if final.exists():
        raise SubmissionRefused("A submission with this request id already exists.")
    stage = root / f".{uid}.partial-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        sha = _copy_hashing(weights, stage / WEIGHTS_NAME, policy.max_bytes)
        check_weights_bytes(stage / WEIGHTS_NAME)
        (stage / CONFIG_NAME).write_text(config_text, encoding="utf-8")
        dup = store.find_by_weights_hash(sha)
        if dup is not None:
            raise SubmissionRefused(str(DuplicateSubmission(dup)))
        if policy.check_load:
            check_strict_load(stage / WEIGHTS_NAME)
        os.replace(stage, final)  # atomic: the folder appears complete or not at all
        try:
            # Guards again inside the write transaction: concurrent submits cannot both pass.
            sub = store.add_submission(
                submitter, display_name, sha, cfg.to_dict(), backend=cfg.backend,
                checkpoint_path=str(final / WEIGHTS_NAME), uid=uid, reject_duplicate=True, rate_limit=limit,
            )
        except (DuplicateSubmission, RateLimited) as exc:
            shutil.rmtree(final, ignore_errors=True)
            raise SubmissionRefused(str(exc)) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    if hub is not None:
        hub.push_submission(sub)
    return sub

