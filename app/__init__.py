"""AutoSAM Gradio app: segment & compare, leaderboard, submissions, about.

Layout: ``config`` (AppConfig from flags/env), ``state`` (back-end + model + locked predictor),
``inputs`` (friendly decoding), ``render`` (overlays), ``panels`` (what each panel runs),
``segment_logic``/``segment_tab`` (tab 1), ``api`` (named endpoints), ``examples`` (synthetic and
optional Hub examples), ``leaderboard_tab``, ``submit_tab``, ``about_tab``, ``build`` (assembly).
"""
from .build import AppContext, build_app, launch
from .config import AppConfig

__all__ = ["AppConfig", "AppContext", "build_app", "launch"]
