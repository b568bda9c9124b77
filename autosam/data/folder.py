"""Local folders: ``images/`` + ``masks/`` paired by file stem, and the SUN-SEG video layout.

Image layout (``/work/shared/data/<set>/<split>``)::

    root/images/<name>.<jpg|png|webp|...>   root/masks/<name>.png   root/list.txt (optional order)

Mask stems may carry a suffix (GlaS ``train_1_anno.bmp``, ``x_mask.png``). Video layout::

    root/Frame/<case>/<frame>.jpg   root/GT/<case>/<frame>.png
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from ..image_io import load_image, load_mask
from .base import DataSourceError, Sample, SegmentationDataset, format_examples, hash_files

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int, str], ...]:
    """'img10' after 'img9': digit runs compare as numbers."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in _DIGITS.split(name) if t)


def _frame_order(case: str, stems: list[str]) -> list[str]:
    """Frames in the video metrics' order (VPS protocol), which sorts the GT names ``<stem>.png``."""
    from ..metrics.video import sort_frames  # one definition of SUN-SEG order for data and metrics

    by_png = {f"{s}.png": s for s in stems}
    return [by_png[n] for n in sort_frames(case, list(by_png))]


IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
IMAGE_DIRS = ("images", "image", "imgs", "img", "Images", "Image")
MASK_DIRS = ("masks", "mask", "gt", "GT", "labels", "annotations", "Masks", "ground_truth")
MASK_SUFFIXES = ("_anno", "_mask", "_gt", "_label", "_seg", "_segmentation")


def _image_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
            and p.suffix.lower() in IMAGE_EXTS]


def _index_by_stem(files: Sequence[Path], what: str, strip_suffixes: bool) -> dict[str, Path]:
    """stem -> file; two files with one stem (a.png + a.jpg) is an error, not a silent pick.

    With ``strip_suffixes`` a mask ``x_anno.bmp`` also answers to ``x`` unless a mask ``x.*`` exists.
    """
    exact: dict[str, Path] = {}
    for p in sorted(files):
        if p.stem in exact:
            raise DataSourceError(f"Two {what} files share the name {p.stem!r}: {exact[p.stem].name}, {p.name}.")
        exact[p.stem] = p
    alias: dict[str, Path] = {}
    if strip_suffixes:
        for stem, p in exact.items():
            for s in MASK_SUFFIXES:
                if stem.lower().endswith(s) and stem[: -len(s)] not in exact:
                    alias.setdefault(stem[: -len(s)], p)
    return {**alias, **exact}


def _find_dir(root: Path, names: Sequence[str]) -> Path | None:
    for n in names:
        if (root / n).is_dir():
            return root / n
    return None


def _read_list(path: Path) -> list[str]:
    names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    return [n for n in names if n and not n.startswith("#")]


def _pair(images: dict[str, Path], masks: dict[str, Path] | None, require_masks: bool,
          where: str) -> list[tuple[str, Path, Path | None]]:
    pairs = [(stem, p, masks.get(stem) if masks is not None else None) for stem, p in images.items()]
    missing = [p.name for _, p, m in pairs if m is None]
    if require_masks and missing:
        raise DataSourceError(
            f"{len(missing)} of {len(pairs)} images in {where} have no mask with the same name: "
            f"{format_examples(missing)}. Add the masks, or open the folder with require_masks=False."
        )
    return pairs


class FolderDataset(SegmentationDataset):
    """``images/`` and ``masks/`` under ``root``, paired by stem; order from ``list.txt`` if present."""

    def __init__(self, root: str | os.PathLike, require_masks: bool = True, skip_bad: bool = False,
                 image_dir: str | None = None, mask_dir: str | None = None):
        self.root = Path(root).expanduser()
        super().__init__(skip_bad=skip_bad, source=str(self.root))
        if not self.root.is_dir():
            raise DataSourceError(f"Data folder not found: {self.root}")
        img_dir = self.root / image_dir if image_dir else _find_dir(self.root, IMAGE_DIRS)
        if img_dir is None or not img_dir.is_dir():
            raise DataSourceError(
                f"{self.root} has no image folder (looked for {', '.join(IMAGE_DIRS)}; or Frame/ + GT/ "
                "for SUN-SEG video)."
            )
        msk_dir = self.root / mask_dir if mask_dir else _find_dir(self.root, MASK_DIRS)
        if msk_dir is not None and not msk_dir.is_dir():
            msk_dir = None
        if msk_dir is None and require_masks:
            raise DataSourceError(f"{self.root} has no mask folder (looked for {', '.join(MASK_DIRS)}).")
        images = _index_by_stem(_image_files(img_dir), "image", strip_suffixes=False)
        if not images:
            raise DataSourceError(f"No image files in {img_dir} (extensions {sorted(IMAGE_EXTS)}).")
        masks = _index_by_stem(_image_files(msk_dir), "mask", strip_suffixes=True) if msk_dir else None
        list_file = self.root / "list.txt"
        if list_file.is_file():
            names = [Path(n).stem if Path(n).suffix.lower() in IMAGE_EXTS else n for n in _read_list(list_file)]
            unknown = [n for n in names if n not in images]
            if unknown:
                raise DataSourceError(f"{list_file} names {len(unknown)} samples with no image: {format_examples(unknown)}")
            images = {n: images[n] for n in names}
        else:
            images = dict(sorted(images.items(), key=lambda kv: natural_key(kv[0])))
        self.image_dir, self.mask_dir = img_dir, msk_dir
        self._pairs = _pair(images, masks, require_masks, str(self.root))

    def __len__(self) -> int:
        return len(self._pairs)

    def sample_id(self, index: int) -> str:
        return self._pairs[index][0]

    def image_path(self, index: int) -> Path:
        return self._pairs[index][1]

    def mask_path(self, index: int) -> Path | None:
        return self._pairs[index][2]

    def where(self, index: int) -> str:
        _, img, msk = self._pairs[index]
        return f"{img}" + (f" + {msk.name}" if msk else "")

    def _read(self, index: int) -> Sample:
        _, img, msk = self._pairs[index]
        return {"image": load_image(img), "mask": load_mask(msk) if msk else None}

    def _files(self) -> list[tuple[str, Path]]:
        out = []
        for _, img, msk in self._pairs:
            out.append((str(img.relative_to(self.root)), img))
            if msk is not None:
                out.append((str(msk.relative_to(self.root)), msk))
        return out

    def _fingerprint(self, mode: str) -> str:
        return f"folder-{mode}-sha256:" + hash_files(self._files(), mode)


class VideoFolderDataset(FolderDataset):
    """SUN-SEG layout: ``Frame/<case>/*`` with ``GT/<case>/*``; frames in SUN-SEG order.

    Sample ids are ``<case>/<frame stem>``; samples carry ``case`` and ``frame`` (the stem).
    """

    task = "video"

    def __init__(self, root: str | os.PathLike, require_masks: bool = True, skip_bad: bool = False,
                 frame_dir: str = "Frame", gt_dir: str = "GT"):
        self.root = Path(root).expanduser()
        SegmentationDataset.__init__(self, skip_bad=skip_bad, source=str(self.root))
        fdir, gdir = self.root / frame_dir, self.root / gt_dir
        if not fdir.is_dir():
            raise DataSourceError(f"{self.root} is not a SUN-SEG video folder: no {frame_dir}/ directory.")
        if not gdir.is_dir() and require_masks:
            raise DataSourceError(f"{self.root} has {frame_dir}/ but no {gt_dir}/ directory of masks.")
        self.image_dir, self.mask_dir = fdir, gdir if gdir.is_dir() else None
        cases = sorted((d for d in fdir.iterdir() if d.is_dir() and not d.name.startswith(".")),
                       key=lambda d: natural_key(d.name))
        if not cases:
            raise DataSourceError(f"{fdir} has no case folders (expected {frame_dir}/<case>/<frame>.jpg).")
        self._pairs, self._cases = [], []
        missing: list[str] = []
        for case in cases:
            frames = _index_by_stem(_image_files(case), "frame", strip_suffixes=False)
            gdir_case = gdir / case.name
            gts = _index_by_stem(_image_files(gdir_case), "mask", strip_suffixes=True) if gdir_case.is_dir() else {}
            for stem in _frame_order(case.name, list(frames)):
                gt = gts.get(stem)
                if gt is None:
                    missing.append(f"{case.name}/{frames[stem].name}")
                self._pairs.append((f"{case.name}/{stem}", frames[stem], gt))
                self._cases.append((case.name, stem))
        if require_masks and missing:
            raise DataSourceError(
                f"{len(missing)} of {len(self._pairs)} frames in {self.root} have no mask in {gt_dir}/: "
                f"{format_examples(missing)}."
            )

    def cases(self) -> dict[str, list[int]]:
        """case name -> sample indices in frame order (what the video metrics group by)."""
        out: dict[str, list[int]] = {}
        for i, (case, _) in enumerate(self._cases):
            out.setdefault(case, []).append(i)
        return out

    def _read(self, index: int) -> Sample:
        sample = super()._read(index)
        sample["case"], sample["frame"] = self._cases[index]
        return sample


def is_video_folder(root: str | os.PathLike) -> bool:
    r = Path(root)
    return (r / "Frame").is_dir() and _find_dir(r, IMAGE_DIRS) is None


def open_folder(root: str | os.PathLike, require_masks: bool = True, skip_bad: bool = False) -> FolderDataset:
    """Open a folder in the image or the SUN-SEG video layout (detected)."""
    if is_video_folder(root):
        return VideoFolderDataset(root, require_masks=require_masks, skip_bad=skip_bad)
    return FolderDataset(root, require_masks=require_masks, skip_bad=skip_bad)
