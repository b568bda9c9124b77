"""Every predictor mode on odd inputs; the embedding cache; refusal paths."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from autosam.image_io import ImageDecodeError
from autosam.predictor import MODES, NoModelError, Predictor


@pytest.fixture()
def predictor(tiny_backend, tiny_model):
    return Predictor(tiny_backend, tiny_model)


def _odd_inputs(img):
    gray = img[..., 0]
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    sixteen = (img[..., 0].astype(np.uint16) * 257)
    buf = io.BytesIO()
    Image.fromarray(sixteen).save(buf, "PNG")
    return {"rgb": img, "gray": gray, "rgba": rgba, "pil": Image.fromarray(img),
            "png16": buf.getvalue(), "float": img.astype(np.float32) / 255.0}


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_returns_original_size(predictor, pair, mode):
    img, gt = pair
    for name, x in _odd_inputs(img).items():
        p = predictor.predict(x, mode, points=[[40, 30], [10, 10]], labels=[1, 0],
                              box=[20, 15, 90, 70], mask_prompt=gt)
        assert p.prob.shape == gt.shape, name
        assert p.mask.dtype == bool and p.prob.dtype == np.float32
        assert 0.0 <= p.prob.min() and p.prob.max() <= 1.0
        assert (p.mask == (p.prob > 0.5)).all()
        assert p.latency_s >= 0


def test_embedding_computed_once_per_image(predictor, pair, monkeypatch):
    img, _ = pair
    calls = []
    orig = predictor.backend.encode
    monkeypatch.setattr(predictor.backend, "encode", lambda x: calls.append(1) or orig(x))
    predictor.predict(img, "sam_points", points=[[10, 10]])
    predictor.predict(img, "sam_points", points=[[20, 20]])
    predictor.predict(img.copy(), "sam_box", box=[0, 0, 30, 30])
    predictor.predict(img, "autosam")
    predictor.predict(img, "h")
    assert len(calls) == 1
    predictor.predict(255 - img, "autosam")
    assert len(calls) == 2


def test_clicks_change_the_result(predictor, pair):
    img, _ = pair
    a = predictor.predict(img, "sam_points", points=[[10, 10]]).prob
    b = predictor.predict(img, "sam_points", points=[[100, 80], [10, 10]], labels=[1, 0]).prob
    assert not np.allclose(a, b)


def test_batch_equals_single(predictor, pair):
    img, _ = pair
    other = np.ascontiguousarray(img[:, ::-1])
    batch = predictor.predict_batch([img, other[:50]], "autosam")
    fresh = Predictor(predictor.backend, predictor.model)
    single = fresh.predict(other[:50], "autosam")
    assert batch[1].prob.shape == (50, img.shape[1])
    np.testing.assert_allclose(batch[1].prob, single.prob, atol=1e-4)
    with pytest.raises(ValueError, match="prompt-free"):
        predictor.predict_batch([img], "sam_box")


def test_prompt_coordinates_follow_the_image(predictor, pair):
    """A box prompt in original pixels lands on the same place whatever the image size."""
    b = predictor.backend
    xy = np.array([[50.0, 40.0]])
    small = b.transform_coords(xy, (96, 128))
    assert small[0, 0] == pytest.approx(50 * b.img_size / 128, rel=1e-3)
    assert small[0, 1] == pytest.approx(40 * b.img_size / 128, rel=1e-2)


def test_refusals(tiny_backend, pair):
    img, gt = pair
    p = Predictor(tiny_backend, None)
    with pytest.raises(NoModelError, match="autosam train"):
        p.predict(img, "autosam")
    with pytest.raises(NoModelError):
        p.predict(img, "h")
    assert p.predict(img, "sam_box", box=[1, 1, 20, 20]).prob.shape == gt.shape
    with pytest.raises(ValueError, match="Unknown mode"):
        p.predict(img, "magic")
    with pytest.raises(ValueError, match="at least one point"):
        p.predict(img, "sam_points")
    with pytest.raises(ValueError, match="must match"):
        p.predict(img, "sam_mask_prompt", mask_prompt=gt[:10])
    with pytest.raises(ValueError, match="labels"):
        p.predict(img, "sam_points", points=[[1, 1]], labels=[1, 0])
    with pytest.raises(ImageDecodeError):
        p.predict(b"garbage", "sam_box", box=[0, 0, 1, 1])


def test_model_without_h(tiny_backend, pair):
    from tests.conftest import make_tiny_model

    p = Predictor(tiny_backend, make_tiny_model(tiny_backend, with_h=False))
    assert p.predict(pair[0], "autosam").prob.shape == pair[1].shape
    with pytest.raises(NoModelError, match="train-h"):
        p.predict(pair[0], "h")


def test_model_for_other_backend_refused(tiny_backend, tiny_model):
    tiny_model.config.backend = "lite_medsam"
    with pytest.raises(ValueError, match="trained on lite_medsam"):
        Predictor(tiny_backend, tiny_model)


def test_sam_embed_g_predicts(tiny_backend, pair):
    from tests.conftest import make_tiny_model

    p = Predictor(tiny_backend, make_tiny_model(tiny_backend, backbone="sam_embed"))
    out = p.predict(pair[0], "autosam")
    assert out.prob.shape == pair[1].shape
    assert torch.is_tensor(out.low_res_logits)
