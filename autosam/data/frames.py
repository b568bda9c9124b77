"""Frame order for video data (SUN-SEG): numeric and SUN-SEG-name aware, never plain string order.

Follows the VPS evaluator's protocol (REFERENCE §5): integer names sort as integers; otherwise a
case folder ``case<N>`` / ``case<N>_<M>`` gives (N, M or 0) and a frame name such as
``..._<clip>-1_a<K>_ayy_image<NNNN>.png`` gives (clip, K, NNNN). Anything else falls back to a
natural sort (digit runs compared as numbers). Keys of every kind compare with each other.
"""
from __future__ import annotations

import re
from pathlib import PurePath

_CASE_RE = re.compile(r"case(\d+)(?:_(\d+))?$", re.IGNORECASE)
_DIGITS = re.compile(r"(\d+)")

# Key shape: (rank, ints, natural) — rank 0 parsed names, 1 natural-order fallback.
SortKey = tuple[int, tuple[int, ...], tuple[tuple[int, int, str], ...]]


def natural_key(name: str) -> tuple[tuple[int, int, str], ...]:
    """'img10' after 'img9': digit runs compare as numbers (tagged so mixed parts stay comparable)."""
    parts = []
    for tok in _DIGITS.split(name):
        if not tok:
            continue
        parts.append((0, int(tok), "") if tok.isdigit() else (1, 0, tok.lower()))
    return tuple(parts)


def _stem(name: str) -> str:
    p = PurePath(name)
    return p.stem if p.suffix else p.name


def case_sort_key(case: str) -> SortKey:
    """Sort key of a case (clip) folder name."""
    name = PurePath(case).name
    if name.isdigit():
        return (0, (int(name), 0), ())
    m = _CASE_RE.match(name)
    if m:
        return (0, (int(m.group(1)), int(m.group(2) or 0)), ())
    return (1, (), natural_key(name))


def _parse_sunseg_frame(stem: str) -> tuple[int, ...] | None:
    if "-" not in stem or "_a" not in stem or "_image" not in stem:
        return None
    try:
        clip = int(stem.split("-", 1)[0].split("_")[-1])
        k = int(stem.split("_a", 1)[1].split("_", 1)[0])
        idx = int(_DIGITS.match(stem.rsplit("_image", 1)[1]).group(1))  # type: ignore[union-attr]
    except (ValueError, IndexError, AttributeError):
        return None
    return (clip, k, idx)


def frame_key(frame: str) -> SortKey:
    """Sort key of one frame file name (extension ignored)."""
    stem = _stem(frame)
    if stem.isdigit():
        return (0, (int(stem),), ())
    parsed = _parse_sunseg_frame(stem)
    if parsed is not None:
        return (0, parsed, ())
    return (1, (), natural_key(stem))


def frame_sort_key(case: str, frame: str) -> tuple[SortKey, SortKey]:
    """Key ordering frames of a video data set: by case, then by frame within the case."""
    return (case_sort_key(case), frame_key(frame))
