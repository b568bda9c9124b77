"""The paper's augmentations as data: presets of numbers, one deterministic ``make_view``.

``make_view(image, mask, preset, seed)`` draws every random number from
``numpy.random.default_rng(seed)`` (``seed`` may be a tuple such as ``(sample_index, view_id)``),
never from global RNG, so training can precompute K views per image and get the same ones back.
One geometric transform (flips, then rotation + scale + translation about the centre) is applied
to image (bilinear) and mask (nearest); colour jitter touches the image only. Pixels moved in
from outside are 0 in both, as in the official code (torchvision ``RandomAffine`` fill 0).

Presets and where they come from (paper §4 and the official code's ``dataset/tfs.py``):

- ``glas``: ColorJitter(0.2, 0.2, 0.2, 0.1), hflip p 0.5, rotation ±5°, scale 0.75–1.25. The
  paper prints "translation of 5 and scale of (0, 0.2)"; the official code has
  ``RandomAffine(5, scale=(0.75, 1.25))`` where 5 is *degrees*. We follow the code.
- ``glas_paper``: the literal reading of the paper text: translate up to 5% of width/height and
  scale 1 ± 0.2 (``(0, 0.2)`` read as a ±0.2 range around 1; scale 0 is meaningless).
- ``monu``: ColorJitter(0.4, 0.4, 0.4, 0.1), hflip p 0.5, rotation ±20°, scale 0.75–1.25.
- ``polyp``: the official code (the paper gives none): ColorJitter(0.4, 0.4, 0.4, 0.1), vflip and
  hflip p 0.5, rotation ±90°, scale 0.75–1.25.
- ``flips``: h/v flips only (exact, no interpolation); ``none``: identity.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Sequence, Union

import cv2
import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

Seed = Union[int, Sequence[int], np.random.SeedSequence]


@dataclass(frozen=True)
class AugmentPreset:
    """Augmentation parameters; zero / (1, 1) disables a component."""

    name: str
    hflip: float = 0.0  # probability
    vflip: float = 0.0
    degrees: float = 0.0  # rotation uniform in [-degrees, degrees]
    translate: float = 0.0  # shift uniform in [-t, t] × width (and × height)
    scale: tuple[float, float] = (1.0, 1.0)
    brightness: float = 0.0  # ColorJitter factors, torchvision semantics, random order
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0
    note: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AugmentPreset":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"Unknown augmentation keys {sorted(unknown)}; known: {sorted(known)}")
        d = dict(d)
        if "scale" in d:
            d["scale"] = tuple(float(v) for v in d["scale"])
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scale"] = list(self.scale)
        return d

    @property
    def has_geometry(self) -> bool:
        return bool(self.degrees or self.translate or self.scale != (1.0, 1.0))

    @property
    def has_color(self) -> bool:
        return bool(self.brightness or self.contrast or self.saturation or self.hue)


PRESETS: dict[str, AugmentPreset] = {
    p.name: p
    for p in (
        AugmentPreset("none", note="identity"),
        AugmentPreset("flips", hflip=0.5, vflip=0.5, note="exact flips only"),
        AugmentPreset("glas", hflip=0.5, degrees=5.0, scale=(0.75, 1.25), brightness=0.2, contrast=0.2,
                      saturation=0.2, hue=0.1, note="official code: RandomAffine(5, scale=(0.75, 1.25))"),
        AugmentPreset("glas_paper", hflip=0.5, translate=0.05, scale=(0.8, 1.2), brightness=0.2, contrast=0.2,
                      saturation=0.2, hue=0.1, note="paper text read literally: translate 5%, scale 1±0.2"),
        AugmentPreset("monu", hflip=0.5, degrees=20.0, scale=(0.75, 1.25), brightness=0.4, contrast=0.4,
                      saturation=0.4, hue=0.1, note="paper §4 and official code"),
        AugmentPreset("polyp", hflip=0.5, vflip=0.5, degrees=90.0, scale=(0.75, 1.25), brightness=0.4,
                      contrast=0.4, saturation=0.4, hue=0.1, note="official code (paper gives none)"),
    )
}


def get_preset(preset: str | AugmentPreset | dict[str, Any]) -> AugmentPreset:
    if isinstance(preset, AugmentPreset):
        return preset
    if isinstance(preset, dict):
        return AugmentPreset.from_dict(preset)
    if preset not in PRESETS:
        raise ValueError(f"Unknown augmentation preset {preset!r}; known: {', '.join(PRESETS)}")
    return PRESETS[preset]


def _jitter(image: np.ndarray, p: AugmentPreset, draws: np.ndarray, order: np.ndarray) -> np.ndarray:
    """torchvision ColorJitter with factors from our own draws (uniform [0, 1) each)."""
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    ops = []
    if p.brightness:
        ops.append((0, lambda x, f=1 + p.brightness * (2 * draws[0] - 1): TF.adjust_brightness(x, max(f, 0.0))))
    if p.contrast:
        ops.append((1, lambda x, f=1 + p.contrast * (2 * draws[1] - 1): TF.adjust_contrast(x, max(f, 0.0))))
    if p.saturation:
        ops.append((2, lambda x, f=1 + p.saturation * (2 * draws[2] - 1): TF.adjust_saturation(x, max(f, 0.0))))
    if p.hue:
        ops.append((3, lambda x, f=p.hue * (2 * draws[3] - 1): TF.adjust_hue(x, f)))
    rank = {int(k): i for i, k in enumerate(order)}
    for _, op in sorted(ops, key=lambda kv: rank[kv[0]]):
        t = op(t)
    return t.permute(1, 2, 0).contiguous().numpy()


def view_params(shape: tuple[int, int], preset: str | AugmentPreset, seed: Seed) -> dict[str, Any]:
    """The random choices of one view (for logging and tests); same seed -> same dict."""
    p = get_preset(preset)
    rng = np.random.default_rng(seed)
    # Always draw the same numbers in the same order, whatever the preset uses.
    u = rng.random(6)
    color = rng.random(4)
    order = rng.permutation(4)
    h, w = shape
    return {
        "hflip": bool(u[0] < p.hflip),
        "vflip": bool(u[1] < p.vflip),
        "angle": float(p.degrees * (2 * u[2] - 1)),
        "tx": float(p.translate * w * (2 * u[3] - 1)),
        "ty": float(p.translate * h * (2 * u[4] - 1)),
        "scale": float(p.scale[0] + (p.scale[1] - p.scale[0]) * u[5]),
        "color": color,
        "order": order,
    }


def make_view(image: np.ndarray, mask: np.ndarray | None, preset: str | AugmentPreset | dict[str, Any],
              rng_seed: Seed) -> tuple[np.ndarray, np.ndarray | None]:
    """One augmented view of (image uint8 H×W×3, mask bool H×W); deterministic in ``rng_seed``."""
    p = get_preset(preset)
    h, w = image.shape[:2]
    if mask is not None and mask.shape != (h, w):
        raise ValueError(f"mask shape {mask.shape} does not match image shape {(h, w)}")
    v = view_params((h, w), p, rng_seed)
    img = image
    if p.has_color:  # colour first, as torchvision Compose in the official code
        img = _jitter(img, p, v["color"], v["order"])
    msk = None if mask is None else mask.astype(np.uint8)
    if v["vflip"]:
        img, msk = img[::-1], None if msk is None else msk[::-1]
    if v["hflip"]:
        img, msk = img[:, ::-1], None if msk is None else msk[:, ::-1]
    if p.has_geometry:
        # One matrix for both: rotation (counter-clockwise, as torchvision) and scale about the
        # centre, then the shift.
        m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), v["angle"], v["scale"])
        m[0, 2] += v["tx"]
        m[1, 2] += v["ty"]
        img = cv2.warpAffine(np.ascontiguousarray(img), m, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        if msk is not None:
            msk = cv2.warpAffine(np.ascontiguousarray(msk), m, (w, h), flags=cv2.INTER_NEAREST,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    img = np.ascontiguousarray(img, dtype=np.uint8)
    return img, None if msk is None else np.ascontiguousarray(msk).astype(bool)
