"""The comparison panels of the Segment tab, as plain Python (no Gradio): what each panel runs,
what it needs, and its result with latency and, given a ground truth, Dice/IoU."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from autosam.metrics import dice_iou
from autosam.predictor import (
    AUTOSAM,
    AUTOSAM_MASK,
    SAM_BOX,
    SAM_MASK,
    SAM_POINTS,
    H,
    NoModelError,
)

from .inputs import UserInputError, check_box, clip_points
from .render import RGB
from .state import TRAIN_HINT, Engine


@dataclass(frozen=True)
class PanelSpec:
    key: str
    title: str
    mode: str | None  # Predictor mode; None for the ground truth itself
    color: RGB


PANELS: tuple[PanelSpec, ...] = (
    PanelSpec("autosam", "AutoSAM", AUTOSAM, (30, 144, 255)),
    PanelSpec("h", "AutoSAM h(g(I))", H, (170, 90, 255)),
    PanelSpec("sam_points", "SAM + points", SAM_POINTS, (40, 220, 90)),
    PanelSpec("sam_box", "SAM + box", SAM_BOX, (255, 150, 0)),
    PanelSpec("autosam_mask", "SAM + AutoSAM mask prompt", AUTOSAM_MASK, (0, 210, 210)),
    PanelSpec("gt_mask", "SAM + GT mask prompt", SAM_MASK, (255, 60, 200)),
    PanelSpec("gt", "Ground truth", None, (255, 235, 60)),
)
PANEL_BY_KEY = {p.key: p for p in PANELS}
MODEL_PANELS = ("autosam", "h", "autosam_mask")
GT_PANELS = ("gt_mask", "gt")
# API mode names (the Predictor's) -> panel keys.
MODE_TO_PANEL = {p.mode: p.key for p in PANELS if p.mode is not None}
API_MODES = tuple(MODE_TO_PANEL)


@dataclass
class Prompts:
    points: list[tuple[float, float, int]] = field(default_factory=list)  # (x, y, label) image pixels
    box: list[float] | None = None  # x0, y0, x1, y1 image pixels


@dataclass
class PanelResult:
    key: str
    mask: np.ndarray | None = None
    latency_s: float | None = None
    dice: float | None = None
    iou: float | None = None
    note: str = ""  # why there is no mask, or a caveat about the one shown

    @property
    def spec(self) -> PanelSpec:
        return PANEL_BY_KEY[self.key]

    @property
    def ok(self) -> bool:
        return self.mask is not None

    def label(self) -> str:
        parts = [self.spec.title]
        if self.ok and self.key != "gt":
            parts.append(f"{self.latency_s:.2f} s" if self.latency_s is not None else "")
        if self.dice is not None:
            parts.append(f"Dice {self.dice:.3f} · IoU {self.iou:.3f}")
        if not self.ok:
            parts.append("not available")
        return " · ".join(p for p in parts if p)

    def info(self) -> dict:
        return {
            "panel": self.key, "title": self.spec.title, "mode": self.spec.mode,
            "available": self.ok,
            "latency_s": None if self.latency_s is None else round(self.latency_s, 4),
            "dice": None if self.dice is None else round(self.dice, 4),
            "iou": None if self.iou is None else round(self.iou, 4),
            "foreground_px": int(self.mask.sum()) if self.ok else None,
            "note": self.note,
        }


NO_MODEL_NOTE = "No trained AutoSAM model is loaded: train one with `autosam train` (details above)."


def no_model_note(engine: Engine, key: str, full: bool = False) -> str | None:
    if key in MODEL_PANELS and not engine.has_model:
        return "No trained AutoSAM model is loaded. " + TRAIN_HINT if full else NO_MODEL_NOTE
    if key == "h" and not engine.has_h:
        return "This checkpoint has no surrogate decoder h: train it with `autosam train-h`."
    return None


def run_panel(engine: Engine, image: np.ndarray, key: str, prompts: Prompts | None = None,
              gt: np.ndarray | None = None, strict: bool = False) -> PanelResult:
    """Compute one panel. Missing requirements give a result with a ``note`` (or, with
    ``strict``, a UserInputError — the API endpoint uses that)."""
    prompts = prompts or Prompts()
    spec = PANEL_BY_KEY[key]
    hw = image.shape[:2]

    def missing(note: str) -> PanelResult:
        if strict:
            raise UserInputError(note)
        return PanelResult(key, note=note)

    if key == "gt":
        if gt is None:
            return missing("No ground-truth mask given: upload one to score every panel.")
        return PanelResult(key, gt, 0.0)
    note = no_model_note(engine, key, full=strict)
    if note:
        return missing(note)
    kwargs: dict = {}
    caveat = ""
    if key == "sam_points":
        if not prompts.points:
            return missing("Add points: choose Points mode and click on the image "
                           "(tick 'negative' for background points).")
        kwargs["points"] = clip_points([[x, y] for x, y, _ in prompts.points], hw)
        kwargs["labels"] = [lab for _, _, lab in prompts.points]
        if not engine.points_supported:
            caveat = (f"{engine.backend_name} was fine-tuned with boxes only: point prompts give "
                      "unreliable masks on it (use a box).")
    elif key == "sam_box":
        if prompts.box is None:
            return missing("Draw a box: choose Box mode and click two opposite corners on the image.")
        kwargs["box"] = check_box(prompts.box, hw)
    elif key == "gt_mask":
        if gt is None:
            return missing("Upload a ground-truth mask to use it as SAM's mask prompt.")
        kwargs["mask_prompt"] = gt
    try:
        pred = engine.predict(image, spec.mode, **kwargs)
    except NoModelError as exc:
        return missing(str(exc))
    res = PanelResult(key, pred.mask, pred.latency_s, note=caveat)
    return score(res, gt)


def score(res: PanelResult, gt: np.ndarray | None) -> PanelResult:
    if gt is not None and res.ok and res.key != "gt":
        res.dice, res.iou = dice_iou(res.mask, gt)
    else:
        res.dice = res.iou = None
    return res


def run_panels(engine: Engine, image: np.ndarray, keys: tuple[str, ...] | list[str],
               prompts: Prompts | None = None, gt: np.ndarray | None = None) -> tuple[dict[str, PanelResult], float]:
    """Embed the image once (timed), then compute ``keys``; returns (results, embedding seconds)."""
    t0 = time.perf_counter()
    engine.set_image(image)
    embed_s = time.perf_counter() - t0
    return {k: run_panel(engine, image, k, prompts, gt) for k in keys}, embed_s


def summary_rows(results: dict[str, PanelResult]) -> list[list]:
    rows = []
    for spec in PANELS:
        r = results.get(spec.key)
        if r is None:
            continue
        rows.append([
            spec.title,
            "" if (not r.ok or spec.key == "gt" or r.latency_s is None) else f"{r.latency_s:.3f}",
            "" if r.dice is None else f"{r.dice:.3f}",
            "" if r.iou is None else f"{r.iou:.3f}",
            "" if not r.ok else str(int(r.mask.sum())),
            r.note,
        ])
    return rows


SUMMARY_HEADERS = ["Panel", "Latency (s)", "Dice", "IoU", "Mask pixels", "Note"]
