"""torchrun: a 2-process (CPU, gloo) run of the harness equals the 1-process run exactly."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_leaderboard_harness_env import REPO, build_env, run_eval_json

ARGS = ["--benchmarks", "tiny_img", "tiny_vid", "--methods", "autosam", "--batch-size", "2",
        "--no-progress"]


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not installed")
def test_torchrun_two_processes_equal_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = build_env(tmp_path / "env")
    monkeypatch.setenv("AUTOSAM_BENCHMARKS_DIR", str(env.bench_dir))
    args = ["--checkpoint", str(env.checkpoint), *ARGS]
    one = run_eval_json(args, tmp_path / "one.json")["benchmarks"]

    out = tmp_path / "two.json"
    cmd = ["torchrun", "--standalone", "--nproc_per_node", "2", "-m", "leaderboard.evaluate", *args,
           "--json", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, env=env.env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    two = json.loads(out.read_text())["benchmarks"]
    for bench in ("tiny_img", "tiny_vid"):
        for method in ("autosam",):
            a, b = two[bench]["methods"][method], one[bench]["methods"][method]
            assert (a["protocol"]["world_size"], b["protocol"]["world_size"]) == (2, 1)
            for key in ("metrics", "ci", "per_image", "n"):
                assert a[key] == b[key], (bench, method, key)  # exactly, not approximately
