"""The Gradio app with the tiny back-end: pure logic, a served app, named endpoints, bad inputs."""
from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import make_tiny_model, synthetic_pair
from PIL import Image

from app import AppConfig, build_app, launch
from app.examples import (
    HUB_SETS,
    fetch_hub_examples,
    hub_examples,
    list_examples,
    start_hub_fetch,
    synthetic_examples,
)
from app.inputs import (
    UserInputError,
    decode_image,
    decode_mask,
    parse_box,
    parse_points,
)
from app.panels import API_MODES, PANELS, Prompts, run_panel
from app.render import overlay, placeholder
from app.segment_logic import (
    BOX_MODE,
    CANVAS_SIDE,
    POINT_MODE,
    SegmentLogic,
    new_session,
)
from app.state import Engine, find_best_checkpoint, load_engine

H, W = 96, 128


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _save(arr: np.ndarray, path: Path, **kw) -> Path:
    Image.fromarray(arr, **kw).save(path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    img, mask = synthetic_pair(H, W)
    f = {
        "image": _save(img, d / "img.png"),
        "mask": _save(mask.astype(np.uint8) * 255, d / "mask.png"),
        "gray": _save(img[:, :, 0], d / "gray.png"),
        "rgba": _save(np.dstack([img, np.full((H, W), 255, np.uint8)]), d / "rgba.png"),
        "small_mask": _save(np.zeros((10, 10), np.uint8), d / "small_mask.png"),
        "huge": _save(np.tile(img, (12, 12, 1)), d / "huge.png"),  # 1152×1536 > max side 512 below
    }
    Image.fromarray(img[:, :, 1].astype(np.uint16) * 257).save(d / "img16.png")
    f["img16"] = d / "img16.png"
    (d / "notes.txt").write_text("this is not an image")
    f["text"] = d / "notes.txt"
    good = f["image"].read_bytes()
    (d / "corrupt.png").write_bytes(good[: len(good) // 3])
    f["corrupt"] = d / "corrupt.png"
    return f


@pytest.fixture(scope="module")
def engine(tiny_backend):
    return Engine(tiny_backend, make_tiny_model(tiny_backend))


@pytest.fixture(scope="module")
def bare_engine(tiny_backend):
    return Engine(tiny_backend, None)


# ---- inputs -------------------------------------------------------------------------------------
def test_decode_image_variants(files):
    for key in ("image", "gray", "rgba", "img16"):
        img, _ = decode_image(str(files[key]), 2048)
        assert img.shape == (H, W, 3) and img.dtype == np.uint8, key
    _, notes = decode_image(str(files["img16"]), 2048)
    assert any("16-bit" in n for n in notes)
    img, notes = decode_image(str(files["huge"]), 512)
    assert max(img.shape[:2]) == 512 and "downscaled" in notes[0]


@pytest.mark.parametrize("key", ["text", "corrupt"])
def test_decode_image_bad_files_are_friendly(files, key):
    with pytest.raises(UserInputError) as e:
        decode_image(str(files[key]), 2048)
    msg = str(e.value)
    assert "could not be read as an image" in msg and "Traceback" not in msg and "/tmp" not in msg


def test_decode_mask_size_rules(files):
    m, _ = decode_mask(str(files["mask"]), (H, W))
    assert m.dtype == bool and m.shape == (H, W) and m.any()
    with pytest.raises(UserInputError, match="same size"):
        decode_mask(str(files["small_mask"]), (H, W))
    # A mask of the original size follows the image when it was downscaled.
    m, notes = decode_mask(str(files["mask"]), (H // 2, W // 2), (H, W))
    assert m.shape == (H // 2, W // 2) and notes


def test_parse_prompts():
    assert parse_points("[[1, 2], [3, 4, 0]]") == ([[1, 2], [3, 4]], [1, 0])
    assert parse_points("[5, 6]") == ([[5, 6]], [1])
    assert parse_points("") == ([], [])
    assert parse_box("[1, 2, 30, 40]") == [1, 2, 30, 40]
    assert parse_box("[[30, 40], [1, 2]]") == [30, 40, 1, 2]
    assert parse_box(None) is None
    for bad in ("[[1, 2, 3, 4]]", "[1, 2", '[["a", 2]]', "[[1, 2, 7]]"):
        with pytest.raises(UserInputError):
            parse_points(bad)
    with pytest.raises(UserInputError):
        parse_box("[1, 2, 3]")


# ---- rendering, examples, checkpoints ----------------------------------------------------------------
def test_overlay_and_placeholder():
    img, mask = synthetic_pair(400, 1000)
    out = overlay(img, mask, (255, 0, 0), max_side=500)
    assert out.shape == (200, 500, 3) and out.dtype == np.uint8
    assert not np.array_equal(out, overlay(img, None, (255, 0, 0), max_side=500))
    assert placeholder(img, "No trained model", 500).shape == (200, 500, 3)


def test_synthetic_examples_are_drawn_once(tmp_path):
    ex = synthetic_examples(tmp_path)
    assert len(ex) >= 4 and {e.caption.split()[1] for e in ex} >= {"polyp", "glands", "nuclei"}
    for e in ex:
        img, m = np.array(Image.open(e.image)), np.array(Image.open(e.mask))
        assert img.ndim == 3 and m.shape == img.shape[:2] and 0 < (m > 0).mean() < 0.5
    mtime = ex[0].image.stat().st_mtime_ns
    assert synthetic_examples(tmp_path)[0].image.stat().st_mtime_ns == mtime  # cached, not redrawn


def test_hub_examples_guarded_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert start_hub_fetch(tmp_path, enabled=True) is None  # offline: never touches the network
    img, mask = synthetic_pair(H, W)
    calls = []

    def fake_load_dataset(repo, split, streaming):
        calls.append((repo, split, streaming))
        if "MoNuSeg" in repo:
            raise ConnectionError("no network")
        return iter([{"image": Image.fromarray(img), "mask": {"bytes": _png(mask)}}] * 5)

    assert fetch_hub_examples(tmp_path, 2, HUB_SETS, fake_load_dataset) == 2
    assert all(s for _, _, s in calls)  # streaming: only the first rows are fetched
    hub = hub_examples(tmp_path)
    assert [e.name for e in hub] == ["kvasir_0", "kvasir_1"] and hub[0].mask is not None
    calls.clear()
    fetch_hub_examples(tmp_path, 2, HUB_SETS[:1], fake_load_dataset)
    assert calls == []  # cached: downloaded once
    assert len(list_examples(tmp_path)) == len(synthetic_examples(tmp_path)) + 2


def _png(mask: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buf, format="PNG")
    return buf.getvalue()


def test_checkpoints_found_ranked_and_loaded(tmp_path, tiny_backend):
    from autosam.checkpoint import save_checkpoint

    model = make_tiny_model(tiny_backend)
    model.config.metadata = {"metrics": {"dice": 0.5}}
    a = save_checkpoint(tmp_path / "a.safetensors", model.config, model.g, model.h)
    model.config.metadata = {"best_dice": 0.8}
    b = save_checkpoint(tmp_path / "b.safetensors", model.config, model.g, model.h)
    assert find_best_checkpoint(tmp_path) == b
    (tmp_path / "broken.safetensors").write_bytes(b"x")  # no config: ignored
    assert find_best_checkpoint(tmp_path, "sam_tiny") == b
    assert find_best_checkpoint(tmp_path / "missing") is None
    eng = load_engine(AppConfig(checkpoint=str(a), device="cpu"))
    assert eng.backend_name == "sam_tiny" and eng.has_model and eng.has_h  # back-end from the checkpoint
    eng = load_engine(AppConfig(backend="sam_tiny", checkpoint=str(tmp_path / "nope.safetensors"), device="cpu"))
    assert not eng.has_model and "autosam train" in eng.model_status


def test_config_from_flags_and_env(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    monkeypatch.setenv("AUTOSAM_CHECKPOINT", "/x/model.safetensors")
    cfg = AppConfig.from_args([])
    assert cfg.port == 7999 and cfg.checkpoint == "/x/model.safetensors" and cfg.host == "127.0.0.1"
    cfg = AppConfig.from_args(["--port", "8001", "--backend", "sam_tiny", "--host", "0.0.0.0", "--no-hub-examples"])
    assert (cfg.port, cfg.backend, cfg.host, cfg.hub_examples) == (8001, "sam_tiny", "0.0.0.0", False)


# ---- panels and the Segment tab's logic --------------------------------------------------------------
def test_panels_without_a_model_explain_how_to_train(bare_engine):
    img, mask = synthetic_pair(H, W)
    r = run_panel(bare_engine, img, "autosam")
    assert not r.ok and "autosam train" in r.note
    with pytest.raises(UserInputError, match="--checkpoint"):  # the API gives the full how-to
        run_panel(bare_engine, img, "autosam", strict=True)
    r = run_panel(bare_engine, img, "sam_box", Prompts(box=[10, 10, 80, 60]), gt=mask)
    assert r.ok and r.mask.shape == (H, W) and r.dice is not None and r.latency_s > 0
    with pytest.raises(UserInputError):
        run_panel(bare_engine, img, "h", strict=True)


def test_logic_load_click_and_gt(engine, files, tmp_path):
    logic = SegmentLogic(engine, tmp_path)
    s = new_session(tmp_path)
    logic.load(s, str(files["image"]), str(files["mask"]))
    assert {k for k, r in s.results.items() if r.ok} == {"autosam", "h", "autosam_mask", "gt_mask", "gt"}
    assert s.results["autosam"].dice is not None
    k = CANVAS_SIDE / W  # clicks arrive in canvas pixels; the canvas is the image scaled to CANVAS_SIDE
    assert logic.canvas(s).shape[:2] == (round(H * k), CANVAS_SIDE)
    assert logic.click(s, (10 * k, 10 * k), BOX_MODE, False) == []  # first corner only
    assert s.corner is not None
    assert logic.click(s, (90 * k, 70 * k), BOX_MODE, False) == ["sam_box"]
    assert s.box == pytest.approx([10, 10, 90, 70]) and s.results["sam_box"].ok
    assert logic.click(s, (50 * k, 40 * k), POINT_MODE, False) == ["sam_points"]
    assert logic.click(s, (5 * k, 5 * k), POINT_MODE, True) == ["sam_points"]
    assert s.points[-1][2] == 0 and s.results["sam_points"].ok
    files_out = logic.mask_files(s)
    assert len(files_out) == 8 and files_out[-1].endswith(".zip")  # 7 panels + zip
    assert Image.open(files_out[0]).size == (W, H)
    assert logic.panel_image(s, "sam_box").shape[2] == 3
    logic.clear(s)
    assert not s.results["sam_box"].ok and not s.results["sam_points"].ok
    with pytest.raises(UserInputError, match="same size"):
        logic.set_gt(s, str(files["small_mask"]))


# ---- the served app ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory, engine):
    d = tmp_path_factory.mktemp("app")
    cfg = AppConfig(cache_dir=str(d / "cache"), db_path=str(d / "lb.sqlite"), submissions_dir=str(d / "subs"),
                    hub_examples=False, max_image_side=512, refresh_s=0)
    demo, ctx = build_app(cfg, engine=engine)
    _, url, _ = launch(demo, cfg, prevent_thread_lock=True, server_port=free_port(), quiet=True)
    yield url, ctx
    demo.close()


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client
    return Client(served[0], verbose=False)


def test_app_serves_http_200(served):
    with urllib.request.urlopen(served[0], timeout=30) as r:
        assert r.status == 200 and b"AutoSAM" in r.read()


def test_named_endpoints_listed(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/segment", "/segment_all", "/info", "/leaderboard", "/submit", "/queue"} <= names


def test_info_endpoint(client):
    info = client.predict(api_name="/info")
    assert info["backend"] == "sam_tiny" and info["model_loaded"] and set(info["modes"]) == set(API_MODES)


@pytest.mark.parametrize("mode", API_MODES)
def test_segment_each_mode_gives_mask_of_image_size(client, files, mode):
    from gradio_client import handle_file
    path, info = client.predict(handle_file(str(files["image"])), mode, "[[60, 50], [5, 5, 0]]",
                                "[20, 15, 100, 80]", handle_file(str(files["mask"])), api_name="/segment")
    m = np.array(Image.open(path))
    assert m.shape == (H, W) and set(np.unique(m)) <= {0, 255}
    assert info["mode"] == mode and info["latency_s"] >= 0 and info["dice"] is not None
    assert (info["width"], info["height"]) == (W, H)


def test_segment_all(client, files):
    from gradio_client import handle_file
    paths, info = client.predict(handle_file(str(files["image"])), "[[60, 50]]", "[20, 15, 100, 80]",
                                 handle_file(str(files["mask"])), api_name="/segment_all")
    assert len(paths) == len(PANELS) and all(Image.open(p).size == (W, H) for p in paths)
    assert [p["panel"] for p in info["panels"]] == [p.key for p in PANELS]
    assert all(p["dice"] is not None for p in info["panels"] if p["panel"] != "gt")
    # Without prompts or GT, those panels say what they need instead of failing.
    paths, info = client.predict(handle_file(str(files["image"])), "", "", None, api_name="/segment_all")
    notes = {p["panel"]: p["note"] for p in info["panels"] if not p["available"]}
    assert set(notes) == {"sam_points", "sam_box", "gt_mask", "gt"} and "box" in notes["sam_box"]


@pytest.mark.parametrize("key", ["gray", "rgba", "img16"])
def test_segment_odd_image_formats(client, files, key):
    from gradio_client import handle_file
    path, info = client.predict(handle_file(str(files[key])), "sam_box", "", "[20, 15, 100, 80]", None,
                                api_name="/segment")
    assert Image.open(path).size == (W, H)


def test_segment_huge_image_is_downscaled_with_a_note(client, files):
    from gradio_client import handle_file
    path, info = client.predict(handle_file(str(files["huge"])), "sam_box", "", "[100, 100, 900, 700]", None,
                                api_name="/segment")
    assert Image.open(path).size == (512, 384) and "downscaled" in info["notes"][0]


@pytest.mark.parametrize("case,needle", [
    ("text", "could not be read as an image"),
    ("corrupt", "could not be read as an image"),
    ("bad_mode", "Unknown mode"),
    ("bad_json", "not valid JSON"),
    ("small_mask", "same size"),
    ("no_box", "Draw a box"),
    ("no_image", "upload an image"),
])
def test_bad_inputs_give_friendly_errors(client, files, case, needle):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError
    src = files[case] if case in ("text", "corrupt") else files["image"]
    img = None if case == "no_image" else handle_file(str(src))
    args = {
        "bad_mode": ("nonsense", "", "", None),
        "bad_json": ("sam_points", "[[1, 2", "", None),
        "small_mask": ("sam_box", "", "[1, 1, 50, 50]", handle_file(str(files["small_mask"]))),
        "no_box": ("sam_box", "", "", None),
    }.get(case, ("sam_box", "", "[1, 1, 50, 50]", None))
    with pytest.raises(AppError) as e:
        client.predict(img, *args, api_name="/segment")
    msg = str(e.value)
    assert needle.lower() in msg.lower() and "Traceback" not in msg and 'File "' not in msg


def test_leaderboard_endpoint_shows_paper_rows(client, served):
    out = client.predict("", "all", "kvasir", "dice", api_name="/leaderboard")
    t1, t2 = out[1], out[2]
    methods = [row[0] for row in t1["data"]] + [row[0] for row in t2["data"]]
    assert "U-Net" in methods and any(m.startswith("AutoSAM") for m in methods)
    assert Path(out[4]).read_text().startswith("Method,Source")  # CSV download of table 1
    out = client.predict("u-net", "all", "kvasir", "dice", api_name="/leaderboard")
    assert {row[0] for row in out[1]["data"]} == {"U-Net", "U-Net++"}
    out = client.predict("", "verified", "kvasir", "dice", api_name="/leaderboard")
    assert out[1]["data"] in ([], [[]]) or all(row[1] == "verified" for row in out[1]["data"])
    # A verified result written by the worker shows up on refresh, without restarting the app.
    from leaderboard.records import ResultRecord
    served[1].store.upsert_results([ResultRecord(
        benchmark="kvasir", split="test", metric=m, value=v, ci_low=v - 0.02, ci_high=v + 0.02, n=100,
        method="submission/999", method_display="My verified g", source="verified")
        for m, v in (("dice", 0.91), ("iou", 0.85))])
    out = client.predict("", "verified", "kvasir", "dice", api_name="/leaderboard")
    t2 = out[2]
    names = [row[0] for row in t2["data"]]
    # The new row joins the shipped model's verified rows (seeded from its harness JSON).
    assert "My verified g" in names and "Kvasir Dice 95% CI" in t2["headers"]
    from leaderboard.seeds import seed_paper_results
    n = len(served[1].store.results_frame())
    seed_paper_results(served[1].store)  # start-up seeding is idempotent
    assert len(served[1].store.results_frame()) == n


def test_submit_and_queue(client, served, tmp_path, tiny_backend):
    from gradio_client import handle_file

    from autosam.checkpoint import save_checkpoint

    model = make_tiny_model(tiny_backend)
    w = save_checkpoint(tmp_path / "tiny.safetensors", model.config, model.g, model.h)
    msg, queue = client.predict(handle_file(str(w)), handle_file(str(w.with_suffix(".json"))), "tiny g",
                                "tester", api_name="/submit")
    assert msg.startswith("**Queued**")
    row = queue["data"][0]
    assert row[1] == "tiny g" and "PENDING" in row[5]
    # The same weights again: refused with the reason, no traceback.
    msg, _ = client.predict(handle_file(str(w)), handle_file(str(w.with_suffix(".json"))), "again", "tester",
                            api_name="/submit")
    assert msg.startswith("**Refused:**") and "already submitted" in msg
    pt = tmp_path / "model.pt"
    pt.write_bytes(b"\x80\x02pickle")
    msg, _ = client.predict(handle_file(str(pt)), handle_file(str(w.with_suffix(".json"))), "pickle", "tester",
                            api_name="/submit")
    assert msg.startswith("**Refused:**") and "pickle" in msg.lower()
    msg, _ = client.predict(None, None, "x", "tester", api_name="/submit")
    assert "upload the weights" in msg
    # A failed evaluation shows its reason in the queue.
    store = served[1].store
    sub = store.list_submissions()[-1]
    store.fail(sub.id, "CUDA out of memory during evaluation", log_tail="step 3\nRuntimeError: OOM\n")
    queue = client.predict(api_name="/queue")
    row = next(r for r in queue["data"] if r[0] == sub.id)
    assert "FAILED" in row[5] and "out of memory" in row[7] and "OOM" in row[7]


def test_endpoint_functions_without_model_are_friendly(bare_engine, files, tmp_path):
    import gradio as gr

    from app.api import make_endpoints

    segment, segment_all, info = make_endpoints(SegmentLogic(bare_engine, tmp_path))
    with pytest.raises(gr.Error, match="autosam train"):
        segment(str(files["image"]), "autosam", "", "", None)
    path, out = segment(str(files["image"]), "sam_box", "", "[20, 15, 100, 80]", None)
    assert Image.open(path).size == (W, H) and out["dice"] is None
    assert not info()["model_loaded"]
    json.dumps(segment_all(str(files["image"]), "", "", None)[1])  # JSON-able
