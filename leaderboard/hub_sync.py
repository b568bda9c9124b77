"""Optional mirror of the store to the Hugging Face leaderboard convention.

Two dataset repos of JSON files: ``requests`` (one record per submission, with its status) and
``results`` (one record per finished evaluation). Sync is enabled only when configured
(``AUTOSAM_HUB_REQUESTS_REPO`` / ``AUTOSAM_HUB_RESULTS_REPO`` + a token) and is best-effort:
offline (``HF_HUB_OFFLINE=1``) or on any Hub/network error it logs a warning and returns, never
raising to the caller — the local SQLite store stays the source of truth.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from .records import ResultRecord, Submission
from .store import ResultsStore

log = logging.getLogger(__name__)
T = TypeVar("T")

ENV_REQUESTS = "AUTOSAM_HUB_REQUESTS_REPO"
ENV_RESULTS = "AUTOSAM_HUB_RESULTS_REPO"
ENV_TOKENS = ("AUTOSAM_HUB_TOKEN", "HF_TOKEN")
REQUESTS_DIR = "requests"
RESULTS_DIR = "results"

# submit(store, record, weights_path, config_path) -> Submission; raises to refuse.
SubmitFn = Callable[[ResultsStore, dict[str, Any], str, str], Submission]


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("._") or "anonymous"


def request_path(sub: Submission) -> str:
    return f"{REQUESTS_DIR}/{_safe_name(sub.submitter)}/{sub.uid}.json"


def result_path(sub: Submission) -> str:
    return f"{RESULTS_DIR}/{_safe_name(sub.submitter)}/{sub.uid}.json"


class HubSync:
    def __init__(
        self,
        requests_repo: str | None = None,
        results_repo: str | None = None,
        token: str | None = None,
        *,
        api: Any = None,
        download_dir: str | os.PathLike[str] | None = None,
    ):
        self.requests_repo = requests_repo or None
        self.results_repo = results_repo or None
        self.token = token or None
        self._api = api  # injected in tests; a real HfApi is created lazily
        self.download_dir = Path(download_dir) if download_dir else None

    @classmethod
    def from_env(cls, *, api: Any = None, download_dir: str | os.PathLike[str] | None = None) -> "HubSync":
        token = next((os.environ[k] for k in ENV_TOKENS if os.environ.get(k)), None)
        return cls(os.environ.get(ENV_REQUESTS), os.environ.get(ENV_RESULTS), token, api=api,
                   download_dir=download_dir)

    @property
    def enabled(self) -> bool:
        return bool((self.requests_repo or self.results_repo) and self.token)

    @property
    def api(self) -> Any:
        if self._api is None:
            from huggingface_hub import HfApi

            self._api = HfApi(token=self.token)
        return self._api

    # -- best-effort wrapper ---------------------------------------------------------------
    def _active(self, repo: str | None, what: str) -> bool:
        if not self.enabled or not repo:
            return False
        if hub_offline():
            log.warning("Hub sync skipped (%s): HF_HUB_OFFLINE is set", what)
            return False
        return True

    def _try(self, what: str, fn: Callable[[], T], default: T) -> T:
        try:
            return fn()
        except Exception as exc:  # network, auth, missing repo: never block the caller
            log.warning("Hub sync failed (%s): %s: %s", what, type(exc).__name__, exc)
            return default

    def _upload_json(self, repo: str, path_in_repo: str, record: dict[str, Any], message: str) -> bool:
        data = json.dumps(record, indent=2, sort_keys=True, default=str).encode("utf-8")

        def go() -> bool:
            self.api.upload_file(path_or_fileobj=data, path_in_repo=path_in_repo, repo_id=repo,
                                 repo_type="dataset", token=self.token, commit_message=message)
            return True

        return self._try(f"upload {repo}/{path_in_repo}", go, False)

    # -- push ---------------------------------------------------------------------------------
    def push_submission(self, sub: Submission) -> bool:
        """Upload (or overwrite) the request record of ``sub`` with its current status."""
        if not self._active(self.requests_repo, "push_submission"):
            return False
        return self._upload_json(self.requests_repo, request_path(sub), sub.to_record(),
                                 f"{sub.display_name}: {sub.status}")

    def push_results(self, sub: Submission, results: Iterable[ResultRecord]) -> bool:
        """Upload one results JSON for a finished submission."""
        if not self._active(self.results_repo, "push_results"):
            return False
        record = {"submission": sub.to_record(), "results": [r.to_record() for r in results]}
        return self._upload_json(self.results_repo, result_path(sub), record, f"results: {sub.display_name}")

    # -- pull -----------------------------------------------------------------------------------
    def pull_requests(self, store: ResultsStore, *, submit: SubmitFn | None = None) -> list[Submission]:
        """Queue PENDING requests found on the Hub that the local store does not know (by uid).

        A request JSON names its files in the requests repo (``weights_file``, ``config_file``,
        conventionally ``requests/<user>/<uid>/model.safetensors`` and ``.../model.json``);
        they go through the same checks as a local submission. A refused request is written
        back as FAILED with the reason, so the submitter sees why.
        """
        if not self._active(self.requests_repo, "pull_requests"):
            return []
        repo = self.requests_repo
        files = self._try("list requests", lambda: list(self.api.list_repo_files(
            repo, repo_type="dataset", token=self.token)), [])
        submit = submit or _default_submit
        out: list[Submission] = []
        dest = self.download_dir or Path(tempfile.mkdtemp(prefix="autosam-requests-"))
        # Request records sit at requests/<user>/<uid>.json; their files one level deeper.
        names = [f for f in files if f.startswith(REQUESTS_DIR + "/") and f.endswith(".json") and f.count("/") == 2]
        for name in sorted(names):
            rec = self._try(f"read {name}", lambda n=name: json.loads(Path(self._download(repo, n, dest)).read_text("utf-8")), None)
            if not isinstance(rec, dict) or rec.get("status", "PENDING") != "PENDING" or not rec.get("uid"):
                continue
            if store.get_by_uid(str(rec["uid"])) is not None:
                continue
            sub = self._queue_one(store, rec, dest, submit)
            if sub is not None:
                out.append(sub)
        return out

    def _download(self, repo: str, filename: str, dest: Path) -> str:
        return str(self.api.hf_hub_download(repo, filename, repo_type="dataset", token=self.token, local_dir=dest))

    def _queue_one(self, store: ResultsStore, rec: dict[str, Any], dest: Path, submit: SubmitFn) -> Submission | None:
        from .submission import SubmissionRefused

        repo = self.requests_repo
        assert repo is not None
        try:
            if not rec.get("weights_file") or not rec.get("config_file"):
                raise SubmissionRefused("The request names no weights_file/config_file in the requests repo.")
            weights = self._download(repo, str(rec["weights_file"]), dest)
            config = self._download(repo, str(rec["config_file"]), dest)
        except SubmissionRefused as exc:
            self._refuse(rec, str(exc))
            return None
        except Exception as exc:  # could not fetch now: leave it PENDING on the Hub, retry next pull
            log.warning("Hub sync: could not download files of request %s: %s", rec.get("uid"), exc)
            return None
        try:
            sub = submit(store, rec, weights, config)
        except SubmissionRefused as exc:
            self._refuse(rec, exc.reason)
            return None
        self.push_submission(sub)
        return sub

    def _refuse(self, rec: dict[str, Any], reason: str) -> None:
        rec = {**rec, "status": "FAILED", "failure_reason": reason}
        path = f"{REQUESTS_DIR}/{_safe_name(str(rec.get('submitter', '')))}/{rec['uid']}.json"
        assert self.requests_repo is not None
        self._upload_json(self.requests_repo, path, rec, f"refused: {reason[:60]}")


def _default_submit(store: ResultsStore, rec: dict[str, Any], weights: str, config: str) -> Submission:
    from .submission import submit

    return submit(store, weights, config, display_name=str(rec.get("display_name") or ""),
                  submitter=str(rec.get("submitter") or ""), uid=str(rec["uid"]))
