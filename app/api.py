"""Named API endpoints for scripts and tests (gradio_client): clicks cannot be sent through the
client, so prompts are explicit JSON here.

* ``/segment``   (image, mode, points, box, gt_mask) -> (mask PNG, info JSON)
* ``/segment_all`` (image, points, box, gt_mask) -> (mask PNGs, info JSON)
* ``/info``      () -> back-end, prompts it understands, model status, modes
"""
from __future__ import annotations

import time
from pathlib import Path

import gradio as gr

from . import render
from .inputs import UserInputError, decode_image, decode_mask, parse_box, parse_points
from .panels import (
    API_MODES,
    MODE_TO_PANEL,
    PANEL_BY_KEY,
    PANELS,
    Prompts,
    run_panel,
    run_panels,
)
from .segment_logic import SegmentLogic, new_session
from .segment_tab import GPU_GROUP
from .state import gpu

MODE_HELP = ", ".join(API_MODES)


def _decode_all(logic: SegmentLogic, image, points, box, gt_mask):
    image_arr, notes = decode_image(image, logic.max_image_side)
    hw = image_arr.shape[:2]
    scale = _scale(image, image_arr)
    pts, labels = parse_points(points)
    bx = parse_box(box)
    if scale != 1.0:  # prompts are given in the uploaded image's pixels
        pts = [[x * scale, y * scale] for x, y in pts]
        bx = [v * scale for v in bx] if bx else None
    gt = None
    if gt_mask:
        orig = hw if scale == 1.0 else (round(hw[0] / scale), round(hw[1] / scale))
        gt, more = decode_mask(gt_mask, hw, orig)
        notes += more
    prompts = Prompts([(x, y, lab) for (x, y), lab in zip(pts, labels, strict=True)], bx)
    return image_arr, prompts, gt, notes


def _scale(src, image_arr) -> float:
    from .segment_logic import _original_hw
    oh, ow = _original_hw(src, image_arr)
    return image_arr.shape[1] / ow if ow else 1.0


def make_endpoints(logic: SegmentLogic):
    engine = logic.engine

    @gpu
    def segment(image, mode, points, box, gt_mask):
        """One mode: returns the mask as a PNG (0/255, image size) and a JSON with latency (and Dice/IoU given a GT)."""
        try:
            mode = (mode or "").strip()
            key = MODE_TO_PANEL.get(mode) or (mode if mode in PANEL_BY_KEY and mode != "gt" else None)
            if key is None:
                raise UserInputError(f"Unknown mode {mode!r}; use one of: {MODE_HELP}.")
            img, prompts, gt, notes = _decode_all(logic, image, points, box, gt_mask)
            t0 = time.perf_counter()
            engine.set_image(img)
            embed_s = time.perf_counter() - t0
            res = run_panel(engine, img, key, prompts, gt, strict=True)
        except UserInputError as exc:
            raise gr.Error(str(exc).replace("**", ""), print_exception=False) from None
        out = Path(new_session(logic.cache_dir).out_dir)
        path = render.write_mask_png(res.mask, out / f"mask_{key}.png")
        info = {**res.info(), "mode": PANEL_BY_KEY[key].mode, "width": img.shape[1], "height": img.shape[0],
                "embedding_s": round(embed_s, 4), "backend": engine.backend_name, "notes": notes}
        return str(path), info

    @gpu
    def segment_all(image, points, box, gt_mask):
        """Every panel at once: PNG masks of the available panels and a JSON with each panel's numbers."""
        try:
            img, prompts, gt, notes = _decode_all(logic, image, points, box, gt_mask)
            results, embed_s = run_panels(engine, img, [p.key for p in PANELS], prompts, gt)
        except UserInputError as exc:
            raise gr.Error(str(exc).replace("**", ""), print_exception=False) from None
        out = Path(new_session(logic.cache_dir).out_dir)
        files = [str(render.write_mask_png(r.mask, out / f"mask_{k}.png")) for k, r in results.items() if r.ok]
        info = {"width": img.shape[1], "height": img.shape[0], "embedding_s": round(embed_s, 4),
                "backend": engine.backend_name, "notes": notes,
                "panels": [results[p.key].info() for p in PANELS]}
        return files, info

    def info():
        """The loaded back-end, the prompts it understands, whether a trained model is loaded, the modes."""
        return {**engine.describe(), "modes": list(API_MODES)}

    return segment, segment_all, info


def build_api(logic: SegmentLogic, concurrency_limit: int = 1) -> None:
    """Hidden components wired to the named endpoints (call inside the Blocks context)."""
    segment, segment_all, info = make_endpoints(logic)
    with gr.Column(visible=False):
        image = gr.File(label="image", type="filepath")
        mode = gr.Textbox(label="mode", value="sam_box", info=f"one of {MODE_HELP}")
        points = gr.Textbox(label="points", value="", info="JSON [[x, y], [x, y, 0]]; label 0 = negative")
        box = gr.Textbox(label="box", value="", info="JSON [x0, y0, x1, y1]")
        gt = gr.File(label="gt_mask", type="filepath")
        mask_out = gr.File(label="mask")
        info_out = gr.JSON(label="info")
        files_out = gr.File(label="masks", file_count="multiple")
        info_json = gr.JSON(label="backend info")
        b1, b2, b3 = gr.Button("segment"), gr.Button("segment_all"), gr.Button("info")
    heavy = dict(concurrency_id=GPU_GROUP, concurrency_limit=concurrency_limit)
    b1.click(segment, [image, mode, points, box, gt], [mask_out, info_out], api_name="segment", **heavy)
    b2.click(segment_all, [image, points, box, gt], [files_out, info_out], api_name="segment_all", **heavy)
    b3.click(info, None, info_json, api_name="info")
