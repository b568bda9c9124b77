"""Tab 1 — Segment & compare: upload or pick an example, click prompts, see every mode side by side."""
from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from .examples import Example
from .inputs import UserInputError
from .panels import PANELS, SUMMARY_HEADERS, summary_rows
from .segment_logic import BOX_MODE, POINT_MODE, SegmentLogic, Session
from .state import gpu

GPU_GROUP = "gpu"  # every event that runs the model shares one concurrency slot group


def _warn(msgs: list[str]) -> None:
    for m in msgs:
        gr.Warning(m.replace("**", ""))


def _info(msgs: list[str]) -> None:
    for m in msgs:
        gr.Info(m.replace("**", ""))


def build_segment_tab(logic: SegmentLogic, examples_fn: Callable[[], list[Example]],
                      concurrency_limit: int = 1) -> dict:
    """``examples_fn`` lists the examples now (Hub ones appear once their background fetch is done)."""
    engine = logic.engine
    default_kind = POINT_MODE if engine.points_supported else BOX_MODE

    gr.Markdown(
        "Upload an image (or pick an example) and, optionally, its ground-truth mask. Every panel "
        "shows one way of prompting the frozen SAM, with its latency and — given a ground truth — "
        "Dice and IoU. **Click the prompt canvas** to add points or draw a box (two clicks = two "
        "opposite corners).\n\n" + engine.prompts_markdown() + "\n\n**Model:** " + engine.model_status,
        elem_id="segment-intro",
    )
    sess = gr.State(None)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            image_file = gr.File(label="Image (PNG, JPEG, TIFF, BMP, WebP)", type="filepath", height=140,
                                 elem_id="image-file")
            gt_file = gr.File(label="Ground-truth mask (optional)", type="filepath", height=140,
                              elem_id="gt-file")
            gallery = gr.Gallery(
                value=[(str(e.image), e.caption) for e in examples_fn()], label="…or pick an example",
                columns=3, height=300, allow_preview=False, object_fit="cover", interactive=False, elem_id="examples",
            )
        with gr.Column(scale=2, min_width=360):
            canvas = gr.Image(value=logic.canvas(Session(out_dir="")), label="Prompt canvas — click to add prompts",
                              interactive=False, format="png", height=440, elem_id="canvas", buttons=[])
            with gr.Row():
                kind = gr.Radio([BOX_MODE, POINT_MODE], value=default_kind, label="A click adds", elem_id="prompt-kind")
                negative = gr.Checkbox(label="Negative point (background)", value=False, elem_id="negative")
                clear_btn = gr.Button("Clear prompts", elem_id="clear-prompts", size="sm")
            status = gr.Markdown(logic.status(Session(out_dir="")), elem_id="segment-status")
    panel_imgs = {}
    rows = (PANELS[:4], PANELS[4:])
    for row in rows:
        with gr.Row():
            for spec in row:
                panel_imgs[spec.key] = gr.Image(
                    label=spec.title, interactive=False, format="png", height=300,
                    elem_id=f"panel-{spec.key}", buttons=["download", "fullscreen"],
                )
    summary = gr.Dataframe(headers=SUMMARY_HEADERS, interactive=False, wrap=True, label="Per-panel numbers",
                           elem_id="panel-summary")
    downloads = gr.File(label="Masks (PNG, 0/255, image size) and a zip of all", file_count="multiple",
                        interactive=False, elem_id="mask-downloads")

    panel_outs = [panel_imgs[p.key] for p in PANELS]
    outputs = [sess, canvas, status, *panel_outs, summary, downloads]

    def render_all(s: Session, changed: list[str] | None = None, warnings: list[str] | None = None):
        """Output values; panels not in ``changed`` are skipped (None = all)."""
        panels = []
        for p in PANELS:
            if changed is not None and p.key not in changed:
                panels.append(gr.skip())
                continue
            r = s.results.get(p.key)
            panels.append(gr.Image(value=logic.panel_file(s, p.key), label=r.label() if r else p.title))
        rows_ = summary_rows(s.results)
        return (s, logic.canvas_file(s), logic.status(s, warnings), *panels,
                rows_ if rows_ else None, logic.mask_files(s) or None)

    def unchanged(s, warnings):
        return (s, gr.skip(), logic.status(s, warnings), *[gr.skip()] * len(PANELS), gr.skip(), gr.skip())

    @gpu
    def on_image(path, gt_path, s):
        s = logic.session(s)
        if not path:
            return unchanged(s, [])
        try:
            warnings = logic.load(s, path, gt_path)
        except UserInputError as exc:
            _warn([str(exc)])
            return unchanged(s, [str(exc)])
        _info(s.notes)
        _warn(warnings)
        return render_all(s, None, warnings)

    def on_clear_image(s):
        s = logic.session(None)
        return render_all(s)

    @gpu
    def on_gt(gt_path, s):
        s = logic.session(s)
        if s.image is None and not gt_path:  # cleared the mask before any image: nothing to do
            return unchanged(s, [])
        try:
            notes = logic.set_gt(s, gt_path)
        except UserInputError as exc:
            _warn([str(exc)])
            return unchanged(s, [str(exc)])
        _info(notes)
        return render_all(s, None, notes)

    @gpu
    def on_example(s, evt: gr.SelectData):
        s = logic.session(s)
        idx = evt.index if isinstance(evt.index, int) else (evt.index[0] if evt.index else 0)
        examples = examples_fn()
        if not 0 <= int(idx) < len(examples):
            return (*unchanged(s, ["That example is no longer available: reload the page."]), gr.skip(), gr.skip())
        ex = examples[int(idx)]
        gt_path = str(ex.mask) if ex.mask else None
        try:
            logic.load(s, str(ex.image), gt_path)
        except UserInputError as exc:
            _warn([str(exc)])
            return (*unchanged(s, [str(exc)]), gr.skip(), gr.skip())
        return (*render_all(s), str(ex.image), gt_path)

    @gpu
    def on_click(k, neg, s, evt: gr.SelectData):
        s = logic.session(s)
        try:
            changed = logic.click(s, evt.index, k, bool(neg))
        except UserInputError as exc:
            _warn([str(exc)])
            return render_all(s, [], [str(exc)])
        return render_all(s, changed)

    @gpu
    def on_clear(s):
        s = logic.session(s)
        return render_all(s, logic.clear(s))

    def on_kind(s):
        s = logic.session(s)
        s.corner = None
        return s, logic.canvas_file(s), logic.status(s)

    heavy = dict(concurrency_id=GPU_GROUP, concurrency_limit=concurrency_limit, api_visibility="private")
    image_file.upload(on_image, [image_file, gt_file, sess], outputs, **heavy)
    image_file.clear(on_clear_image, [sess], outputs, **heavy)
    gt_file.upload(on_gt, [gt_file, sess], outputs, **heavy)
    gt_file.clear(on_gt, [gt_file, sess], outputs, **heavy)
    gallery.select(on_example, [sess], outputs + [image_file, gt_file], **heavy)
    # Clicks: no loading overlay on the canvas (it would swallow the next click) and every click
    # counts (trigger_mode "multiple": the two corners of a box can come in quick succession);
    # the shared queue group keeps them in order.
    quick = dict(heavy, show_progress="hidden", trigger_mode="multiple")
    canvas.select(on_click, [kind, negative, sess], outputs, **quick)
    clear_btn.click(on_clear, [sess], outputs, **quick)
    # Same queue group as clicks: a click right after switching mode must see the switch first.
    kind.change(on_kind, [sess], [sess, canvas, status], **quick)

    def refresh_gallery():
        return [(str(e.image), e.caption) for e in examples_fn()]

    return {"refresh_gallery": refresh_gallery, "canvas": canvas, "panels": panel_imgs, "status": status,
            "image_file": image_file, "gt_file": gt_file, "gallery": gallery, "summary": summary,
            "downloads": downloads}
