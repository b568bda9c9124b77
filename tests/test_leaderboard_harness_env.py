"""Shared builders for the harness and worker tests (no tests here).

A temporary benchmark registry (``AUTOSAM_BENCHMARKS_DIR``) with:
- ``tiny_img``: 4 synthetic 48x64 images in a ``save_to_disk`` HF data set (``disk:`` spec),
- ``tiny_one``: the first of those images alone (quick jobs for worker subprocesses),
- ``tiny_vid``: SUN-SEG layout, 2 cases x 4 frames (``Frame/<case>/*.jpg`` + ``GT/<case>/*.png``),
- ``tiny_missing``: a benchmark whose only source does not exist,
and a tiny AutoSAM checkpoint (random g + h) for the ``sam_tiny`` back-end.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import make_tiny_model, synthetic_pair

REPO = Path(__file__).resolve().parents[1]
N_IMAGES = 4  # the last one has an empty mask


@dataclass
class BenchEnv:
    root: Path
    bench_dir: Path
    checkpoint: Path
    image_disk: Path
    video_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for subprocesses: offline, this registry, the repo importable, 1 thread."""
        env = dict(os.environ)
        env.update(AUTOSAM_BENCHMARKS_DIR=str(self.bench_dir), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                   AUTOSAM_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                   PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
        env.update(extra)
        return env


def _benchmark(name: str, task: str, source: str) -> dict:
    return {"name": name, "task": task, "input_size": 64, "augmentation": "none",
            "splits": {"test": {"sources": [source]}}}


def build_env(root: Path) -> BenchEnv:
    import datasets

    root.mkdir(parents=True, exist_ok=True)
    pairs = [synthetic_pair(48, 64, seed=i) for i in range(N_IMAGES)]
    masks = [m.copy() for _, m in pairs]
    masks[-1][:] = False  # one empty GT: exercises the both-empty / no-prompt rules
    feats = datasets.Features({"id": datasets.Value("string"), "image": datasets.Image(), "mask": datasets.Image()})
    ds = datasets.Dataset.from_dict(
        {"id": [f"img{i:02d}" for i in range(N_IMAGES)], "image": [Image.fromarray(im) for im, _ in pairs],
         "mask": [Image.fromarray(m.astype(np.uint8) * 255) for m in masks]}, features=feats)
    image_disk = root / "tiny_img_disk"
    ds.save_to_disk(str(image_disk))
    ds.select([0]).flatten_indices().save_to_disk(str(root / "tiny_one_disk"))  # fast jobs for subprocesses

    video = root / "tiny_vid"
    for c in (1, 2):
        for f in range(1, 5):
            img, m = synthetic_pair(40, 56, seed=10 * c + f)
            for sub, arr, ext in (("Frame", img, "jpg"), ("GT", m.astype(np.uint8) * 255, "png")):
                p = video / sub / f"case{c}" / f"case{c}_frame_{f:04d}.{ext}"
                p.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(arr).save(p)

    bench = root / "benchmarks"
    bench.mkdir(exist_ok=True)
    (bench / "tiny.json").write_text(json.dumps([
        _benchmark("tiny_img", "image", f"disk:{image_disk}"),
        _benchmark("tiny_one", "image", f"disk:{root / 'tiny_one_disk'}"),
        _benchmark("tiny_vid", "video", str(video)),
        _benchmark("tiny_missing", "image", str(root / "does_not_exist")),
    ]))

    from autosam.backends import create_backend
    from autosam.checkpoint import save_checkpoint

    model = make_tiny_model(create_backend("sam_tiny"))
    ckpt = save_checkpoint(root / "ckpt" / "tiny.safetensors", model.config, model.g, model.h)
    return BenchEnv(root, bench, ckpt, image_disk, video)


def run_eval_json(args: list[str], out: Path) -> dict:
    """``leaderboard.evaluate.main`` in this process; returns its JSON summary."""
    from leaderboard import evaluate as lb_eval

    assert lb_eval.main([*args, "--json", str(out)]) == 0
    return json.loads(out.read_text())
