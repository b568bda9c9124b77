"""Robust decoding of odd images and masks."""
import io

import numpy as np
import pytest
from PIL import Image

from autosam.image_io import (ImageDecodeError, binarize_mask, content_hash, downscale_if_huge,
                              load_image, load_mask)


def _png_bytes(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_grayscale_rgba_palette_and_16bit():
    g = load_image(Image.fromarray(np.full((5, 7), 100, np.uint8)))
    assert g.shape == (5, 7, 3) and g.dtype == np.uint8 and (g == 100).all()
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0
    out = load_image(Image.fromarray(rgba, "RGBA"))
    assert out[1, 1].tolist() == [200, 200, 200] and out[0, 0].tolist() == [0, 0, 0]
    sixteen = (np.arange(12).reshape(3, 4) * 4000).astype(np.uint16)
    img16 = load_image(_png_bytes(Image.fromarray(sixteen)))
    assert img16.dtype == np.uint8 and img16.min() == 0 and img16.max() == 255
    pal = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    assert load_image(pal)[0, 1].tolist() == [255, 0, 0]
    floats = load_image(np.random.rand(3, 3).astype(np.float32))
    assert floats.dtype == np.uint8


def test_exif_rotation_applied():
    arr = np.zeros((10, 20, 3), np.uint8)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° on display
    data = _png_bytes(img, "JPEG", exif=exif.tobytes())
    assert load_image(data).shape == (20, 10, 3)


def test_corrupt_and_missing_files_have_clear_errors(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not an image")
    with pytest.raises(ImageDecodeError, match="bad.png"):
        load_image(bad)
    with pytest.raises(ImageDecodeError, match="not found"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageDecodeError):
        load_image(np.zeros((2, 2, 7), np.uint8))


def test_mask_binarisation_rules():
    jpeg_noise = np.array([[0, 8, 247, 255]], np.uint8)
    assert binarize_mask(jpeg_noise).tolist() == [[False, False, True, True]]
    assert binarize_mask(np.array([[0, 1]], np.uint8)).tolist() == [[False, True]]
    rgb = np.zeros((1, 2, 3), np.uint8)
    rgb[0, 1] = [255, 0, 0]
    assert binarize_mask(rgb).tolist() == [[False, True]]
    pal = Image.fromarray(np.array([[0, 2]], np.uint8), "P")
    pal.putpalette([255, 255, 255, 0, 0, 0, 9, 9, 9] + [0] * 759)  # index 0 drawn white
    assert load_mask(pal).tolist() == [[False, True]]


def test_content_hash_and_downscale():
    a = np.zeros((4, 4, 3), np.uint8)
    assert content_hash(a) == content_hash(a.copy())
    assert content_hash(a) != content_hash(a.reshape(2, 8, 3))
    big = np.zeros((4000, 1000, 3), np.uint8)
    small, scale = downscale_if_huge(big, 2048)
    assert small.shape[:2] == (2048, 512) and scale == pytest.approx(0.512)
