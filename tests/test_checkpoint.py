"""Checkpoint round trip and every refusal path."""
import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from autosam.checkpoint import CheckpointError, load_checkpoint, read_config, save_checkpoint
from autosam.config import ModelConfig
from tests.conftest import make_tiny_model


def _save(tmp_path, backend, **kw):
    m = make_tiny_model(backend, **kw)
    return save_checkpoint(tmp_path / "model", m.config, m.g, m.h), m


def test_round_trip_is_exact(tmp_path, tiny_backend):
    path, m = _save(tmp_path, tiny_backend)
    assert path.suffix == ".safetensors" and path.with_suffix(".json").is_file()
    loaded = load_checkpoint(path, backend_sha256=tiny_backend.weights_sha256)
    assert loaded.config.g == m.config.g and loaded.config.has_h
    for a, b in zip(m.g.state_dict().values(), loaded.g.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(m.h.state_dict().values(), loaded.h.state_dict().values()):
        assert torch.equal(a, b)
    assert len(loaded.weights_sha256) == 64
    assert json.loads(path.with_suffix(".json").read_text())["backend"] == "sam_tiny"


def test_fp16_checkpoint_loads(tmp_path, tiny_backend):
    m = make_tiny_model(tiny_backend, with_h=False)
    p = save_checkpoint(tmp_path / "half", m.config, m.g, None, half=True)
    loaded = load_checkpoint(p)
    assert loaded.h is None
    w = next(iter(loaded.g.parameters()))
    assert w.dtype == torch.float32


def test_refuses_pickles_by_name_and_content(tmp_path, tiny_backend):
    path, m = _save(tmp_path, tiny_backend)
    pt = tmp_path / "model.pth"
    torch.save(m.g.state_dict(), pt)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(pt)
    disguised = tmp_path / "evil.safetensors"
    disguised.write_bytes(pickle.dumps({"a": 1}))
    (tmp_path / "evil.json").write_text(path.with_suffix(".json").read_text())
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(disguised)
    zipped = tmp_path / "zip.safetensors"
    zipped.write_bytes((tmp_path / "model.pth").read_bytes())
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(zipped)


def test_missing_or_bad_config(tmp_path, tiny_backend):
    path, _ = _save(tmp_path, tiny_backend)
    cfg = path.with_suffix(".json")
    text = cfg.read_text()
    cfg.unlink()
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(path)
    cfg.write_text("{not json")
    with pytest.raises(CheckpointError, match="not a valid"):
        load_checkpoint(path)
    d = json.loads(text)
    d["surprise"] = 1
    cfg.write_text(json.dumps(d))
    with pytest.raises(CheckpointError, match="surprise"):
        read_config(path)
    d.pop("surprise")
    d["format_version"] = 99
    cfg.write_text(json.dumps(d))
    with pytest.raises(CheckpointError, match="newer"):
        load_checkpoint(path)


def test_wrong_backend_hash_refused(tmp_path, tiny_backend):
    path, _ = _save(tmp_path, tiny_backend)
    with pytest.raises(CheckpointError, match="trained on sam_tiny"):
        load_checkpoint(path, backend_sha256="f" * 64)


def test_mismatched_architecture_explained(tmp_path, tiny_backend):
    path, _ = _save(tmp_path, tiny_backend)
    d = json.loads(path.with_suffix(".json").read_text())
    d["g"]["backbone"] = "hardnet68"
    path.with_suffix(".json").write_text(json.dumps(d))
    with pytest.raises(CheckpointError, match="missing.*unexpected|unexpected|missing"):
        load_checkpoint(path)


def test_shape_mismatch_and_foreign_tensors(tmp_path, tiny_backend):
    path, m = _save(tmp_path, tiny_backend, with_h=False)
    from safetensors.torch import load_file
    t = load_file(str(path))
    k = next(k for k in t if k.endswith("weight") and t[k].dim() == 4)
    t[k] = torch.zeros(1, 1, 1, 1)
    save_file(t, str(path))
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_checkpoint(path)
    save_file({"backdoor.x": torch.zeros(1)}, str(path))
    with pytest.raises(CheckpointError, match="outside"):
        load_checkpoint(path)
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(CheckpointError, match="safetensors"):
        load_checkpoint(path)


def test_config_round_trip():
    c = ModelConfig(backend="lite_medsam", metadata={"epochs": 3})
    assert ModelConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
