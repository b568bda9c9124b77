"""Encoder / prompt+decoder / g latency per back-end on this machine (prints a markdown table).

    python benchmarks/backend_latency.py [--backends lite_medsam sam_vit_b] [--repeats 5]

On CUDA it also compares the encoder in fp32 vs bf16 autocast (SDPA is used by PyTorch's
attention where the model calls it; segment-anything's ViT uses explicit matmuls).
"""
from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import torch

from autosam.backends import create_backend
from autosam.config import GConfig
from autosam.models import build_g


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", nargs="+", default=["lite_medsam"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    hw = torch.cuda.get_device_name() if args.device == "cuda" else \
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    print(f"`{' '.join(sys.argv)}` — {hw}, torch {torch.__version__}, {datetime.date.today()}\n")
    print("| back-end | encoder (s/img) | prompt enc + decoder, box (s) | g hardnet85 @256 (s) | g sam_embed (s) |")
    print("|---|---:|---:|---:|---:|")
    img = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g85 = build_g(GConfig(backbone="hardnet85")).eval().to(args.device)
        gse = build_g(GConfig(backbone="sam_embed")).eval().to(args.device)
    for name in args.backends:
        try:
            b = create_backend(name, device=args.device)
        except (FileNotFoundError, RuntimeError) as exc:
            print(f"| {name} | skipped: {str(exc).splitlines()[0][:80]} | | | |")
            continue
        x, sizes = b.preprocess([img])
        enc = _time(lambda: b.encode(x), args.repeats)
        emb = b.encode(x)
        box = torch.tensor([[30.0, 40.0, 200.0, 180.0]])

        def dec():
            with torch.inference_mode():
                sp, de = b.prompt_encode(boxes=box)
                b.decode(emb, sp, de)

        d = _time(dec, args.repeats * 4)
        with torch.inference_mode():
            t85 = _time(lambda: g85(torch.zeros(1, 3, 256, 256, device=args.device)), args.repeats)
            tse = _time(lambda: gse(None, image_embeddings=emb), args.repeats)
        print(f"| {name} | {enc:.3f} | {d:.4f} | {t85:.3f} | {tse:.4f} |")


if __name__ == "__main__":
    main()
