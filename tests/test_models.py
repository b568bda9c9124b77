"""g, h and AutoSAM: shapes, ranges, the paper's size numbers, gradients."""
import warnings

import pytest
import torch

from autosam.config import GConfig
from autosam.losses import bce_dice_loss, dice_loss, logits_to_prob
from autosam.models import AutoSAM, SurrogateDecoder, build_g, count_macs, profile_g
from autosam.models.hardnet import full_param_count


def _g(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_g(GConfig(**kw))


def test_hardnet85_g_matches_paper_size():
    p = profile_g(GConfig(backbone="hardnet85"), 256)
    # Paper: 41.56M params (incl. HarDNet-85's unused last stage), 25.11 GMACs at 256².
    assert round(p.params_paper / 1e6, 2) == 41.56
    assert round(p.params_used / 1e6, 2) == 24.05
    assert abs(p.macs_paper / 1e9 - 25.11) < 0.1
    assert p.macs_used < p.macs_paper  # the unused stage is not computed
    # The unused stage (≈17.5M params) is exactly the difference between the two counts.
    assert abs((p.params_paper - p.params_used) / 1e6 - 17.5) < 0.1
    assert full_param_count("hardnet85") > p.params_paper - p.params_used


def test_random_init_warns_loudly():
    with pytest.warns(UserWarning, match="RANDOMLY INITIALISED"):
        build_g(GConfig(backbone="hardnet39ds"))


@pytest.mark.parametrize("backbone,size", [("hardnet85", 256), ("hardnet68", 96), ("hardnet39ds", 352)])
def test_g_output_shape_and_range(backbone, size):
    g = _g(backbone=backbone, input_size=size).eval()
    z = g(torch.randn(2, 3, size, size) * 3)
    assert z.shape == (2, 256, 64, 64)
    assert z.min() >= -1 and z.max() <= 1


def test_timm_backbone_features_only():
    g = _g(backbone="timm:resnet18", input_size=64).eval()
    assert g(torch.randn(1, 3, 64, 64)).shape == (1, 256, 64, 64)
    with pytest.raises(ValueError, match="Unknown g backbone"):
        _g(backbone="hardnet999")


def test_sam_embed_g_reads_embedding():
    g = _g(backbone="sam_embed").eval()
    assert g.needs_image_embedding
    z = g(None, image_embeddings=torch.randn(2, 256, 64, 64))
    assert z.shape == (2, 256, 64, 64) and z.abs().max() <= 1
    with pytest.raises(ValueError, match="image_embeddings"):
        g(torch.zeros(1, 3, 64, 64))


def test_h_shape_and_size():
    h = SurrogateDecoder()
    assert h(torch.randn(2, 256, 64, 64)).shape == (2, 1, 256, 256)
    assert sum(p.numel() for p in h.parameters()) == 151_809  # official ModelH: 151.8K
    assert abs(count_macs(h, torch.zeros(1, 256, 64, 64)) / 1e9 - 0.67) < 0.01


def test_autosam_batched_forward_backward_reaches_g_only(tiny_backend, pair):
    g = _g(backbone="hardnet39ds", input_size=64)
    model = AutoSAM(g, tiny_backend)
    assert all(n.startswith("g.") for n, _ in model.named_parameters())
    x, _ = tiny_backend.preprocess([pair[0]] * 3)
    emb = tiny_backend.encode(x)
    out = model(torch.randn(3, 3, 64, 64), emb)
    assert out.shape == (3, 1, 256, 256)
    target = (torch.rand(3, 1, 256, 256) > 0.5).float()
    bce_dice_loss(out, target).backward()
    assert all(p.grad is not None for p in g.parameters() if p.requires_grad)
    assert all(p.grad is None for p in tiny_backend.parameters())
    # Batched result equals per-sample results (no cross-talk between samples).
    g.eval()
    with torch.no_grad():
        z = torch.randn(3, 3, 64, 64)
        full = model(z, emb)
        one = model(z[1:2], emb[1:2])
    torch.testing.assert_close(full[1:2], one, atol=1e-4, rtol=1e-4)


def test_loss_matches_paper_equations():
    logits = torch.tensor([[[[2.0, -1.0], [0.5, -3.0]]]])
    target = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    p = torch.sigmoid(logits)
    bce = -(target * p.log() + (1 - target) * (1 - p).log()).mean()
    tp, fp, fn = (p * target).sum(), (p * (1 - target)).sum(), ((1 - p) * target).sum()
    dice = 1 - (2 * tp + 1) / (2 * tp + fn + fp + 1)
    torch.testing.assert_close(bce_dice_loss(logits, target), bce + dice)
    mm = logits_to_prob(logits, "minmax")
    assert float(mm.min()) == 0.0 and float(mm.max()) == 1.0
    assert float(dice_loss(target, target)) == 0.0
    with pytest.raises(ValueError):
        logits_to_prob(logits, "softmax")
