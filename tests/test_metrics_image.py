"""Image Dice/IoU: hand-computed cases, pinned threshold/empty/resize rules, bootstrap CIs."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from autosam.metrics import bootstrap_ci, dice_iou, paired_difference, score_image_dirs, score_images
from autosam.metrics.bootstrap import bootstrap_curve_ci


def block(h=4, w=4, rows=slice(0, 2), cols=slice(0, 2)):
    m = np.zeros((h, w), dtype=bool)
    m[rows, cols] = True
    return m


def test_hand_computed_4x4():
    gt = block()  # 4 pixels
    prob = np.zeros((4, 4))
    prob[0:2, 0:3] = 0.9  # 6 predicted pixels, 4 of them on the object
    d, j = dice_iou(prob, gt)
    assert d == pytest.approx(2 * 4 / (6 + 4))
    assert j == pytest.approx(4 / 6)


def test_threshold_is_strict_greater():
    gt = block()
    prob = np.where(gt, 0.5, 0.0)  # exactly 0.5 is background (logit 0 -> SAM says background)
    assert dice_iou(prob, gt) == (0.0, 0.0)
    prob = np.where(gt, np.nextafter(0.5, 1), 0.0)
    assert dice_iou(prob, gt) == (1.0, 1.0)
    assert dice_iou(np.where(gt, 0.7, 0.0), gt, threshold=0.7) == (0.0, 0.0)


def test_empty_mask_rules():
    empty = np.zeros((4, 4), dtype=bool)
    assert dice_iou(empty, empty) == (1.0, 1.0)
    assert dice_iou(block(), empty) == (0.0, 0.0)
    assert dice_iou(empty, block()) == (0.0, 0.0)
    assert dice_iou(np.full((4, 4), 0.4), empty) == (1.0, 1.0)


def test_input_scaling_rules():
    gt = block()
    u8 = gt.astype(np.uint8) * 255
    assert dice_iou(u8, u8) == (1.0, 1.0)  # 0/255 maps and GT
    assert dice_iou(gt.astype(np.uint8), gt.astype(np.uint8)) == (1.0, 1.0)  # 0/1 uint8 is a mask
    assert dice_iou(gt.astype(np.int32), gt) == (1.0, 1.0)
    assert dice_iou(np.where(gt, 128, 0).astype(np.uint8), gt) == (1.0, 1.0)  # 128/255 > 0.5
    assert dice_iou(np.where(gt, 127, 0).astype(np.uint8), gt) == (0.0, 0.0)  # 127/255 < 0.5
    with pytest.raises(ValueError):
        dice_iou(np.full((4, 4), 300, dtype=np.int32), gt)
    with pytest.raises(ValueError):
        dice_iou(np.full((4, 4), np.nan), gt)


def test_resize_bilinear_before_threshold():
    # 2x2 probability map -> 4x4 with OpenCV bilinear (half-pixel centres):
    # row/col 0 -> 1.0, 1 -> 0.75, 2 -> 0.25, 3 -> 0.0 along each axis, products elsewhere:
    # (1,1) = 0.5625 > 0.5 and (1,2) = 0.1875, so the thresholded map is the 2x2 block.
    small = np.array([[1.0, 0.0], [0.0, 0.0]])
    up = cv2.resize(small, (4, 4), interpolation=cv2.INTER_LINEAR)
    assert up[1, 1] == pytest.approx(0.5625) and up[0, 2] == pytest.approx(0.25)
    assert dice_iou(small, block()) == (1.0, 1.0)
    assert dice_iou(small.astype(bool), block()) == (1.0, 1.0)
    # Thresholding *after* resizing differs from resizing a thresholded mask:
    gt = np.zeros((4, 4), dtype=bool)
    gt[0, 0] = True
    d, j = dice_iou(np.array([[0.6, 0.0], [0.0, 0.0]]), gt)  # 0.6 * 0.75 = 0.45 -> only (0,0)
    assert (d, j) == (1.0, 1.0)


def test_gt_binarisation_rules():
    gt = block()
    noisy = np.where(gt, 250, 5).astype(np.uint8)  # JPEG-like noise: > 127 is foreground
    assert dice_iou(gt, noisy) == (1.0, 1.0)
    assert dice_iou(gt, gt.astype(float)) == (1.0, 1.0)


def test_score_images_mean_ci_and_per_image():
    rng = np.random.default_rng(1)
    gts, preds = {}, {}
    for i in range(12):
        g = rng.random((16, 16)) > 0.6
        gts[f"im{i:02d}"] = g
        preds[f"im{i:02d}"] = np.where(rng.random((16, 16)) > 0.2, g, ~g).astype(np.float32)
    out = score_images(preds, gts, n_resamples=500, seed=3)
    per = [dice_iou(preds[k], gts[k]) for k in sorted(gts)]
    assert out["n"] == 12
    assert out["dice"] == pytest.approx(np.mean([p[0] for p in per]), abs=1e-15)
    assert out["iou"] == pytest.approx(np.mean([p[1] for p in per]), abs=1e-15)
    assert out["per_image"]["im03"]["dice"] == per[3][0]
    lo, hi = out["dice_ci"]
    assert lo <= out["dice"] <= hi
    again = score_images(preds, gts, n_resamples=500, seed=3)
    assert again["dice_ci"] == out["dice_ci"] and again["iou_ci"] == out["iou_ci"]
    # Missing predictions: error by default, empty prediction on request.
    del preds["im05"]
    with pytest.raises(ValueError, match="im05"):
        score_images(preds, gts)
    z = score_images(preds, gts, missing="zeros", n_resamples=10)
    assert z["per_image"]["im05"]["dice"] == (1.0 if not gts["im05"].any() else 0.0)


def test_score_image_dirs_pairs_by_stem(tmp_path):
    gdir, pdir = tmp_path / "gt", tmp_path / "pred"
    gdir.mkdir()
    pdir.mkdir()
    g = block(8, 8, slice(2, 6), slice(2, 6))
    cv2.imwrite(str(gdir / "a.png"), g.astype(np.uint8) * 255)
    cv2.imwrite(str(gdir / "b.png"), g.astype(np.uint8) * 255)
    cv2.imwrite(str(pdir / "a.png"), g.astype(np.uint8) * 255)  # perfect
    p = np.zeros((4, 4), np.float32)  # half resolution probability map, shifted object
    p[1:3, 2:4] = 0.9
    np.save(pdir / "b.npy", p)
    cv2.imwrite(str(pdir / "extra.png"), np.zeros((8, 8), np.uint8))
    out = score_image_dirs(pdir, gdir, n_resamples=100)
    assert out["per_image"]["a"] == {"dice": 1.0, "iou": 1.0}
    assert out["per_image"]["b"]["dice"] == dice_iou(p, g)[0]
    assert out["unmatched_predictions"] == ["extra"]
    (pdir / "b.npy").unlink()
    with pytest.raises(ValueError, match="b.png"):
        score_image_dirs(pdir, gdir)


def test_bootstrap_ci_reproducible_and_sane():
    v = np.random.default_rng(0).random(50)
    a = bootstrap_ci(v, n_resamples=1000, seed=7)
    assert a == bootstrap_ci(v, n_resamples=1000, seed=7)
    assert a != bootstrap_ci(v, n_resamples=1000, seed=8)
    assert a[0] < v.mean() < a[1]
    assert bootstrap_ci([0.3], n_resamples=50) == (0.3, 0.3)
    assert all(np.isnan(bootstrap_ci([], n_resamples=50)))
    # Reference: explicit index resampling with the same generator stream.
    rng = np.random.default_rng(7)
    means = v[rng.integers(0, 50, size=(1000, 50))].mean(axis=1)
    assert np.allclose(a, np.quantile(means, [0.025, 0.975]), atol=1e-12)
    # Curve version with "mean" equals the scalar version on per-row means.
    curves = np.random.default_rng(1).random((30, 256))
    assert np.allclose(bootstrap_curve_ci(curves, "mean", n_resamples=300, seed=2),
                       bootstrap_ci(curves.mean(axis=1), n_resamples=300, seed=2), atol=1e-12)
    lo, hi = bootstrap_curve_ci(curves, "max", n_resamples=300, seed=2)
    assert lo <= curves.mean(axis=0).max() + 1e-12 and lo <= hi
    with pytest.raises(ValueError):
        bootstrap_ci([0.1, np.nan])


def test_paired_difference():
    a = {"x": 0.9, "y": 0.8, "z": 0.7, "only_a": 0.1}
    b = {"x": 0.8, "y": 0.8, "z": 0.5, "only_b": 0.2}
    r = paired_difference(a, b, n_resamples=500, seed=0)
    assert r["shared_ids"] == ["x", "y", "z"] and r["n"] == 3
    assert r["only_in_a"] == ["only_a"] and r["only_in_b"] == ["only_b"]
    assert r["mean_diff"] == pytest.approx(0.1)
    assert r["ci"][0] <= r["mean_diff"] <= r["ci"][1]
    assert (r["a_better"], r["b_better"], r["ties"]) == (2, 0, 1)
    assert r == paired_difference(a, b, n_resamples=500, seed=0)
    assert paired_difference(a, a, n_resamples=50)["p_value"] == 1.0
    with pytest.raises(ValueError, match="share no ids"):
        paired_difference({"a": 1.0}, {"b": 1.0})
