"""Robust image and mask decoding: one place that turns "whatever the user has" into arrays.

Images become ``uint8`` RGB ``H×W×3``; masks become ``bool`` ``H×W``. Everything odd that real
medical data throws at us is handled here: grayscale, RGBA, palette, 16-bit, float arrays,
EXIF orientation, JPEG-noisy masks, 0/1 vs 0/255 masks, RGB masks.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ImageLike = Union[str, os.PathLike, bytes, Image.Image, np.ndarray]

# Decompression-bomb guard: refuse absurd sizes, but allow large whole-slide tiles.
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageDecodeError(ValueError):
    """An input could not be read as an image; the message says what and what to do."""


def _open_pil(src: Union[str, os.PathLike, bytes, Image.Image]) -> Image.Image:
    if isinstance(src, Image.Image):
        return src
    name = "<bytes>" if isinstance(src, (bytes, bytearray)) else str(src)
    try:
        if isinstance(src, (bytes, bytearray)):
            img = Image.open(io.BytesIO(src))
        else:
            if not Path(src).exists():
                raise ImageDecodeError(f"Image file not found: {name}")
            img = Image.open(src)
        img.load()
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(
            f"{name} is too large to decode safely ({exc}). Downscale it below {MAX_PIXELS:,} pixels."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(
            f"Could not read {name} as an image ({type(exc).__name__}: {exc}). "
            "Use a PNG, JPEG, WebP, BMP or TIFF file."
        ) from exc
    return img


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale any numeric array to uint8 (16-bit and float images are min-max or range scaled)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    a = arr.astype(np.float64)
    if not np.isfinite(a).all():
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    if np.issubdtype(arr.dtype, np.floating) and a.min() >= 0.0 and a.max() <= 1.0:
        return np.round(a * 255.0).astype(np.uint8)
    if arr.dtype == np.uint16 and a.max() > 255:
        # Medical 16-bit data rarely fills 0..65535: stretch the range actually used.
        lo, hi = float(a.min()), float(a.max())
        return np.round((a - lo) / max(hi - lo, 1e-12) * 255.0).astype(np.uint8)
    if a.min() >= 0 and a.max() <= 255:
        return np.round(a).astype(np.uint8)
    lo, hi = float(a.min()), float(a.max())
    return np.round((a - lo) / max(hi - lo, 1e-12) * 255.0).astype(np.uint8)


def _array_to_rgb(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        arr = _to_uint8(arr)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[2] not in (1, 3, 4):
        arr = np.transpose(arr, (1, 2, 0))  # CHW -> HWC
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ImageDecodeError(
            f"Expected an image array of shape H×W, H×W×3 or H×W×4, got {arr.shape}."
        )
    arr = _to_uint8(arr)
    c = arr.shape[2]
    if c == 1:
        return np.repeat(arr, 3, axis=2)
    if c == 2:  # gray + alpha
        return np.repeat(arr[:, :, :1], 3, axis=2)
    if c == 4:
        return _composite_rgba(arr)
    return np.ascontiguousarray(arr)


def _composite_rgba(arr: np.ndarray) -> np.ndarray:
    """Composite RGBA on black (medical images are shown on black), keeping fully-opaque pixels."""
    rgb = arr[:, :, :3].astype(np.float32)
    alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
    return np.round(rgb * alpha).astype(np.uint8)


def pil_to_rgb_array(img: Image.Image) -> np.ndarray:
    img = ImageOps.exif_transpose(img) or img
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _array_to_rgb(np.array(img))
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA"):
        return _composite_rgba(np.array(img.convert("RGBA")))
    if mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.array(img))


def load_image(src: ImageLike) -> np.ndarray:
    """Decode ``src`` (path, bytes, PIL image or array) to a ``uint8`` RGB array ``H×W×3``."""
    if isinstance(src, np.ndarray):
        if src.size == 0:
            raise ImageDecodeError("The image array is empty.")
        return _array_to_rgb(src)
    if hasattr(src, "read") and not isinstance(src, (str, os.PathLike, bytes)):
        src = src.read()  # file-like object
    img = _open_pil(src)
    if img.width < 1 or img.height < 1:
        raise ImageDecodeError("The image has no pixels.")
    return pil_to_rgb_array(img)


def binarize_mask(arr: np.ndarray) -> np.ndarray:
    """Binarise a mask robustly: RGB/RGBA -> max over colour channels; max < 128 (0/1, instance
    labels) -> >0; otherwise 0..255 -> >127.

    JPEG-compressed masks (values 0–8 and 247–255 in Kvasir) come out clean at >127.
    """
    a = np.asarray(arr)
    if a.dtype == bool:
        return a if a.ndim == 2 else a.any(axis=2)
    if a.ndim == 3:
        if a.shape[2] == 4:
            a = a[:, :, :3]
        a = a.max(axis=2)
    if a.ndim != 2:
        raise ImageDecodeError(f"A mask must be 2-D (or H×W×C), got shape {np.asarray(arr).shape}.")
    if np.issubdtype(a.dtype, np.floating):
        return a > 0.5 if a.max() <= 1.0 else a > 127
    vmax = int(a.max()) if a.size else 0
    if vmax < 128:
        # 0/1 masks and label maps (GlaS instance ids 1..N): any non-zero label is foreground.
        # A 0/255 or JPEG-noisy mask always reaches >127 where it has foreground.
        return a > 0
    if vmax > 255:
        # 16-bit masks scaled to 0..65535 -> half range; smaller maxima are instance-label maps
        # (MoNuSeg-style, hundreds of ids) -> any label.
        return a > (vmax // 2) if vmax >= 32768 else a > 0
    return a > 127


def load_mask(src: ImageLike) -> np.ndarray:
    """Decode a mask (path, bytes, PIL image or array) to ``bool`` ``H×W``."""
    if isinstance(src, np.ndarray):
        return binarize_mask(src)
    if hasattr(src, "read") and not isinstance(src, (str, os.PathLike, bytes)):
        src = src.read()
    img = _open_pil(src)
    img = ImageOps.exif_transpose(img) or img
    if img.mode == "P":
        # Palette masks: index 0 is background whatever colour the palette gives it.
        return np.array(img) > 0
    if img.mode in ("RGBA", "LA"):
        img = img.convert("RGB") if img.mode == "RGBA" else img.convert("L")
    return binarize_mask(np.array(img))


def content_hash(image: np.ndarray) -> str:
    """Stable hash of decoded pixels (shape + bytes), used as the embedding-cache key."""
    h = hashlib.sha256()
    h.update(str(image.shape).encode())
    h.update(str(image.dtype).encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.hexdigest()


def downscale_if_huge(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Downscale so the longest side is ``max_side`` (area interpolation); returns (image, scale)."""
    h, w = image.shape[:2]
    longest = max(h, w)
    if longest <= max_side:
        return image, 1.0
    scale = max_side / longest
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    out = np.array(Image.fromarray(image).resize(new, Image.Resampling.BOX))
    return out, scale
