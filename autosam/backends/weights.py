"""Finding back-end weights: explicit path, then the cache folder, then a verified download."""
from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm


@dataclass(frozen=True)
class WeightsFile:
    filename: str
    url: str
    sha256: str = ""  # checked when known
    md5: str = ""  # the official SAM files publish MD5s (their names carry its first 6 digits)
    size: int = 0


def cache_dir() -> Path:
    """``$AUTOSAM_CACHE`` or ``~/.cache/autosam`` (where downloaded SAM checkpoints live)."""
    return Path(os.environ.get("AUTOSAM_CACHE", Path.home() / ".cache" / "autosam")).expanduser()


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _verify(path: Path, spec: WeightsFile) -> None:
    if spec.size and path.stat().st_size != spec.size:
        raise RuntimeError(
            f"{path} has {path.stat().st_size} bytes, expected {spec.size}: the file is truncated "
            f"or not {spec.filename}. Delete it and download again from {spec.url}."
        )
    if spec.md5:
        h = hashlib.md5()
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        if h.hexdigest() != spec.md5:
            raise RuntimeError(
                f"{path} has MD5 {h.hexdigest()[:12]}…, expected {spec.md5[:12]}…: the file is "
                f"corrupt or not {spec.filename}. Delete it and download again from {spec.url}."
            )
    if spec.sha256:
        digest = file_sha256(path)
        if digest != spec.sha256:
            raise RuntimeError(
                f"{path} has SHA-256 {digest[:12]}…, expected {spec.sha256[:12]}…: the file is "
                f"corrupt or not {spec.filename}. Delete it and download again from {spec.url}."
            )


def cached_sha256(path: Path) -> str:
    """SHA-256 of a (possibly multi-GB) file, memoised in a ``.sha256`` sidecar keyed by size+mtime."""
    st = path.stat()
    side = path.with_name(path.name + ".sha256")
    key = f"{st.st_size}:{st.st_mtime_ns}"
    try:
        stored_key, digest = side.read_text().split()
        if stored_key == key:
            return digest
    except (OSError, ValueError):
        pass
    digest = file_sha256(path)
    try:
        side.write_text(f"{key} {digest}\n")
    except OSError:
        pass  # read-only folder: just recompute next time
    return digest


def resolve_weights(spec: WeightsFile, explicit: str | os.PathLike | None = None,
                    download: bool | None = None) -> Path:
    """Return a verified local path for ``spec``.

    Order: ``explicit`` path → ``cache_dir()/filename`` → download into the cache (unless offline:
    ``HF_HUB_OFFLINE=1``/``AUTOSAM_OFFLINE=1`` or ``download=False``).
    """
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"Checkpoint {p} does not exist. Expected {spec.filename} from {spec.url}.")
        return p
    cached = cache_dir() / spec.filename
    if cached.is_file():
        return cached
    if download is None:
        download = not (os.environ.get("AUTOSAM_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1")
    if not download:
        raise FileNotFoundError(
            f"SAM weights {spec.filename} are not available offline. Download {spec.url} and put it "
            f"at {cached} (or set AUTOSAM_CACHE to its folder, or pass --backend-checkpoint PATH)."
        )
    return download_weights(spec, cached)


def download_weights(spec: WeightsFile, dest: Path) -> Path:
    """Download with a progress bar into ``dest.partial``, verify, then rename (atomic)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".partial")
    try:
        with urllib.request.urlopen(spec.url, timeout=30) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length", 0)) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"Downloading {spec.filename}") as bar:
                while block := resp.read(1 << 20):
                    out.write(block)
                    bar.update(len(block))
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FileNotFoundError(
            f"Could not download {spec.url} ({exc}). Download it by hand and put it at {dest}."
        ) from exc
    _verify(tmp, spec)
    os.replace(tmp, dest)
    return dest
