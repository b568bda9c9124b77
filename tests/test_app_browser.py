"""The app in a real browser: headless Debian Chromium driven by Playwright (python).

Uploads an image, waits for the panels, clicks a point and a box on the prompt canvas and sees the
SAM panels change, opens the leaderboard and sees the paper's rows. Screenshots of every tab go to
``test-artifacts/`` (git-ignored) for review. Skips cleanly without /usr/bin/chromium or playwright.
"""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from conftest import make_tiny_model, synthetic_pair
from PIL import Image

CHROMIUM = os.environ.get("AUTOSAM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
TIMEOUT_MS = 90_000

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, tiny_backend):
    from app import AppConfig, build_app, launch
    from app.state import Engine

    d = tmp_path_factory.mktemp("browser_app")
    cfg = AppConfig(cache_dir=str(d / "cache"), db_path=str(d / "lb.sqlite"), submissions_dir=str(d / "subs"),
                    hub_examples=False, refresh_s=0)
    demo, _ = build_app(cfg, engine=Engine(tiny_backend, make_tiny_model(tiny_backend)))
    _, url, _ = launch(demo, cfg, prevent_thread_lock=True, server_port=_free_port(), quiet=True)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def page(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(app_url)
    pg.wait_for_selector("#canvas img")
    ARTIFACTS.mkdir(exist_ok=True)
    yield pg
    ctx.close()


def _src(page, elem_id: str) -> str | None:
    return page.evaluate(f"() => {{ const i = document.querySelector('#{elem_id} img'); return i ? i.src : null; }}")


def _wait_src_change(page, elem_id: str, old: str | None) -> str:
    page.wait_for_function(
        "([id, old]) => { const i = document.querySelector('#' + id + ' img');"
        " return i && i.src && i.src !== old && i.complete && i.naturalWidth > 0; }",
        arg=[elem_id, old or ""])
    return _src(page, elem_id)


def _click_canvas(page, fx: float, fy: float) -> None:
    """Click at a fraction (fx, fy) of the displayed prompt-canvas image."""
    img = page.locator("#canvas img")
    box = img.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def _shot(page, name: str) -> None:
    page.wait_for_timeout(500)
    page.evaluate("() => document.querySelectorAll('.toast-wrap').forEach(t => t.remove())")  # stale toasts
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_upload_click_and_panels(page, tmp_path):
    img, mask = synthetic_pair(192, 256, seed=3)
    Image.fromarray(img).save(tmp_path / "polyp.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "polyp_mask.png")

    canvas0 = _src(page, "canvas")
    page.locator("#image-file input[type=file]").set_input_files(str(tmp_path / "polyp.png"))
    _wait_src_change(page, "canvas", canvas0)
    page.wait_for_selector("#panel-autosam img")
    page.wait_for_function("() => document.querySelector('#segment-status').innerText.includes('polyp')")
    page.locator("#gt-file input[type=file]").set_input_files(str(tmp_path / "polyp_mask.png"))
    page.wait_for_selector("#panel-gt img")
    page.wait_for_function("() => document.querySelector('#panel-autosam').innerText.includes('Dice')")

    # Points mode: one click changes the SAM + points panel (it was a "click to add points" placeholder).
    page.get_by_label("Points").check()
    before = _src(page, "panel-sam_points")
    _click_canvas(page, 0.5, 0.5)
    _wait_src_change(page, "panel-sam_points", before)
    page.wait_for_function("() => document.querySelector('#panel-sam_points').innerText.includes(' s')")

    # Box mode: two clicks (opposite corners) change the SAM + box panel.
    page.get_by_label("Box (two clicks = corners)").check()
    before_box = _src(page, "panel-sam_box")
    _click_canvas(page, 0.2, 0.2)
    page.wait_for_function("() => document.querySelector('#segment-status').innerText.includes('first corner')")
    _click_canvas(page, 0.8, 0.8)
    _wait_src_change(page, "panel-sam_box", before_box)
    assert page.locator("#panel-summary").inner_text().count("SAM + box") == 1
    _shot(page, "app_segment.png")

    # A non-image upload gives a friendly warning, not a traceback.
    (tmp_path / "notes.txt").write_text("not an image")
    page.locator("#image-file button[aria-label='Clear']").click()
    page.locator("#image-file input[type=file]").wait_for(state="attached")
    page.locator("#image-file input[type=file]").set_input_files(str(tmp_path / "notes.txt"))
    page.wait_for_function(
        "() => document.querySelector('#segment-status').innerText.includes('could not be read as an image')")
    assert "Traceback" not in page.content()


def test_example_gallery(page):
    page.get_by_role("tab", name="Segment & compare").click()
    before = _src(page, "canvas")
    page.locator("#examples img").first.click()
    _wait_src_change(page, "canvas", before)
    page.wait_for_function("() => document.querySelector('#panel-gt').innerText.includes('Ground truth')")
    page.wait_for_selector("#panel-gt img")


def test_leaderboard_tab_shows_paper_rows(page):
    page.get_by_role("tab", name="Leaderboard").click()
    table = page.locator("#lb-table1")
    table.get_by_text("U-Net", exact=True).first.wait_for()
    table.get_by_text("AutoSAM (paper)", exact=True).first.wait_for()
    page.locator("#lb-bars .js-plotly-plot, #lb-bars .plotly").first.wait_for()
    _shot(page, "app_leaderboard.png")
    page.locator("#lb-search textarea, #lb-search input").first.fill("U-Net")
    page.locator("#lb-search textarea, #lb-search input").first.press("Enter")
    page.wait_for_function("() => !document.querySelector('#lb-table1').innerText.includes('MedT')")
    assert "U-Net" in page.locator("#lb-table1").inner_text()


def test_submit_and_about_tabs(page):
    page.get_by_role("tab", name="Submit").click()
    page.locator("#submit-button").wait_for()
    page.locator("#submit-button").click()
    page.wait_for_function("() => document.querySelector('#submit-result').innerText.includes('Refused')")
    _shot(page, "app_submit.png")
    page.get_by_role("tab", name="About").click()
    page.get_by_text("Evaluation protocol").first.wait_for()
    _shot(page, "app_about.png")
