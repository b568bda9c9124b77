"""Pictures for the browser: mask overlays with an outline, prompt markers, placeholders, PNGs."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]

POSITIVE: RGB = (40, 220, 90)
NEGATIVE: RGB = (235, 50, 50)
BOX: RGB = (255, 200, 0)


def display_scale(hw: tuple[int, int], max_side: int, upscale: bool = False) -> float:
    """Factor from image pixels to displayed pixels (<= 1 unless ``upscale``)."""
    s = max_side / max(hw)
    return s if upscale else min(1.0, s)


def resize_for_display(image: np.ndarray, max_side: int, upscale: bool = False) -> np.ndarray:
    """Longest side to ``max_side`` (only down, unless ``upscale``).

    The prompt canvas is always sent at a fixed size >= its on-screen size: Gradio maps a click
    to image pixels assuming the browser never enlarges the picture.
    """
    s = display_scale(image.shape[:2], max_side, upscale)
    if s == 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)


def _resize_mask(mask: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if mask.shape == tuple(hw):
        return mask
    return cv2.resize(mask.astype(np.uint8), (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST) > 0


def overlay(image: np.ndarray, mask: np.ndarray | None, color: RGB, alpha: float = 0.38,
            max_side: int = 768, upscale: bool = False) -> np.ndarray:
    """``image`` (resized for display) with ``mask`` tinted in ``color`` and outlined."""
    base = resize_for_display(image, max_side, upscale)
    if mask is None:
        return base.copy()
    m = _resize_mask(mask.astype(bool), base.shape[:2])
    out = base.astype(np.float32)
    col = np.array(color, np.float32)
    out[m] = out[m] * (1 - alpha) + col * alpha
    out = np.clip(out, 0, 255).astype(np.uint8)
    thickness = max(1, round(max(base.shape[:2]) / 300))
    contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    if contours:
        cv2.drawContours(out, contours, -1, tuple(int(c) for c in color), thickness, lineType=cv2.LINE_AA)
    return out


def draw_prompts(image: np.ndarray, points: list[tuple[float, float, int]] | None = None,
                 box: list[float] | None = None, corner: tuple[float, float] | None = None,
                 max_side: int = 768, upscale: bool = False) -> np.ndarray:
    """Image (resized for display) with point markers, a box and a pending box corner.

    Coordinates are image pixels; they are scaled to the displayed size here.
    """
    base = resize_for_display(image, max_side, upscale)
    s = base.shape[1] / image.shape[1]
    out = np.ascontiguousarray(base.copy())
    r = max(4, round(max(base.shape[:2]) / 90))
    t = max(2, round(max(base.shape[:2]) / 300))
    if box is not None:
        x0, y0, x1, y1 = (round(v * s) for v in box)
        cv2.rectangle(out, (x0, y0), (x1, y1), BOX, t, lineType=cv2.LINE_AA)
    if corner is not None:
        cx, cy = round(corner[0] * s), round(corner[1] * s)
        cv2.drawMarker(out, (cx, cy), BOX, cv2.MARKER_CROSS, 3 * r, t, cv2.LINE_AA)
    for x, y, label in points or []:
        c = (round(x * s), round(y * s))
        cv2.circle(out, c, r + t, (255, 255, 255), -1, lineType=cv2.LINE_AA)
        cv2.circle(out, c, r, POSITIVE if label else NEGATIVE, -1, lineType=cv2.LINE_AA)
    return out


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - very old Pillow
        return ImageFont.load_default()


def placeholder(image: np.ndarray | None, text: str, max_side: int = 768, upscale: bool = False) -> np.ndarray:
    """A dimmed copy of ``image`` (or a grey tile) with ``text`` written on it."""
    if image is None:
        base = np.full((240, 320, 3), 60, np.uint8)
    else:
        base = (resize_for_display(image, max_side, upscale).astype(np.float32) * 0.3).astype(np.uint8)
    h, w = base.shape[:2]
    pil = Image.fromarray(base)
    draw = ImageDraw.Draw(pil)
    size = max(12, w // 26)
    font = _font(size)
    lines = _wrap(draw, text.replace("`", ""), font, int(w * 0.9))
    line_h = size + size // 3
    y = max(4, (h - line_h * len(lines)) // 2)
    for line in lines:
        tw = draw.textlength(line, font=font)
        draw.text(((w - tw) / 2, y), line, fill=(255, 255, 255), font=font)
        y += line_h
    return np.array(pil)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        cur = ""
        for word in para.split():
            trial = f"{cur} {word}".strip()
            if draw.textlength(trial, font=font) <= width or not cur:
                cur = trial
            else:
                lines.append(cur)
                cur = word
        lines.append(cur)
    return lines


def write_png(image: np.ndarray, path: str | Path, compress_level: int = 1) -> str:
    """Fast lossless PNG for the browser (level 1 is ~4x faster than PIL's default 6 and only
    ~25% larger), so a click's round trip is not spent compressing pictures."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(image).save(tmp, format="PNG", compress_level=compress_level)
    tmp.replace(path)
    return str(path)


def mask_png_bytes(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(buf, format="PNG")
    return buf.getvalue()


def write_mask_png(mask: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mask_png_bytes(mask))
    return path


def write_zip(files: list[Path], path: str | Path) -> Path:
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, arcname=f.name)
    return path
