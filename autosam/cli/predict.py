"""`autosam predict`: masks for an image or a folder of images.

    autosam predict --checkpoint runs/polyp/best.safetensors INPUT OUTDIR [--mode autosam|h] [--overlay]

Writes ``OUTDIR/<stem>.png`` (0/255, the input's size) and, with ``--overlay``,
``OUTDIR/overlay/<stem>.png``. Unreadable files are reported by name and skipped.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .evaluate import add_model_args, load_predictor, resolve_checkpoint


def list_inputs(path: str | Path) -> list[Path]:
    from autosam.data.folder import IMAGE_EXTS, natural_key

    p = Path(path).expanduser()
    if p.is_dir():
        files = [f for f in p.iterdir() if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in IMAGE_EXTS]
        if not files:
            raise FileNotFoundError(f"No images ({', '.join(sorted(IMAGE_EXTS))}) in {p}.")
        return sorted(files, key=lambda f: natural_key(f.name))
    if p.is_file():
        return [p]
    raise FileNotFoundError(f"Input not found: {p}")


def overlay(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = (0, 255, 0),
            alpha: float = 0.4) -> np.ndarray:
    """The image with the mask tinted and its outline drawn (green: visible on red endoscopy images)."""
    import cv2

    out = image.astype(np.float32)
    out[mask] = out[mask] * (1 - alpha) + np.array(color, np.float32) * alpha
    out = np.clip(out, 0, 255).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, color, max(1, round(max(mask.shape) / 300)))
    return out


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("predict", help="predict masks for an image or a folder",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="an image file or a folder of images")
    p.add_argument("outdir", help="output folder for <stem>.png masks")
    add_model_args(p)
    p.add_argument("--mode", choices=("autosam", "h"), default="autosam")
    p.add_argument("--overlay", action="store_true", help="also write overlay/<stem>.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from PIL import Image
    from tqdm import tqdm

    from autosam.image_io import load_image

    files = list_inputs(args.input)
    pred = load_predictor(resolve_checkpoint(args.checkpoint, required=True), args.backend,
                          args.backend_checkpoint, args.device, args.threshold)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    if args.overlay:
        (out / "overlay").mkdir(exist_ok=True)
    failed: list[tuple[str, str]] = []
    seen: set[str] = set()
    written = 0
    bar = tqdm(total=len(files), desc="predict", unit="img", disable=not args.progress)
    bs = max(1, args.batch_size)
    for start in range(0, len(files), bs):
        batch: list[tuple[Path, np.ndarray]] = []
        for f in files[start: start + bs]:
            if f.stem in seen:
                failed.append((f.name, f"another input already wrote {f.stem}.png"))
                continue
            try:
                batch.append((f, load_image(f)))
                seen.add(f.stem)
            except Exception as exc:  # noqa: BLE001 - report the file, keep going
                failed.append((f.name, str(exc)))
        if batch:
            preds = pred.predict_batch([im for _, im in batch], args.mode)
            for (f, im), p in zip(batch, preds):
                Image.fromarray(p.mask.astype(np.uint8) * 255).save(out / f"{f.stem}.png")
                if args.overlay:
                    Image.fromarray(overlay(im, p.mask)).save(out / "overlay" / f"{f.stem}.png")
                written += 1
        bar.update(len(files[start: start + bs]))
    bar.close()
    for name, reason in failed:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    print(f"wrote {written} mask(s) to {out}" + (f"; {len(failed)} file(s) skipped" if failed else ""))
    return 0 if written else 1
