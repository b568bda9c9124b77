"""The model shipped in autosam/assets: loads strictly on its back-end, and its verified results seed the store."""
import json
from pathlib import Path

import numpy as np
import pytest

ASSETS = Path(__file__).resolve().parents[1] / "autosam" / "assets"
CKPT = ASSETS / "autosam_lite_polyp.safetensors"


def test_shipped_checkpoint_loads_for_lite_medsam():
    from autosam.backends import expected_sha256
    from autosam.checkpoint import load_checkpoint

    assert CKPT.stat().st_size < 20 * 2**20
    m = load_checkpoint(CKPT, backend_sha256=expected_sha256("lite_medsam"))
    assert m.config.backend == "lite_medsam" and m.h is not None


def test_shipped_results_are_the_harness_json(tmp_path):
    from leaderboard.seeds import seed_store
    from leaderboard.store import ResultsStore

    summary = json.loads((ASSETS / "autosam_lite_polyp.eval.json").read_text())
    auto = summary["benchmarks"]["kvasir"]["methods"]["autosam"]
    assert auto["n"] == 100 and auto["metrics"]["dice"] >= 0.86
    assert auto["protocol"]["backend_sha256"].startswith("79d8c9dc")
    store = ResultsStore(tmp_path / "lb.sqlite")
    seed_store(store)
    df = store.results_frame(source="verified")
    row = df[(df.benchmark == "kvasir") & (df.metric == "dice") & df.method.str.endswith("/autosam")]
    assert len(row) == 1 and row.value.iloc[0] == pytest.approx(auto["metrics"]["dice"])
    per = store.per_image_frame_for_method(row.method.iloc[0])
    assert np.mean(per[per.metric == "dice"].value) == pytest.approx(auto["metrics"]["dice"])


@pytest.mark.slow
@pytest.mark.realdata
def test_shipped_model_segments_real_polyps(shared_data, lite_backend):
    """A few real kvasir/test images: the shipped AutoSAM is far better than chance (full split: README)."""
    from autosam.checkpoint import load_checkpoint
    from autosam.data import open_dataset
    from autosam.metrics import dice_iou
    from autosam.predictor import Predictor

    root = shared_data / "kvasir" / "test"
    if not root.is_dir():
        pytest.skip("kvasir/test not present")
    ds = open_dataset(str(root))
    pred = Predictor(lite_backend, load_checkpoint(CKPT, backend_sha256=lite_backend.weights_sha256))
    samples = [ds[i] for i in range(0, len(ds), 20)]
    outs = pred.predict_batch([s["image"] for s in samples], "autosam")
    dices = [dice_iou(o.prob, s["mask"])[0] for o, s in zip(outs, samples)]
    assert np.mean(dices) > 0.7, dices
