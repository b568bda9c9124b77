"""Tab 3 — Submit: upload weights + config, run the checks at once, show the queue with reasons."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import gradio as gr
import pandas as pd

from leaderboard.about import SUBMIT_TEXT
from leaderboard.store import ResultsStore
from leaderboard.submission import SubmissionPolicy, SubmissionRefused, submit

from .inputs import _file_path

log = logging.getLogger(__name__)

QUEUE_HEADERS = ["#", "Model", "Submitter", "Submitted (UTC)", "Back-end", "Status", "Attempts", "Reason"]


def _when(t: float | None) -> str:
    return "" if t is None else datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def queue_frame(store: ResultsStore) -> pd.DataFrame:
    """Every submission, newest first; failed ones show their reason (and the log's last line)."""
    rows = []
    for s in sorted(store.list_submissions(), key=lambda s: (s.created_at, s.id), reverse=True):
        reason = s.failure_reason or ""
        if s.status == "FAILED" and s.log_tail:
            last = [ln for ln in s.log_tail.strip().splitlines() if ln.strip()][-1:]
            if last and last[0] not in reason:
                reason = f"{reason} — log: {last[0][:200]}".strip(" —")
        rows.append([s.id, s.display_name, s.submitter, _when(s.created_at), s.backend,
                     s.status, s.attempts, reason])
    return pd.DataFrame(rows, columns=QUEUE_HEADERS)


def do_submit(store: ResultsStore, policy: SubmissionPolicy, weights, config, display_name: str,
              submitter: str, require_login: bool = False, logged_in_as: str | None = None) -> str:
    """Run leaderboard.submission.submit and turn the outcome into a message (Markdown)."""
    who = logged_in_as or ("" if require_login else (submitter or "").strip())
    if require_login and not logged_in_as:
        return "**Please sign in with Hugging Face** (button above) before submitting."
    w, c = _file_path(weights), _file_path(config)
    if not w:
        return "**Refused:** please upload the weights file (`NAME.safetensors`)."
    if not c:
        return "**Refused:** please upload the config file (`NAME.json`, saved next to the weights)."
    try:
        sub = submit(store, w, c, display_name or "", who, policy=policy)
    except SubmissionRefused as exc:
        return f"**Refused:** {exc.reason}"
    except Exception as exc:  # a bug or a full disk must not show a traceback to the submitter
        log.exception("submission failed unexpectedly")
        return (f"**The submission could not be processed** ({type(exc).__name__}: {str(exc)[:200]}). "
                "Please try again later.")
    return (f"**Queued** as submission #{sub.id} — *{sub.display_name}* by {sub.submitter} "
            f"(back-end `{sub.backend}`, weights sha256 `{sub.weights_sha256[:12]}…`). "
            "All checks passed: safetensors only, valid config, matching back-end hash, strict load, "
            "no duplicate. A worker will evaluate it; follow its status in the queue below.")


def build_submit_tab(store: ResultsStore, policy: SubmissionPolicy, use_oauth: bool = False):
    """Returns (refresh fn, outputs) so the page load can fill the queue table."""
    gr.Markdown(SUBMIT_TEXT)
    if use_oauth:
        gr.LoginButton()
        submitter = gr.Textbox(visible=False)
    else:
        submitter = gr.Textbox(label="Your name (submitter)", placeholder="e.g. jane-doe", elem_id="submitter",
                               info="On the Hugging Face Space you sign in instead.")
    with gr.Row():
        weights = gr.File(label="Weights (NAME.safetensors)", type="filepath", elem_id="submit-weights")
        config = gr.File(label="Config (NAME.json)", type="filepath", elem_id="submit-config")
    name = gr.Textbox(label="Model name shown on the leaderboard", placeholder="e.g. hardnet85-g kvasir",
                      elem_id="submit-name")
    button = gr.Button("Submit for evaluation", variant="primary", elem_id="submit-button")
    result = gr.Markdown(elem_id="submit-result")
    gr.Markdown("### Queue")
    with gr.Row():
        refresh = gr.Button("Refresh queue", size="sm", elem_id="queue-refresh")
    table = gr.Dataframe(value=queue_frame(store), headers=QUEUE_HEADERS, interactive=False, wrap=True,
                         elem_id="queue-table", show_label=False)

    def on_submit(w, c, n, who, profile: gr.OAuthProfile | None):
        user = getattr(profile, "username", None) if profile is not None else None
        msg = do_submit(store, policy, w, c, n, who, require_login=use_oauth, logged_in_as=user)
        return msg, queue_frame(store)

    def on_refresh():
        return queue_frame(store)

    button.click(on_submit, [weights, config, name, submitter], [result, table], api_name="submit",
                 concurrency_limit=2)
    refresh.click(on_refresh, None, table, api_name="queue")
    return on_refresh, table
