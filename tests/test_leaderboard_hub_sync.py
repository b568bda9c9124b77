"""Hub sync against an injected fake HfApi: no network, never raises to the caller."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from leaderboard.hub_sync import HubSync, request_path, result_path
from leaderboard.records import ResultRecord, Submission
from leaderboard.store import ResultsStore
from leaderboard.submission import SubmissionRefused


class FakeHfApi:
    """The subset of huggingface_hub.HfApi that HubSync uses, backed by a dict."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.calls: list[str] = []
        self.fail_with: Exception | None = None

    def _maybe_fail(self, what: str) -> None:
        self.calls.append(what)
        if self.fail_with is not None:
            raise self.fail_with

    def upload_file(self, *, path_or_fileobj: Any, path_in_repo: str, repo_id: str, repo_type: str | None = None,
                    token: Any = None, commit_message: str | None = None, **_: Any) -> None:
        self._maybe_fail("upload_file")
        assert repo_type == "dataset" and isinstance(path_or_fileobj, bytes)
        self.files[(repo_id, path_in_repo)] = path_or_fileobj

    def list_repo_files(self, repo_id: str, *, repo_type: str | None = None, token: Any = None, **_: Any) -> list[str]:
        self._maybe_fail("list_repo_files")
        return [p for (r, p) in self.files if r == repo_id]

    def hf_hub_download(self, repo_id: str, filename: str, *, repo_type: str | None = None, token: Any = None,
                        local_dir: Any = None, **_: Any) -> str:
        self._maybe_fail("hf_hub_download")
        if (repo_id, filename) not in self.files:
            raise FileNotFoundError(filename)
        out = Path(local_dir) / filename
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(self.files[(repo_id, filename)])
        return str(out)

    def json(self, repo: str, path: str) -> dict[str, Any]:
        return json.loads(self.files[(repo, path)])


@pytest.fixture
def store(tmp_path: Path) -> ResultsStore:
    return ResultsStore(tmp_path / "lb.sqlite")


@pytest.fixture
def api() -> FakeHfApi:
    return FakeHfApi()


@pytest.fixture
def hub(api: FakeHfApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubSync:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return HubSync("org/requests", "org/results", "tok", api=api, download_dir=tmp_path / "dl")


def _sub(store: ResultsStore) -> Submission:
    return store.add_submission("alice smith", "My g", "a" * 64, {"backend": "sam_tiny"})


def test_disabled_without_configuration(store: ResultsStore, api: FakeHfApi, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("AUTOSAM_HUB_REQUESTS_REPO", "AUTOSAM_HUB_RESULTS_REPO", "AUTOSAM_HUB_TOKEN", "HF_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    h = HubSync.from_env(api=api)
    assert not h.enabled
    assert h.push_submission(_sub(store)) is False and h.pull_requests(store) == []
    assert HubSync("org/requests", None, None, api=api).enabled is False  # no token
    assert api.calls == []


def test_from_env(monkeypatch: pytest.MonkeyPatch, api: FakeHfApi) -> None:
    monkeypatch.setenv("AUTOSAM_HUB_REQUESTS_REPO", "o/req")
    monkeypatch.setenv("AUTOSAM_HUB_RESULTS_REPO", "o/res")
    monkeypatch.setenv("HF_TOKEN", "t")
    h = HubSync.from_env(api=api)
    assert h.enabled and (h.requests_repo, h.results_repo, h.token) == ("o/req", "o/res", "t")


def test_push_submission_and_results(hub: HubSync, api: FakeHfApi, store: ResultsStore) -> None:
    sub = _sub(store)
    assert hub.push_submission(sub) is True
    path = request_path(sub)
    assert path == f"requests/alice_smith/{sub.uid}.json"
    assert Submission.from_record(api.json("org/requests", path)) == sub
    r = ResultRecord("kvasir", "test", "dice", 0.9, 0.88, 0.92, 100)
    assert hub.push_results(sub, [r]) is True
    rec = api.json("org/results", result_path(sub))
    assert rec["submission"]["uid"] == sub.uid and rec["results"][0]["value"] == 0.9


def test_offline_warns_and_skips(hub: HubSync, api: FakeHfApi, store: ResultsStore,
                                 monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="leaderboard.hub_sync"):
        assert hub.push_submission(_sub(store)) is False
        assert hub.pull_requests(store) == []
    assert api.calls == [] and "HF_HUB_OFFLINE" in caplog.text


def test_network_errors_never_raise(hub: HubSync, api: FakeHfApi, store: ResultsStore,
                                    caplog: pytest.LogCaptureFixture) -> None:
    api.fail_with = ConnectionError("no route to host")
    with caplog.at_level(logging.WARNING, logger="leaderboard.hub_sync"):
        assert hub.push_submission(_sub(store)) is False
        assert hub.push_results(_sub_b(store), []) is False
        assert hub.pull_requests(store) == []
    assert "no route to host" in caplog.text


def _sub_b(store: ResultsStore) -> Submission:
    return store.add_submission("bob", "B", "b" * 64, {"backend": "sam_tiny"})


def _put_request(api: FakeHfApi, uid: str, **extra: Any) -> None:
    rec = {"uid": uid, "submitter": "carol", "display_name": "Hub g", "status": "PENDING",
           "weights_file": f"requests/carol/{uid}/model.safetensors", "config_file": f"requests/carol/{uid}/model.json",
           **extra}
    api.files[("org/requests", f"requests/carol/{uid}.json")] = json.dumps(rec).encode()
    api.files[("org/requests", rec["weights_file"])] = b"weights"
    api.files[("org/requests", rec["config_file"])] = b"{}"


def test_pull_requests_queues_new_ones(hub: HubSync, api: FakeHfApi, store: ResultsStore) -> None:
    _put_request(api, "abc123")
    _put_request(api, "done1", status="FINISHED")
    seen: list[tuple[str, bytes]] = []

    def fake_submit(st: ResultsStore, rec: dict[str, Any], weights: str, config: str) -> Submission:
        seen.append((rec["uid"], Path(weights).read_bytes()))
        return st.add_submission(rec["submitter"], rec["display_name"], "c" * 64, {"backend": "sam_tiny"},
                                 uid=rec["uid"])

    got = hub.pull_requests(store, submit=fake_submit)
    assert [s.uid for s in got] == ["abc123"] and seen == [("abc123", b"weights")]
    assert store.get_by_uid("abc123").status == "PENDING"
    # the queued request was mirrored back with its local id
    assert api.json("org/requests", "requests/carol/abc123.json")["id"] == got[0].id
    assert hub.pull_requests(store, submit=fake_submit) == []  # known uid: not queued twice


def test_pull_requests_writes_back_refusals(hub: HubSync, api: FakeHfApi, store: ResultsStore) -> None:
    _put_request(api, "bad1")

    def refuse(*_: Any) -> Submission:
        raise SubmissionRefused("Pickles are refused.")

    assert hub.pull_requests(store, submit=refuse) == []
    rec = api.json("org/requests", "requests/carol/bad1.json")
    assert rec["status"] == "FAILED" and rec["failure_reason"] == "Pickles are refused."
    assert hub.pull_requests(store, submit=refuse) == []  # FAILED requests are not retried


def test_pull_requests_missing_files_refused(hub: HubSync, api: FakeHfApi, store: ResultsStore) -> None:
    api.files[("org/requests", "requests/dave/x1.json")] = json.dumps(
        {"uid": "x1", "submitter": "dave", "status": "PENDING"}).encode()
    assert hub.pull_requests(store, submit=lambda *a: pytest.fail("must not submit")) == []
    assert api.json("org/requests", "requests/dave/x1.json")["status"] == "FAILED"


def test_pull_requests_end_to_end_with_real_checks(hub: HubSync, api: FakeHfApi, store: ResultsStore,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ckpt = pytest.importorskip("autosam.checkpoint")
    import torch
    from autosam.backends import expected_sha256
    from autosam.config import GConfig, ModelConfig
    from autosam.models.prompt_generator import build_g

    cfg = ModelConfig(backend="sam_tiny", backend_sha256=expected_sha256("sam_tiny"),
                      g=GConfig(backbone="sam_embed", hidden_dim=8))
    torch.manual_seed(1)
    w = ckpt.save_checkpoint(tmp_path / "src" / "m.safetensors", cfg, build_g(cfg.g))
    _put_request(api, "e2e")
    api.files[("org/requests", "requests/carol/e2e/model.safetensors")] = w.read_bytes()
    api.files[("org/requests", "requests/carol/e2e/model.json")] = w.with_suffix(".json").read_bytes()
    _put_request(api, "pk")
    api.files[("org/requests", "requests/carol/pk/model.safetensors")] = b"PK\x03\x04 zip"
    api.files[("org/requests", "requests/carol/pk/model.json")] = w.with_suffix(".json").read_bytes()
    monkeypatch.setenv("AUTOSAM_SUBMISSIONS_DIR", str(tmp_path / "subs"))
    got = hub.pull_requests(store)
    assert [s.uid for s in got] == ["e2e"] and got[0].display_name == "Hub g"
    assert Path(got[0].checkpoint_path).read_bytes() == w.read_bytes()
    assert api.json("org/requests", "requests/carol/pk.json")["status"] == "FAILED"
    assert "zip" in api.json("org/requests", "requests/carol/pk.json")["failure_reason"]
