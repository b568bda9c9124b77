"""Segment tab behaviour without Gradio widgets: a per-browser-session state and the handlers'
work (load an image, add a click, score against a ground truth), returning plain values."""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import render
from .inputs import UserInputError, decode_image, decode_mask, display_name
from .panels import PANELS, PanelResult, Prompts, run_panel, run_panels, score
from .state import Engine

BOX_MODE, POINT_MODE = "Box (two clicks = corners)", "Points"
CANVAS_SIDE = 1024  # the prompt canvas is sent this large (up or down): >= its size on screen
OUTPUT_TTL_S = 6 * 3600


@dataclass
class Session:
    """What one browser tab is working on (kept in a gr.State)."""

    out_dir: str
    image: np.ndarray | None = None
    original_hw: tuple[int, int] | None = None
    name: str = "image"
    gt: np.ndarray | None = None
    points: list[tuple[float, float, int]] = field(default_factory=list)
    box: list[float] | None = None
    corner: tuple[float, float] | None = None  # first corner of a box being drawn
    results: dict[str, PanelResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    embed_s: float | None = None
    last_s: float | None = None  # how long the last handler's model work took

    @property
    def prompts(self) -> Prompts:
        return Prompts(list(self.points), list(self.box) if self.box else None)


def new_session(cache_dir: str | Path) -> Session:
    root = Path(cache_dir) / "outputs"
    root.mkdir(parents=True, exist_ok=True)
    _sweep(root)
    return Session(out_dir=tempfile.mkdtemp(prefix="s-", dir=root))


def _sweep(root: Path) -> None:
    """Delete output folders of sessions older than OUTPUT_TTL_S (cheap; runs per new session)."""
    cutoff = time.time() - OUTPUT_TTL_S
    for d in root.glob("s-*"):
        try:
            if d.stat().st_mtime < cutoff:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


class SegmentLogic:
    def __init__(self, engine: Engine, cache_dir: str | Path, max_image_side: int = 2048,
                 display_side: int = 768) -> None:
        self.engine = engine
        self.cache_dir = str(cache_dir)
        self.max_image_side = max_image_side
        self.display_side = display_side

    def session(self, s: Session | None) -> Session:
        return s if isinstance(s, Session) else new_session(self.cache_dir)

    # ---- actions ---------------------------------------------------------------------------
    def load(self, s: Session, image_src, gt_src=None) -> list[str]:
        """Decode + embed a new image, reset prompts, run every panel. Returns warnings."""
        image, notes = decode_image(image_src, self.max_image_side)  # raises UserInputError
        s.image, s.name = image, _stem(display_name(image_src))
        s.original_hw = _original_hw(image_src, image)
        s.points, s.box, s.corner, s.gt, s.results = [], None, None, None, {}
        warnings: list[str] = []
        if gt_src is not None:
            try:
                s.gt, more = decode_mask(gt_src, image.shape[:2], s.original_hw)
                notes += more
            except UserInputError as exc:
                warnings.append(str(exc))
        t0 = time.perf_counter()
        s.results, s.embed_s = run_panels(self.engine, image, [p.key for p in PANELS], s.prompts, s.gt)
        s.last_s = time.perf_counter() - t0
        s.notes = notes
        return warnings

    def set_gt(self, s: Session, gt_src) -> list[str]:
        """Use a new ground truth: score every panel and run the GT-prompt panel."""
        if s.image is None:
            raise UserInputError("Upload an image before its ground-truth mask.")
        if gt_src is None:
            s.gt = None
            notes: list[str] = []
        else:
            s.gt, notes = decode_mask(gt_src, s.image.shape[:2], s.original_hw)
        t0 = time.perf_counter()
        for key in ("gt_mask", "gt"):
            s.results[key] = run_panel(self.engine, s.image, key, s.prompts, s.gt)
        for r in s.results.values():
            score(r, s.gt)
        s.last_s = time.perf_counter() - t0
        return notes

    def click(self, s: Session, xy_display: tuple[float, float], kind: str, negative: bool) -> list[str]:
        """A click on the prompt canvas (display pixels). Returns the panel keys that changed."""
        if s.image is None:
            raise UserInputError("Upload an image or pick an example first.")
        scale = render.display_scale(s.image.shape[:2], CANVAS_SIDE, upscale=True)
        x = min(max(float(xy_display[0]) / scale, 0.0), s.image.shape[1] - 1.0)
        y = min(max(float(xy_display[1]) / scale, 0.0), s.image.shape[0] - 1.0)
        if kind == POINT_MODE:
            s.points.append((x, y, 0 if negative else 1))
            return self._rerun(s, "sam_points")
        if s.corner is None:
            s.corner = (x, y)
            return []  # wait for the opposite corner
        x0, y0 = s.corner
        s.corner = None
        if abs(x - x0) < 2 or abs(y - y0) < 2:
            raise UserInputError("The two corners are too close: click two opposite corners of the object's box.")
        s.box = [min(x0, x), min(y0, y), max(x0, x), max(y0, y)]
        return self._rerun(s, "sam_box")

    def clear(self, s: Session) -> list[str]:
        s.points, s.box, s.corner = [], None, None
        if s.image is None:
            return []
        return self._rerun(s, "sam_points", "sam_box")

    def _rerun(self, s: Session, *keys: str) -> list[str]:
        t0 = time.perf_counter()
        for key in keys:
            s.results[key] = run_panel(self.engine, s.image, key, s.prompts, s.gt)
        s.last_s = time.perf_counter() - t0
        return list(keys)

    # ---- pictures and files ----------------------------------------------------------------
    def canvas(self, s: Session) -> np.ndarray:
        if s.image is None:
            return render.placeholder(None, "Upload an image or pick an example")
        return render.draw_prompts(s.image, s.points, s.box, s.corner, CANVAS_SIDE, upscale=True)

    def panel_image(self, s: Session, key: str) -> np.ndarray:
        spec = next(p for p in PANELS if p.key == key)
        r = s.results.get(key)
        if s.image is None or r is None:
            return render.placeholder(None, spec.title)
        if not r.ok:
            return render.placeholder(s.image, r.note or "not available", self.display_side, upscale=True)
        img = render.overlay(s.image, r.mask, spec.color, max_side=self.display_side, upscale=True)
        if key == "sam_points" and s.points:
            img = render.draw_prompts(img, [(x * _ds(s, self), y * _ds(s, self), lab) for x, y, lab in s.points],
                                      max_side=self.display_side)
        if key == "sam_box" and s.box:
            img = render.draw_prompts(img, box=[v * _ds(s, self) for v in s.box], max_side=self.display_side)
        return img

    def canvas_file(self, s: Session) -> str | np.ndarray:
        """The canvas as a fast-written PNG in the session folder (an array before any image)."""
        if s.image is None or not s.out_dir:
            return self.canvas(s)
        return render.write_png(self.canvas(s), Path(s.out_dir) / "view" / "canvas.png")

    def panel_file(self, s: Session, key: str) -> str | np.ndarray:
        if s.image is None or not s.out_dir:
            return self.panel_image(s, key)
        return render.write_png(self.panel_image(s, key), Path(s.out_dir) / "view" / f"panel_{key}.png")

    def mask_files(self, s: Session) -> list[str]:
        """One PNG per available panel (0/255, image size) plus a zip of them all."""
        if s.image is None:
            return []
        out = Path(s.out_dir)
        files = []
        for spec in PANELS:
            r = s.results.get(spec.key)
            p = out / f"{s.name}_{spec.key}.png"
            if r is not None and r.ok:
                files.append(render.write_mask_png(r.mask, p))
            else:
                p.unlink(missing_ok=True)
        if files:
            files.append(render.write_zip(files, out / f"{s.name}_masks.zip"))
        return [str(f) for f in files]

    def status(self, s: Session, warnings: list[str] | None = None) -> str:
        if s.image is None:
            return "\n".join(["Upload an image (or pick an example) to segment it."] +
                             [f"- **Problem:** {m}" for m in warnings or []])
        h, w = s.image.shape[:2]
        lines = [f"**{s.name}** · {w}×{h} px"]
        if s.embed_s is not None:
            lines[0] += f" · image embedding {s.embed_s:.2f} s (cached: new clicks only run SAM's decoder)"
        if s.last_s is not None:
            lines[0] += f" · last update {s.last_s:.2f} s"
        if s.corner is not None:
            lines.append("Box: first corner set — click the opposite corner.")
        lines += [f"- {n}" for n in s.notes] + [f"- **Problem:** {m}" for m in warnings or []]
        if not self.engine.has_model:
            lines.append("- AutoSAM panels: " + self.engine.model_status)
        return "\n".join(lines)


def _ds(s: Session, logic: SegmentLogic) -> float:
    """Scale from image pixels to the overlay's (already display-sized) pixels."""
    return render.display_scale(s.image.shape[:2], logic.display_side, upscale=True)


def _stem(name: str) -> str:
    stem = Path(name).stem or "image"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:60] or "image"


def _original_hw(src, image: np.ndarray) -> tuple[int, int]:
    """Size before any downscaling (for matching a ground-truth mask of the original size)."""
    if isinstance(src, np.ndarray):
        return src.shape[:2]
    try:
        from PIL import Image, ImageOps

        from .inputs import _file_path
        with Image.open(_file_path(src)) as im:
            im = ImageOps.exif_transpose(im) or im
            return im.height, im.width
    except Exception:
        return image.shape[:2]
