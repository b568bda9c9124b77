"""Latency of the Gradio app's Segment tab on this machine (default: lite_medsam on CPU).

Two numbers matter for the user:

* **first image** — a new upload: decode, embed (SAM's image encoder), every panel, overlays,
  PNG masks (what the upload handler does). Target < 4 s.
* **new click** — one more point or the second box corner: SAM's prompt encoder + decoder only
  (the embedding is cached), the panel overlay, the canvas and the PNG masks. Target < 0.3 s.

Without ``--checkpoint`` the AutoSAM panels use a randomly initialised light g (``sam_embed``)
and h, so their cost is measured (their masks are meaningless). ``--http`` also times the named
endpoints end-to-end through a launched app and gradio_client.

    python benchmarks/app_latency.py [--backend lite_medsam] [--checkpoint M.safetensors] [--repeat 5] [--http]
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from app.config import default_threads  # noqa: E402
from app.examples import make_polyp  # noqa: E402
from app.segment_logic import BOX_MODE, CANVAS_SIDE, POINT_MODE, SegmentLogic, new_session  # noqa: E402
from app.state import Engine  # noqa: E402
from autosam.backends import create_backend  # noqa: E402

TARGET_FIRST_S, TARGET_CLICK_S = 4.0, 0.3


def random_model(backend):
    from autosam.checkpoint import TrainedModel
    from autosam.config import GConfig, ModelConfig
    from autosam.models import SurrogateDecoder, build_g

    torch.manual_seed(0)
    cfg = ModelConfig(backend=backend.name, backend_sha256=backend.weights_sha256,
                      g=GConfig(backbone="sam_embed"), has_h=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TrainedModel(cfg, build_g(cfg.g).eval(), SurrogateDecoder().eval())


def stats(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


_SALT = itertools.count(1)


def image_files(tmp: Path, side: int, repeat: int) -> list[Path]:
    """``repeat + 1`` images never seen before in this process (a corner pixel encodes a counter),
    so the embedding cache always misses."""
    img, _ = make_polyp(1, h=round(side * 0.857), w=side)
    out = []
    for _ in range(repeat + 1):
        n = next(_SALT)
        im = img.copy()
        im[0, 0] = (n % 256, n // 256 % 256, 7)
        p = tmp / f"img_{side}_{n}.png"
        Image.fromarray(im).save(p)
        out.append(p)
    return out


def bench_inprocess(engine: Engine, sides: list[int], repeat: int, clicks: int) -> list[tuple]:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        logic = SegmentLogic(engine, tmp / "cache")
        for side in sides:
            files = image_files(tmp, side, repeat)
            s = new_session(tmp / "cache")
            logic.load(s, str(files[0]))  # warm-up (first call of every layer)
            first, model_only, embed = [], [], []
            for f in files[1:]:
                t0 = time.perf_counter()
                logic.load(s, str(f))
                model_only.append(s.last_s)
                embed.append(s.embed_s)
                logic.canvas_file(s)
                for key in s.results:
                    logic.panel_file(s, key)
                logic.mask_files(s)
                first.append(time.perf_counter() - t0)
            h, w = s.image.shape[:2]
            k = CANVAS_SIDE / max(h, w)
            box_t, box_model, pt_t, pt_model = [], [], [], []
            rng = np.random.default_rng(0)
            for _ in range(clicks):
                x0, y0 = rng.uniform(0.1, 0.4) * w, rng.uniform(0.1, 0.4) * h
                x1, y1 = rng.uniform(0.6, 0.9) * w, rng.uniform(0.6, 0.9) * h
                logic.click(s, (x0 * k, y0 * k), BOX_MODE, False)
                t0 = time.perf_counter()
                changed = logic.click(s, (x1 * k, y1 * k), BOX_MODE, False)
                _render(logic, s, changed)
                box_t.append(time.perf_counter() - t0)
                box_model.append(s.last_s)
                t0 = time.perf_counter()
                xy = (rng.uniform(0.3, 0.7) * w * k, rng.uniform(0.3, 0.7) * h * k)
                changed = logic.click(s, xy, POINT_MODE, False)
                _render(logic, s, changed)
                pt_t.append(time.perf_counter() - t0)
                pt_model.append(s.last_s)
            size = f"{w}×{h}"
            rows += [
                ("first image: all panels, handler", size, *stats(first), TARGET_FIRST_S),
                ("  of which image embedding", size, *stats(embed), None),
                ("  model work (embedding + all panels)", size, *stats(model_only), None),
                ("new click: box (2nd corner), handler", size, *stats(box_t), TARGET_CLICK_S),
                ("  of which SAM prompt enc. + decoder", size, *stats(box_model), None),
                ("new click: point, handler", size, *stats(pt_t), TARGET_CLICK_S),
                ("  of which SAM prompt enc. + decoder", size, *stats(pt_model), None),
            ]
    return rows


def _render(logic: SegmentLogic, s, changed: list[str]) -> None:
    logic.canvas_file(s)
    for key in changed:
        logic.panel_file(s, key)
    logic.mask_files(s)


def bench_http(engine: Engine, side: int, repeat: int) -> list[tuple]:
    from gradio_client import Client, handle_file

    from app import AppConfig, build_app, launch

    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cfg = AppConfig(cache_dir=str(tmp / "cache"), db_path=str(tmp / "lb.sqlite"), hub_examples=False,
                        refresh_s=0, submissions_dir=str(tmp / "subs"))
        demo, _ = build_app(cfg, engine=engine)
        _, url, _ = launch(demo, cfg, prevent_thread_lock=True, quiet=True, server_port=None)
        try:
            client = Client(url, verbose=False)
            files = image_files(tmp, side, repeat)
            box = f"[{side * 0.2:.0f}, {side * 0.15:.0f}, {side * 0.7:.0f}, {side * 0.6:.0f}]"
            client.predict(handle_file(str(files[0])), "[[100, 100]]", box, None, api_name="/segment_all")
            first, again = [], []
            for f in files[1:]:
                t0 = time.perf_counter()
                client.predict(handle_file(str(f)), "[[100, 100]]", box, None, api_name="/segment_all")
                first.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                client.predict(handle_file(str(f)), "sam_box", "", box, None, api_name="/segment")
                again.append(time.perf_counter() - t0)
            h = round(side * 0.857)
            rows += [("HTTP /segment_all, new image (upload incl.)", f"{side}×{h}", *stats(first), TARGET_FIRST_S),
                     ("HTTP /segment sam_box, cached image (upload incl.)", f"{side}×{h}", *stats(again), None)]
        finally:
            demo.close()
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="lite_medsam")
    p.add_argument("--checkpoint", help="a trained model; default: random light g + h (timing only)")
    p.add_argument("--no-model", action="store_true", help="no g/h: AutoSAM panels are skipped")
    p.add_argument("--device", default="cpu")
    p.add_argument("--sides", type=int, nargs="+", default=[448, 1024], help="image widths to test")
    p.add_argument("--repeat", type=int, default=5, help="new images per size")
    p.add_argument("--clicks", type=int, default=10, help="clicks per size")
    p.add_argument("--http", action="store_true", help="also time the named endpoints through HTTP")
    p.add_argument("--threads", type=int, nargs="+", default=[default_threads()],
                   help="PyTorch CPU thread counts to compare (default: the app's default, half the cores)")
    a = p.parse_args(argv)

    load_before = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    t0 = time.perf_counter()
    backend = create_backend(a.backend, device=a.device)
    load_s = time.perf_counter() - t0
    if a.checkpoint:
        from autosam.checkpoint import load_checkpoint
        model, what = load_checkpoint(a.checkpoint, backend.weights_sha256, backend.device), Path(a.checkpoint).name
    elif a.no_model:
        model, what = None, "no model (SAM prompt panels only)"
    else:
        model, what = random_model(backend), "random sam_embed g + h (timing only)"
    engine = Engine(backend, model)
    rows = []
    for i, n in enumerate(a.threads):
        torch.set_num_threads(n)
        part = bench_inprocess(engine, a.sides, a.repeat, a.clicks)
        if a.http and i == 0:  # Gradio's worker threads keep the thread setting they were created with
            part += bench_http(engine, a.sides[0], a.repeat)
        rows += [(n, *r) for r in part]

    print(f"\n### App latency — back-end `{backend.name}` on {backend.device} ({os.cpu_count()} cores), "
          f"model: {what}; back-end load {load_s:.1f} s; load average before: {load_before}\n")
    print("| threads | case | image | median (s) | p90 (s) | target (s) | ok |")
    print("|---:|---|---|---:|---:|---:|:-:|")
    for n, name, size, med, p90, target in rows:
        ok = "" if target is None else ("yes" if med < target else "**no**")
        print(f"| {n} | {name} | {size} | {med:.3f} | {p90:.3f} | {'' if target is None else f'< {target:g}'} | {ok} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
