"""Example images. Offline: pictures the app draws itself (polyp-, gland- and nuclei-like, with
their masks), written once to the cache folder. Online (not HF_HUB_OFFLINE): optionally a few
test images of the benchmark Hub data sets, fetched once in a background thread and cached."""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np
from PIL import Image

from .config import hub_offline

log = logging.getLogger(__name__)

SYNTH_VERSION = 1  # bump to regenerate cached pictures after changing the drawing code


@dataclass(frozen=True)
class Example:
    name: str
    image: Path
    mask: Path | None
    caption: str
    source: str  # "synthetic" | "hub"


# ---- drawing helpers -------------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    n = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), sigma)
    return n / (np.abs(n).max() + 1e-6)


def _blob(rng: np.random.Generator, h: int, w: int, cy: float, cx: float, r: float,
          wobble: float = 0.18, aspect: float = 1.0) -> np.ndarray:
    """A smooth irregular blob: a radius modulated by a few random harmonics of the angle."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    dy, dx = (yy - cy) * aspect, xx - cx
    ang, rad = np.arctan2(dy, dx), np.hypot(dy, dx)
    mod = np.ones_like(ang)
    for k in (2, 3, 5):
        mod += wobble / k * rng.uniform(0.5, 1.0) * np.cos(k * ang + rng.uniform(0, 2 * np.pi))
    return rad <= r * mod


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def make_polyp(seed: int, h: int = 384, w: int = 448) -> tuple[np.ndarray, np.ndarray]:
    """Colonoscopy-like frame: pink mucosa, vessels, dark vignette, a lit reddish polyp."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    tex = _smooth_noise(rng, h, w, 18) * 0.6 + _smooth_noise(rng, h, w, 4) * 0.4
    base = np.array([205, 120, 100], np.float32) + tex[..., None] * np.array([25, 20, 18], np.float32)
    vessels = np.abs(_smooth_noise(rng, h, w, 10)) < 0.035
    base[vessels] *= np.array([0.75, 0.55, 0.55], np.float32)
    cy, cx = rng.uniform(0.35, 0.65) * h, rng.uniform(0.3, 0.7) * w
    r = rng.uniform(0.14, 0.22) * min(h, w)
    mask = _blob(rng, h, w, cy, cx, r, aspect=rng.uniform(0.8, 1.25))
    # Dome shading: lit from the upper left, darker rim.
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    dome = np.sqrt(np.clip(dist / (dist.max() + 1e-6), 0, 1))
    light = 1 + 0.25 * ((cx - xx) + (cy - yy)) / (2 * r)
    polyp = np.array([225, 105, 95], np.float32) * (0.8 + 0.3 * dome[..., None]) * light[..., None]
    polyp += _smooth_noise(rng, h, w, 3)[..., None] * 12
    img = np.where(mask[..., None], polyp, base)
    # Specular highlights on the polyp and the wet mucosa.
    for _ in range(int(rng.integers(3, 7))):
        on_polyp = rng.random() < 0.6
        ys, xs = np.nonzero(mask if on_polyp else ~mask)
        i = rng.integers(len(ys))
        cv2.ellipse(img, (int(xs[i]), int(ys[i])), (int(rng.integers(2, 7)), int(rng.integers(1, 4))),
                    float(rng.uniform(0, 180)), 0, 360, (255, 255, 250), -1, cv2.LINE_AA)
    # Round field of view with a dark vignette, as endoscopes show.
    rr = np.hypot((yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2))
    img *= np.clip(1.25 - 0.55 * rr ** 2, 0, 1)[..., None]
    img[rr > 1.12] = 8
    return _to_uint8(img), mask & (rr <= 1.12)


def make_glands(seed: int, h: int = 352, w: int = 416) -> tuple[np.ndarray, np.ndarray]:
    """H&E-like colon tissue: pink stroma, glands with a pale lumen and a ring of purple nuclei."""
    rng = np.random.default_rng(seed)
    fib = _smooth_noise(rng, h, w, 2.5) * 0.5 + _smooth_noise(rng, h, w, 12) * 0.5
    img = np.array([232, 172, 205], np.float32) + fib[..., None] * np.array([18, 30, 20], np.float32)
    mask = np.zeros((h, w), bool)
    for _ in range(int(rng.integers(3, 6))):
        for _try in range(30):
            cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
            r = rng.uniform(0.09, 0.16) * min(h, w)
            g = _blob(rng, h, w, cy, cx, r, wobble=0.3, aspect=rng.uniform(0.7, 1.4))
            if not (g & cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)).any():
                break
        else:
            continue
        mask |= g
        lumen = cv2.erode(g.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(3, int(r * 0.45))).astype(bool)
        img[g] = np.array([196, 120, 190], np.float32) + fib[g][:, None] * 15  # epithelium cytoplasm
        img[lumen] = np.array([246, 236, 242], np.float32)
        inner = cv2.erode(g.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(2, int(r * 0.2)))
        ring = g & ~inner.astype(bool)
        ys, xs = np.nonzero(ring)
        for i in rng.choice(len(ys), size=min(len(ys), int(r * 2.2)), replace=False):
            cv2.ellipse(img, (int(xs[i]), int(ys[i])), (int(rng.integers(3, 5)), int(rng.integers(2, 4))),
                        float(rng.uniform(0, 180)), 0, 360, (88, 40, 130), -1, cv2.LINE_AA)
    # Scattered stromal nuclei (not glands).
    for _ in range(60):
        y, x = int(rng.integers(h)), int(rng.integers(w))
        if not mask[y, x]:
            cv2.circle(img, (x, y), int(rng.integers(1, 3)), (120, 60, 150), -1, cv2.LINE_AA)
    img += _smooth_noise(rng, h, w, 1.0)[..., None] * 6
    return _to_uint8(img), mask


def make_nuclei(seed: int, h: int = 320, w: int = 320) -> tuple[np.ndarray, np.ndarray]:
    """MoNuSeg-like patch: many small dark nuclei on pink tissue."""
    rng = np.random.default_rng(seed)
    img = np.array([225, 160, 200], np.float32) + _smooth_noise(rng, h, w, 6)[..., None] * np.array([20, 30, 20])
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(40, 70))):
        c = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (int(rng.integers(5, 11)), int(rng.integers(4, 8)))
        ang = float(rng.uniform(0, 180))
        shade = rng.uniform(0.8, 1.1)
        cv2.ellipse(img, c, axes, ang, 0, 360, tuple(float(v * shade) for v in (95, 45, 140)), -1, cv2.LINE_AA)
        cv2.ellipse(mask, c, axes, ang, 0, 360, 1, -1)
    img += _smooth_noise(rng, h, w, 1.0)[..., None] * 8
    return _to_uint8(img), mask.astype(bool)


SYNTHETIC = (
    ("polyp_1", make_polyp, 1, "Synthetic polyp (colonoscopy-like)"),
    ("polyp_2", make_polyp, 7, "Synthetic polyp (colonoscopy-like)"),
    ("glands_1", make_glands, 3, "Synthetic glands (GlaS-like H&E)"),
    ("glands_2", make_glands, 11, "Synthetic glands (GlaS-like H&E)"),
    ("nuclei_1", make_nuclei, 5, "Synthetic nuclei (MoNuSeg-like)"),
)


def _save(img: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(img).save(tmp, format="PNG")
    tmp.replace(path)


def synthetic_examples(cache_dir: str | Path) -> list[Example]:
    """Draw (once) and list the synthetic examples: ``<cache>/examples/synthetic_v1/NAME.png`` + ``NAME_mask.png``."""
    folder = Path(cache_dir) / "examples" / f"synthetic_v{SYNTH_VERSION}"
    out = []
    for name, fn, seed, caption in SYNTHETIC:
        img_p, mask_p = folder / f"{name}.png", folder / f"{name}_mask.png"
        if not (img_p.is_file() and mask_p.is_file()):
            img, mask = fn(seed)
            _save(img, img_p)
            _save(mask.astype(np.uint8) * 255, mask_p)
        out.append(Example(name, img_p, mask_p, caption, "synthetic"))
    return out


# ---- optional Hub examples ---------------------------------------------------------------------
HUB_SETS = (
    # (name, repo, split, image column, mask column) — test splits of the paper's benchmarks
    ("kvasir", "MedOtter/polyp-seg-generalization-bench", "test_kvasir", "image", "mask"),
    ("monuseg", "Angelou0516/MoNuSeg", "test", "image", "mask"),
)


def hub_folder(cache_dir: str | Path) -> Path:
    return Path(cache_dir) / "examples" / "hub"


def hub_examples(cache_dir: str | Path) -> list[Example]:
    """Hub test images already cached on disk (never touches the network)."""
    folder = hub_folder(cache_dir)
    out = []
    for img_p in sorted(folder.glob("*.png")):
        if img_p.stem.endswith("_mask"):
            continue
        mask_p = img_p.with_name(f"{img_p.stem}_mask.png")
        bench = img_p.stem.split("_")[0]
        out.append(Example(img_p.stem, img_p, mask_p if mask_p.is_file() else None,
                           f"{bench} test image (Hub)", "hub"))
    return out


def list_examples(cache_dir: str | Path) -> list[Example]:
    return synthetic_examples(cache_dir) + hub_examples(cache_dir)


def _cell_to_array(cell, loader):
    if isinstance(cell, dict):
        cell = cell.get("bytes") or cell.get("path")
    return loader(cell)


def fetch_hub_examples(cache_dir: str | Path, per_set: int = 2, sets=HUB_SETS, load_dataset=None) -> int:
    """Stream the first ``per_set`` test images of each Hub set into the cache (skips what is
    cached). Returns how many were written. Errors are logged per set, never raised."""
    from autosam.image_io import load_image, load_mask

    if load_dataset is None:
        from datasets import load_dataset
    folder = hub_folder(cache_dir)
    written = 0
    for name, repo, split, icol, mcol in sets:
        wanted = [folder / f"{name}_{i}.png" for i in range(per_set)]
        if all(p.is_file() for p in wanted):
            continue
        try:
            ds = load_dataset(repo, split=split, streaming=True)
            for i, row in enumerate(ds):
                if i >= per_set:
                    break
                img = _cell_to_array(row[icol], load_image)
                mask = _cell_to_array(row[mcol], load_mask)
                if mask.shape != img.shape[:2]:
                    continue
                _save(mask.astype(np.uint8) * 255, folder / f"{name}_{i}_mask.png")
                _save(img, folder / f"{name}_{i}.png")
                written += 1
        except Exception as exc:  # offline, repo moved, schema changed: examples are optional
            log.info("Hub examples from %s unavailable: %s", repo, exc)
    return written


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """One quick TCP connect to the Hub, so an offline machine does not log a storm of retries."""
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        with socket.create_connection((host.hostname or "huggingface.co", host.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def _fetch_if_online(cache_dir: str | Path, per_set: int) -> None:
    if not all((hub_folder(cache_dir) / f"{name}_{i}.png").is_file() for name, *_ in HUB_SETS for i in range(per_set)):
        if hub_reachable():
            fetch_hub_examples(cache_dir, per_set)
        else:
            log.info("Hub not reachable: only the synthetic examples are offered.")


def start_hub_fetch(cache_dir: str | Path, enabled: bool = True, per_set: int = 2) -> threading.Thread | None:
    """Fetch Hub examples in a daemon thread when allowed and online; never blocks start-up."""
    if not enabled or hub_offline():
        return None
    t = threading.Thread(target=_fetch_if_online, args=(cache_dir, per_set), name="hub-examples", daemon=True)
    t.start()
    return t
