"""Assemble the Blocks app from its tabs, and launch it."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from leaderboard.about import TITLE
from leaderboard.seeds import seed_store
from leaderboard.store import ResultsStore
from leaderboard.submission import SubmissionPolicy

from .about_tab import build_about_tab
from .api import build_api
from .config import AppConfig, oauth_enabled
from .examples import list_examples, start_hub_fetch
from .leaderboard_tab import LeaderboardView, build_leaderboard_tab
from .segment_logic import SegmentLogic
from .segment_tab import build_segment_tab
from .state import Engine, load_engine
from .submit_tab import build_submit_tab

log = logging.getLogger(__name__)

CSS = """
#segment-status {min-height: 2.5em}
#canvas img {cursor: crosshair}
.gradio-container {max-width: 1500px !important}
"""


@dataclass
class AppContext:
    config: AppConfig
    engine: Engine
    store: ResultsStore
    logic: SegmentLogic


def build_app(cfg: AppConfig | None = None, engine: Engine | None = None,
              store: ResultsStore | None = None) -> tuple[gr.Blocks, AppContext]:
    """Build the app. Tests pass a tiny ``engine`` and a temporary ``store``."""
    cfg = cfg or AppConfig()
    Path(cfg.cache_dir).mkdir(parents=True, exist_ok=True)
    engine = engine or load_engine(cfg)
    store = store or ResultsStore(cfg.db_path)
    if cfg.seed_paper:
        seed_store(store)  # paper rows + the shipped model's verified rows; idempotent upsert
    policy = (SubmissionPolicy() if cfg.submissions_dir is None
              else SubmissionPolicy(submissions_dir=Path(cfg.submissions_dir)))
    logic = SegmentLogic(engine, cfg.cache_dir, cfg.max_image_side, cfg.display_side)
    list_examples(cfg.cache_dir)  # draw the synthetic examples now (once; cached on disk)
    start_hub_fetch(cfg.cache_dir, cfg.hub_examples, cfg.hub_examples_per_set)
    view = LeaderboardView(store, Path(cfg.cache_dir) / "leaderboard")
    # One model call at a time on one device; the Predictor's lock guards it anyway.
    limit = 1

    with gr.Blocks(title="AutoSAM", delete_cache=(3600, 6 * 3600)) as demo:
        gr.Markdown(f"# AutoSAM · prompt-free SAM for medical images\n{TITLE}: segment, compare, submit.")
        with gr.Tabs():
            with gr.Tab("Segment & compare", id="segment", elem_id="tab-segment"):
                seg = build_segment_tab(logic, lambda: list_examples(cfg.cache_dir), limit)
            with gr.Tab("Leaderboard", id="leaderboard", elem_id="tab-leaderboard"):
                lb_refresh, lb_inputs, lb_outputs = build_leaderboard_tab(view, cfg.refresh_s)
            with gr.Tab("Submit", id="submit", elem_id="tab-submit"):
                q_refresh, q_table = build_submit_tab(store, policy, use_oauth=oauth_enabled())
            with gr.Tab("About", id="about", elem_id="tab-about"):
                build_about_tab(engine)
        build_api(logic, limit)
        demo.load(lb_refresh, lb_inputs, lb_outputs, api_visibility="private")
        demo.load(q_refresh, None, q_table, api_visibility="private")
        if cfg.hub_examples:  # Hub examples fetched in the background show up on the next page load
            demo.load(seg["refresh_gallery"], None, seg["gallery"], api_visibility="private")
    demo.queue(max_size=cfg.queue_size, default_concurrency_limit=4)
    return demo, AppContext(cfg, engine, store, logic)


def launch(demo: gr.Blocks, cfg: AppConfig, **overrides):
    """Launch with the app's settings (CSS, allowed paths, host/port); returns Gradio's tuple."""
    kwargs = dict(
        server_name=cfg.host, server_port=cfg.port, css=CSS, allowed_paths=[str(cfg.cache_dir)],
        show_error=False, footer_links=["api", "gradio", "settings"], ssr_mode=False,
    )
    kwargs.update(overrides)
    return demo.launch(**kwargs)
