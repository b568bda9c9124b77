"""Submission checks: every refusal path, pickles refused, duplicates, rate limit, atomic copy."""
from __future__ import annotations

import json
import pickle
import shutil
import threading
from pathlib import Path

import pytest
import torch

from autosam.config import GConfig, ModelConfig
from leaderboard.store import ResultsStore
from leaderboard.submission import (
    CONFIG_NAME, WEIGHTS_NAME, SubmissionPolicy, SubmissionRefused, check_weights_bytes, submit,
)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A real (tiny) AutoSAM checkpoint: light sam_embed g on the sam_tiny back-end."""
    ckpt = pytest.importorskip("autosam.checkpoint")  # the core may land after this package
    from autosam.backends import expected_sha256
    from autosam.models.prompt_generator import build_g

    sha = expected_sha256("sam_tiny")
    cfg = ModelConfig(backend="sam_tiny", backend_sha256=sha, g=GConfig(backbone="sam_embed", hidden_dim=8))
    d = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    w = ckpt.save_checkpoint(d / "tiny.safetensors", cfg, build_g(cfg.g))
    return w, w.with_suffix(".json"), sha


@pytest.fixture
def env(tmp_path: Path, tiny_ckpt: tuple[Path, Path, str]):
    store = ResultsStore(tmp_path / "lb.sqlite")
    policy = SubmissionPolicy(submissions_dir=tmp_path / "subs")
    w, c, sha = tiny_ckpt
    # copy so tests may edit files freely
    shutil.copy(w, tmp_path / "m.safetensors")
    shutil.copy(c, tmp_path / "m.json")
    return store, policy, tmp_path / "m.safetensors", tmp_path / "m.json", sha


def _refused(match: str, *args, **kw) -> SubmissionRefused:
    with pytest.raises(SubmissionRefused, match=match) as ei:
        submit(*args, **kw)
    return ei.value


def _no_leftovers(policy: SubmissionPolicy) -> bool:
    root = Path(policy.submissions_dir)
    return not root.exists() or not any(p.name.startswith(".") for p in root.iterdir())


def test_accepts_valid_submission(env) -> None:
    store, policy, w, c, sha = env
    sub = submit(store, w, c, "Tiny g", "alice", policy=policy)
    assert sub.status == "PENDING" and sub.backend == "sam_tiny" and sub.submitter == "alice"
    folder = Path(policy.submissions_dir) / sub.uid
    assert sub.checkpoint_path == str(folder / WEIGHTS_NAME)
    assert (folder / WEIGHTS_NAME).read_bytes() == w.read_bytes()
    assert json.loads((folder / CONFIG_NAME).read_text()) == json.loads(c.read_text())
    import hashlib
    assert sub.weights_sha256 == hashlib.sha256(w.read_bytes()).hexdigest()
    assert sub.config["backend_sha256"] == sha
    assert store.list_submissions() == [sub] and _no_leftovers(policy)


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".ckpt", ".bin", ".pkl"])
def test_pickle_refused_by_extension(env, suffix: str) -> None:
    store, policy, w, c, _ = env
    p = w.with_suffix(suffix)
    shutil.copy(w, p)
    _refused("pickled", store, p, c, "x", "alice", policy=policy)


def test_non_safetensors_extension_refused(env) -> None:
    store, policy, w, c, _ = env
    p = w.with_suffix(".npz")
    shutil.copy(w, p)
    _refused("only .safetensors", store, p, c, "x", "alice", policy=policy)


def test_torch_zip_renamed_refused_by_magic(env) -> None:
    store, policy, w, c, _ = env
    torch.save({"g.w": torch.zeros(2)}, w)  # zip archive starting with 'PK'
    assert w.read_bytes()[:2] == b"PK"
    _refused("zip archive", store, w, c, "x", "alice", policy=policy)
    assert _no_leftovers(policy) and store.list_submissions() == []


def test_raw_pickle_refused_by_magic(env) -> None:
    store, policy, w, c, _ = env
    w.write_bytes(pickle.dumps({"g.w": [1, 2, 3]}, protocol=4))
    _refused("pickle header", store, w, c, "x", "alice", policy=policy)


@pytest.mark.parametrize("payload,match", [
    (b"\x01\x02", "too short"),
    (b"\xff" * 64, "bad header length"),
    ((10).to_bytes(8, "little") + b"not json!!" + b"\x00" * 8, "not JSON"),
    ((2).to_bytes(8, "little") + b"{}", "no tensors"),
])
def test_malformed_safetensors_refused(env, payload: bytes, match: str) -> None:
    store, policy, w, c, _ = env
    w.write_bytes(payload)
    _refused(match, store, w, c, "x", "alice", policy=policy)


def test_truncated_safetensors_refused(env) -> None:
    store, policy, w, c, _ = env
    w.write_bytes(w.read_bytes()[:-10])
    _refused("truncated", store, w, c, "x", "alice", policy=policy)
    with pytest.raises(SubmissionRefused):
        check_weights_bytes(w)


def test_size_cap(env) -> None:
    store, policy, w, c, _ = env
    policy.max_bytes = 1000
    e = _refused("limit", store, w, c, "x", "alice", policy=policy)
    assert "MB" in e.reason


@pytest.mark.parametrize("text,match", [
    ("{not json", "not valid JSON"),
    ('{"backend": "sam_tiny", "shoe_size": 42}', "not an AutoSAM model config"),
    ('[1, 2]', "not an AutoSAM model config"),
    ('{"format_version": 99}', "newer"),
])
def test_bad_config_refused(env, text: str, match: str) -> None:
    store, policy, w, c, _ = env
    c.write_text(text)
    _refused(match, store, w, c, "x", "alice", policy=policy)


def _edit_config(c: Path, **changes) -> None:
    d = json.loads(c.read_text())
    d.update(changes)
    c.write_text(json.dumps(d))


def test_unknown_backend_refused(env) -> None:
    store, policy, w, c, _ = env
    _edit_config(c, backend="sam_vit_z")
    e = _refused("Unknown back-end 'sam_vit_z'", store, w, c, "x", "alice", policy=policy)
    assert "sam_tiny" in e.reason  # lists the known ones


def test_missing_backend_hash_refused(env) -> None:
    store, policy, w, c, _ = env
    _edit_config(c, backend_sha256="")
    _refused("no backend_sha256", store, w, c, "x", "alice", policy=policy)


def test_backend_hash_mismatch_refused(env) -> None:
    store, policy, w, c, _ = env
    _edit_config(c, backend_sha256="0" * 64)
    _refused("different back-end", store, w, c, "x", "alice", policy=policy)


def test_backend_hash_unknown_locally_is_not_checked(env) -> None:
    store, policy, w, c, _ = env
    _edit_config(c, backend_sha256="0" * 64)
    policy.check_load = False  # config hash no longer matches what load_checkpoint may check
    sub = submit(store, w, c, "x", "alice", policy=policy, backend_hash=lambda name: None)
    assert sub.status == "PENDING"


def test_strict_load_failure_refused(env) -> None:
    store, policy, w, c, _ = env
    d = json.loads(c.read_text())
    d["g"]["hidden_dim"] = 16  # weights were saved for hidden_dim 8
    c.write_text(json.dumps(d))
    _refused("do not (match|load)", store, w, c, "x", "alice", policy=policy)
    assert _no_leftovers(policy) and store.list_submissions() == []


def test_foreign_tensors_refused(env, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    store, policy, w, c, _ = env
    save_file({"model.weight": torch.zeros(3)}, str(w))
    _refused("do not load", store, w, c, "x", "alice", policy=policy)


def test_duplicate_weights_refused(env) -> None:
    store, policy, w, c, _ = env
    first = submit(store, w, c, "a", "alice", policy=policy)
    e = _refused("already submitted", store, w, c, "b", "bob", policy=policy)
    assert "'a'" in e.reason and len(store.list_submissions()) == 1 and _no_leftovers(policy)
    store.claim_next("w")
    store.fail(first.id, "oom")
    assert submit(store, w, c, "again", "alice", policy=policy).status == "PENDING"


def test_racing_duplicate_submits_only_one_queued(env) -> None:
    store, policy, w, c, _ = env
    barrier = threading.Barrier(3)
    ok, refused = [], []

    def run(i: int) -> None:
        barrier.wait()
        try:
            ok.append(submit(store, w, c, f"n{i}", f"u{i}", policy=policy))
        except SubmissionRefused as e:
            refused.append(e)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(ok) == 1 and len(refused) == 2
    assert [p.name for p in Path(policy.submissions_dir).iterdir()] == [ok[0].uid]


def test_rate_limit(env) -> None:
    store, policy, w, c, _ = env
    policy.rate_limit = 2
    for i in range(2):
        store.add_submission("alice", f"m{i}", f"{i}" * 64, {})
    e = _refused("Rate limit", store, w, c, "x", "alice", policy=policy)
    assert "limit 2" in e.reason and "24 h" in e.reason
    assert submit(store, w, c, "x", "bob", policy=policy).submitter == "bob"  # per user


@pytest.mark.parametrize("name,user,match", [
    ("", "alice", "model name"), ("  \n", "alice", "model name"), ("x" * 101, "alice", "too long"),
    ("ok", "", "user name"),
])
def test_names_checked(env, name: str, user: str, match: str) -> None:
    store, policy, w, c, _ = env
    _refused(match, store, w, c, name, user, policy=policy)


def test_missing_files_and_bad_uid(env) -> None:
    store, policy, w, c, _ = env
    _refused("not found", store, w.with_name("nope.safetensors"), c, "x", "alice", policy=policy)
    _refused("not found", store, w, c.with_name("nope.json"), "x", "alice", policy=policy)
    _refused("Invalid request id", store, w, c, "x", "alice", policy=policy, uid="../../etc")


def test_local_backend_hash_from_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from autosam.backends import BACKENDS, expected_sha256
    from leaderboard.submission import local_backend_sha256

    assert local_backend_sha256("sam_tiny") == expected_sha256("sam_tiny")
    monkeypatch.setenv("AUTOSAM_CACHE", str(tmp_path))
    assert local_backend_sha256("sam_vit_h") is None  # weights not here: nothing to compare
    f = tmp_path / BACKENDS["sam_vit_h"].weights_file
    f.write_bytes(b"pretend ViT-H weights")
    assert local_backend_sha256("sam_vit_h") == hashlib.sha256(b"pretend ViT-H weights").hexdigest()
    assert local_backend_sha256("no_such_backend") is None
