"""Turn whatever a user uploads into arrays, or into a friendly message (never a traceback)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from autosam.image_io import ImageDecodeError, downscale_if_huge, load_image, load_mask


class UserInputError(ValueError):
    """Bad user input; the message is shown as it is."""


def _file_path(obj: Any) -> str | None:
    """Gradio gives a path string (type="filepath"), a FileData-like object or a dict."""
    if obj is None or obj == "":
        return None
    if isinstance(obj, (str, os.PathLike)):
        return str(obj)
    if isinstance(obj, dict):
        return obj.get("path") or obj.get("name")
    return getattr(obj, "path", None) or getattr(obj, "name", None)


def display_name(obj: Any) -> str:
    p = _file_path(obj)
    return Path(p).name if p else "image"


def decode_image(obj: Any, max_side: int) -> tuple[np.ndarray, list[str]]:
    """uint8 RGB H×W×3 plus notes (downscaling, conversions). Raises UserInputError."""
    notes: list[str] = []
    if isinstance(obj, np.ndarray):
        src: Any = obj
    else:
        src = _file_path(obj)
        if src is None:
            raise UserInputError("Please upload an image first (PNG, JPEG, TIFF, BMP or WebP).")
    try:
        image = load_image(src)
        mode = None if isinstance(src, np.ndarray) else _pil_mode(src)
    except ImageDecodeError as exc:
        name = display_name(obj)
        raise UserInputError(f"**{name}** could not be read as an image. Please upload a PNG, JPEG, "
                             f"TIFF, BMP or WebP file. ({_short(exc)})") from None
    except (MemoryError, OSError, ValueError) as exc:
        raise UserInputError(f"**{display_name(obj)}** could not be decoded ({_short(exc)}).") from None
    if mode and mode not in ("RGB",):
        notes.append(f"Converted a {_MODE_WORDS.get(mode, mode)} image to RGB.")
    h, w = image.shape[:2]
    if min(h, w) < 8:
        raise UserInputError(f"The image is only {w}×{h} pixels; please upload one at least 8×8.")
    image, scale = downscale_if_huge(image, max_side)
    if scale != 1.0:
        notes.append(f"The image was {w}×{h}; it was downscaled to {image.shape[1]}×{image.shape[0]} "
                     f"(longest side {max_side}) and masks are given at that size.")
    return image, notes


_MODE_WORDS = {"L": "grayscale", "LA": "grayscale + alpha", "RGBA": "RGBA (transparency composited on black)",
               "P": "palette", "I;16": "16-bit", "I;16B": "16-bit", "I;16L": "16-bit", "I": "32-bit integer",
               "F": "floating-point", "CMYK": "CMYK", "1": "1-bit"}


def _pil_mode(path: str) -> str | None:
    try:
        with Image.open(path) as im:
            return im.mode
    except Exception:
        return None


def _short(exc: BaseException, limit: int = 160) -> str:
    """A one-line reason without internal temp paths (the user knows the file by its name)."""
    text = str(exc).strip()
    low = text.lower()
    if "cannot identify image file" in low or "unidentifiedimageerror" in low:
        return "unrecognised or unsupported file format"
    if "truncated" in low or "broken data stream" in low or "image file is" in low:
        return "the file is corrupt or truncated"
    if "too large" in low or "decompression" in low:
        return "the image has too many pixels to decode safely"
    text = text.splitlines()[0] if text else type(exc).__name__
    text = re.sub(r"(/[^\s'\"]+)+/([^/\s'\"]+)", r"\2", text)  # /tmp/gradio/<hash>/x.png -> x.png
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_mask(obj: Any, image_hw: tuple[int, int], original_hw: tuple[int, int] | None = None
                ) -> tuple[np.ndarray, list[str]]:
    """bool mask of ``image_hw``. A mask of the image's size before downscaling is resized too."""
    notes: list[str] = []
    src = obj if isinstance(obj, np.ndarray) else _file_path(obj)
    if src is None:
        raise UserInputError("No mask given.")
    try:
        mask = load_mask(src)
    except ImageDecodeError as exc:
        raise UserInputError(f"The ground-truth mask **{display_name(obj)}** could not be read as an "
                             f"image ({_short(exc)}). Upload a PNG mask (0/255, 0/1 or palette).") from None
    except (MemoryError, OSError, ValueError) as exc:
        raise UserInputError(f"The ground-truth mask could not be decoded ({_short(exc)}).") from None
    if mask.shape == tuple(image_hw):
        pass
    elif original_hw is not None and mask.shape == tuple(original_hw):
        mask = np.array(Image.fromarray(mask.astype(np.uint8) * 255).resize(
            (image_hw[1], image_hw[0]), Image.Resampling.NEAREST)) > 127
        notes.append("The mask was downscaled with the image.")
    else:
        mh, mw = mask.shape
        ih, iw = original_hw or image_hw
        raise UserInputError(f"The ground-truth mask is {mw}×{mh} pixels but the image is {iw}×{ih}; "
                             "they must have the same size. The mask was ignored.")
    if not mask.any():
        notes.append("The ground-truth mask is empty (no foreground pixels).")
    return mask, notes


def parse_points(text: Any) -> tuple[list[list[float]], list[int]]:
    """``[[x, y], ...]`` or ``[[x, y, label], ...]`` (label 1 positive, 0 negative); JSON or list."""
    data = _parse_json(text, "points")
    if data is None:
        return [], []
    if isinstance(data, dict):
        pts, labels = data.get("points"), data.get("labels")
        data = [list(p) + ([labels[i]] if labels is not None else []) for i, p in enumerate(pts or [])]
    if (isinstance(data, list) and len(data) in (2, 3) and all(isinstance(v, (int, float)) for v in data)):
        data = [data]  # a single point
    if not isinstance(data, list):
        raise UserInputError('Points must be a JSON list like [[x, y], [x, y, 0]] (label 0 = negative).')
    pts, labels = [], []
    for p in data:
        if not isinstance(p, (list, tuple)) or len(p) not in (2, 3) or not all(
                isinstance(v, (int, float)) and np.isfinite(v) for v in p):
            raise UserInputError(f"Bad point {p!r}: use [x, y] or [x, y, label] with numbers.")
        pts.append([float(p[0]), float(p[1])])
        labels.append(int(p[2]) if len(p) == 3 else 1)
        if labels[-1] not in (0, 1):
            raise UserInputError(f"Bad label {p[2]!r}: 1 = positive point, 0 = negative point.")
    return pts, labels


def parse_box(text: Any) -> list[float] | None:
    """``[x0, y0, x1, y1]`` (any two opposite corners) or ``[[x0, y0], [x1, y1]]``."""
    data = _parse_json(text, "box")
    if data is None or data == []:
        return None
    flat = None
    if isinstance(data, list):
        flat = [v for part in data for v in (part if isinstance(part, (list, tuple)) else [part])]
    if flat is None or len(flat) != 4 or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in flat):
        raise UserInputError("A box must be a JSON list [x0, y0, x1, y1] of numbers.")
    return [float(v) for v in flat]


def _parse_json(text: Any, what: str) -> Any:
    if text is None:
        return None
    if isinstance(text, (list, dict)):
        return text
    s = str(text).strip()
    if not s or s.lower() in ("null", "none"):
        return None
    try:
        return json.loads(s)
    except json.JSONDecodeError as exc:
        raise UserInputError(f"The {what} are not valid JSON ({exc.msg}); example: "
                             + ("[[120, 80], [60, 40, 0]]" if what == "points" else "[10, 20, 200, 180]")
                             ) from None


def clip_points(points: list[list[float]], hw: tuple[int, int]) -> list[list[float]]:
    h, w = hw
    return [[min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)] for x, y in points]


def check_box(box: list[float], hw: tuple[int, int]) -> list[float]:
    h, w = hw
    x0, y0, x1, y1 = box
    x0, x1 = sorted((min(max(x0, 0.0), w - 1.0), min(max(x1, 0.0), w - 1.0)))
    y0, y1 = sorted((min(max(y0, 0.0), h - 1.0), min(max(y1, 0.0), h - 1.0)))
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise UserInputError("The box has no area inside the image: click two opposite corners.")
    return [x0, y0, x1, y1]
