"""Tab 4 — About: what AutoSAM is, each benchmark's protocol, reproducing a row, citation."""
from __future__ import annotations

import gradio as gr

from leaderboard import about

from .state import Engine

APP_TEXT = """\
## This demo

The **Segment & compare** tab runs every mode of the paper's Table 1 on your own image with the
same frozen back-end: AutoSAM (SAM prompted by g(I)), the light decoder h(g(I)), SAM with point
clicks, SAM with a box, SAM with AutoSAM's output as a mask prompt, and SAM with the ground-truth
mask as a mask prompt. The image embedding is computed once per image and cached, so a new click
only runs SAM's prompt encoder and mask decoder.

Run it locally (offline by default):

```bash
pip install -e .
python app.py                      # lite_medsam back-end, best checkpoint in autosam/assets/
python app.py --checkpoint runs/kvasir/model.safetensors --port 7861
```

Scripts can call the named endpoints with `gradio_client` (`/segment`, `/segment_all`, `/info`,
`/leaderboard`, `/queue`, `/submit`); see "Use via API" at the bottom of the page.
"""


def build_about_tab(engine: Engine) -> None:
    gr.Markdown(f"# {about.TITLE}")
    gr.Markdown(about.INTRODUCTION_TEXT, elem_id="about-intro")
    gr.Markdown(APP_TEXT)
    gr.Markdown(f"**Running now:** back-end `{engine.backend_name}` on {engine.backend.device}; "
                f"{engine.model_status}")
    gr.Markdown(about.PROTOCOL_TEXT)
    gr.Markdown(about.REPRODUCE_TEXT)
    gr.Markdown(about.SUBMIT_TEXT)
    gr.Textbox(value=about.CITATION_BUTTON_TEXT, label=about.CITATION_BUTTON_LABEL, lines=6,
               buttons=["copy"], interactive=False, elem_id="citation")
