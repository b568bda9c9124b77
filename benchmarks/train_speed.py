"""Seconds per training epoch with and without the exact embedding cache (LiteMedSAM, real data).

Without the cache the frozen encoder runs for every image in every epoch (what the official code
does). With it, epoch 1 encodes each image once into a fresh cache folder and every later epoch
only reads it back, so epochs 2+ cost g + SAM's decoder only. Validation (Dice at the original
resolution, every epoch) goes through the same cache.

    python benchmarks/train_speed.py [--data ../shared/data/kvasir/train] [--n 16] [--val 4]
                                     [--epochs 3] [--backbone sam_embed] [--batch-size 4]

Prints a markdown table (command, hardware, date).
"""
from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autosam.training.config import TrainConfig  # noqa: E402
from autosam.training.trainer import train  # noqa: E402
from leaderboard.harness_env import hardware, now_iso  # noqa: E402


def run(args: argparse.Namespace, use_cache: bool, out: Path, cache_dir: str | None) -> list[dict]:
    cfg = TrainConfig(train_data=[args.data], val_fraction=args.val_fraction, max_train_samples=args.n,
                      max_val_samples=args.val, backend=args.backend, backbone=args.backbone,
                      input_size=args.input_size, epochs=args.epochs, batch_size=args.batch_size,
                      use_cache=use_cache, cache_dir=cache_dir, out_dir=str(out), device=args.device,
                      progress=False, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(cfg).rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "kvasir" / "train"))
    p.add_argument("--n", type=int, default=16, help="training images")
    p.add_argument("--val", type=int, default=4, help="validation images (from a seeded split of --data)")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--backend", default="lite_medsam")
    p.add_argument("--backbone", default="sam_embed", help="g backbone (sam_embed: the light CPU g)")
    p.add_argument("--input-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--device", default="cpu")
    p.add_argument("--prefilled-cache", default=None,
                   help="also time a run on this already-filled cache (e.g. /work/cache/embeddings)")
    args = p.parse_args()
    logging.getLogger("autosam").setLevel(logging.WARNING)
    results = {}
    with tempfile.TemporaryDirectory(prefix="autosam-train-speed-") as tmp:
        work = Path(tmp)
        results["no cache (encoder every step)"] = run(args, False, work / "nocache", None)
        results["cache, fresh (epoch 1 fills it)"] = run(args, True, work / "fresh", str(work / "embed_cache"))
        if args.prefilled_cache:
            results["cache, prefilled"] = run(args, True, work / "prefilled", args.prefilled_cache)
    hw = hardware(args.device)
    print("## Training speed: seconds per epoch with vs without the embedding cache\n")
    print(f"- command: `python {shlex.join(sys.argv)}`")
    print(f"- hardware: {hw.get('gpu') or hw.get('cpu')}, {hw.get('threads', '')} torch threads, "
          f"torch {hw['torch']}, {hw['dtype']}")
    print(f"- date: {now_iso()}")
    print(f"- data: {args.n} training + {args.val} validation images of {args.data}; back-end {args.backend}; "
          f"g {args.backbone} (input {args.input_size}); batch {args.batch_size}\n")
    print("| run | epoch | train s | val s | epoch s | s/train image | cache hits | cache misses | train loss | val Dice |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, rows in results.items():
        for r in rows:
            print(f"| {label} | {r['epoch']} | {r['train_seconds']:.1f} | {r['val_seconds']:.1f} | {r['seconds']:.1f} | "
                  f"{r['train_seconds'] / args.n:.2f} | {r['cache_hits']} | {r['cache_misses']} | "
                  f"{r['train_loss']:.4f} | {r['val_dice']:.4f} |")
    base = results["no cache (encoder every step)"]
    fresh = results["cache, fresh (epoch 1 fills it)"]
    later = lambda rows: sum(r["seconds"] for r in rows[1:]) / max(len(rows) - 1, 1)  # noqa: E731
    if len(base) > 1:
        print(f"\nEpochs 2+: {later(base):.1f} s without the cache vs {later(fresh):.1f} s with it "
              f"({later(base) / later(fresh):.1f}× faster); epoch 1 (fills the cache): {fresh[0]['seconds']:.1f} s "
              f"vs {base[0]['seconds']:.1f} s.")
    rel = max(abs(a["train_loss"] - b["train_loss"]) / abs(a["train_loss"]) for a, b in zip(base, fresh))
    print(f"Largest relative difference of the epoch losses with vs without the fp16 cache: {100 * rel:.2f}% "
          "(float32 cache: identical, see tests/test_train.py).")


if __name__ == "__main__":
    main()
