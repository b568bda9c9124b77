"""`torchrun --nproc_per_node 2` on CPU (gloo): the same global batches as one process, same losses."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import synthetic_pair

REPO = Path(__file__).resolve().parents[1]


def write_folder(root: Path, n: int) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        img, m = synthetic_pair(40, 56, seed=i)
        Image.fromarray(img).save(root / "images" / f"s{i}.png")
        Image.fromarray(m.astype(np.uint8) * 255).save(root / "masks" / f"s{i}.png")
    return root


def test_gloo_sync_batchnorm_single_process_equals_batchnorm():
    from autosam.training.distributed import GlooSyncBatchNorm

    bn, sbn = torch.nn.BatchNorm2d(3), GlooSyncBatchNorm(3)
    x = torch.randn(4, 3, 5, 5)
    torch.testing.assert_close(sbn(x), bn(x))  # no process group: plain BatchNorm


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not installed")
def test_torchrun_two_processes_match_one(tmp_path):
    from autosam.checkpoint import load_checkpoint
    from autosam.training.config import TrainConfig
    from autosam.training.trainer import train

    # 5 images: 4 train (one global batch of 4 = 2 per process) + 1 validation image.
    data = write_folder(tmp_path / "data", 5)
    cache = tmp_path / "cache"
    common = dict(backend="sam_tiny", backbone="sam_embed", hidden_dim=8, epochs=2, batch_size=4, lr=3e-3,
                  val_fraction=0.2, seed=0)
    # One process first (it also fills the embedding cache both runs read).
    one = train(TrainConfig(train_data=[str(data)], cache_dir=str(cache), out_dir=str(tmp_path / "one"),
                            progress=False, **common))
    args = ["--data", str(data), "--cache-dir", str(cache), "--out-dir", str(tmp_path / "two"), "--no-progress"]
    for k, v in common.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    cmd = [shutil.which("torchrun"), "--standalone", "--nproc_per_node", "2", "-m", "autosam", "train"] + args
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(tmp_path / "two" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and rows[1]["cache_misses"] == "0"
    # Same global batch -> same loss: epoch 1 is the initial g's forward pass (BatchNorm statistics
    # over the global batch via GlooSyncBatchNorm), epoch 2 follows one identical Adam step.
    two = [float(r["train_loss"]) for r in rows]
    print("losses 1 process", [r["train_loss"] for r in one.rows], "2 processes", two)
    assert two[0] == pytest.approx(one.rows[0]["train_loss"], rel=1e-5)
    assert two[1] == pytest.approx(one.rows[1]["train_loss"], rel=1e-3)
    # Validation is sharded over the processes and all-reduced: the same single image is scored.
    assert float(rows[0]["val_dice"]) == pytest.approx(one.rows[0]["val_dice"], abs=0.02)
    tm = load_checkpoint(tmp_path / "two" / "best.safetensors")  # written by rank 0 only
    assert tm.config.metadata["train_config"]["batch_size"] == 4 and tm.config.metadata["data"]["n_train"] == 4
    assert json.loads((tmp_path / "two" / "train_state.json").read_text())["world_size"] == 2
