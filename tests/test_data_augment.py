"""Augmentation views: deterministic per seed, one geometry for image and mask, colour on image only."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from autosam.data import PRESETS, AugmentPreset, get_preset, make_view
from autosam.data.augment import view_params


def _pair(h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:h, :w]
    mask = ((yy - 20) ** 2 / 100 + (xx - 24) ** 2 / 196) < 1  # an off-centre ellipse
    rng = np.random.default_rng(0)
    image = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
    image[mask] = (230, 120, 40)
    return image, mask


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_views_are_deterministic_per_seed(preset: str) -> None:
    image, mask = _pair()
    a = make_view(image, mask, preset, (7, 3))
    np.random.seed(123)  # global RNGs must not matter
    torch.manual_seed(456)
    b = make_view(image, mask, preset, (7, 3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].dtype == np.uint8 and a[0].shape == image.shape and a[1].dtype == bool and a[1].shape == mask.shape
    if preset != "none":
        views = [make_view(image, mask, preset, (7, v))[0] for v in range(4)]
        assert any(not np.array_equal(views[0], v) for v in views[1:])
    else:
        np.testing.assert_array_equal(a[0], image)


def test_same_geometry_for_image_and_mask() -> None:
    image, mask = _pair()
    geo_only = dataclasses.replace(get_preset("polyp"), brightness=0, contrast=0, saturation=0, hue=0)
    for seed in range(6):
        img, msk = make_view(image, mask, geo_only, seed)
        from_image = img[:, :, 0] > 145  # the orange ellipse, found in the warped image
        inter, union = (from_image & msk).sum(), (from_image | msk).sum()
        assert union == 0 or inter / union > 0.9, seed
        p = view_params(mask.shape, geo_only, seed)
        assert p["scale"] != 1.0 or p["angle"] != 0.0


def test_flips_are_exact_and_follow_params() -> None:
    image, mask = _pair()
    for seed in range(8):
        img, msk = make_view(image, mask, "flips", seed)
        p = view_params(mask.shape, "flips", seed)
        ref_i, ref_m = image, mask
        if p["vflip"]:
            ref_i, ref_m = ref_i[::-1], ref_m[::-1]
        if p["hflip"]:
            ref_i, ref_m = ref_i[:, ::-1], ref_m[:, ::-1]
        np.testing.assert_array_equal(img, ref_i)
        np.testing.assert_array_equal(msk, ref_m)


def test_colour_jitter_touches_image_only() -> None:
    image, mask = _pair()
    colour_only = AugmentPreset("c", brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    img, msk = make_view(image, mask, colour_only, 1)
    np.testing.assert_array_equal(msk, mask)
    assert not np.array_equal(img, image)
    img2, none_mask = make_view(image, None, "monu", 1)
    assert none_mask is None and img2.shape == image.shape


def test_presets_from_data_and_errors() -> None:
    assert get_preset({"name": "x", "hflip": 1.0, "scale": [0.9, 1.1]}).scale == (0.9, 1.1)
    assert PRESETS["glas"].degrees == 5 and PRESETS["monu"].degrees == 20 and PRESETS["polyp"].vflip == 0.5
    assert AugmentPreset.from_dict(PRESETS["monu"].to_dict()) == PRESETS["monu"]
    with pytest.raises(ValueError, match="Unknown augmentation preset"):
        get_preset("wild")
    with pytest.raises(ValueError, match="Unknown augmentation keys"):
        get_preset({"name": "x", "blur": 1})
    image, mask = _pair()
    with pytest.raises(ValueError, match="does not match"):
        make_view(image, mask[:10], "none", 0)

