"""The real page in headless Chromium: label from the keyboard, undo, reload, find the labels;
review the quarantine and apply."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from photosieve.config import Config
from photosieve.state import State

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_COPY = Path("/tmp/labeler-screenshot.png")
KEYS = "kdkkdkdkkd"  # ten photos; the last one is undone
NAMES = [f"IMG_20240503_1422{i:02d}.jpg" for i in range(12)]


@pytest.fixture
def sync_api() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing (pip install playwright)"
    )


@pytest.fixture
def page(sync_api: Any) -> Iterator[Any]:
    """A page in headless Chromium that records script errors (CSP violations included)."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            tab = browser.new_page(viewport={"width": 1180, "height": 820})
            errors: list[str] = []
            tab.errors = errors
            tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.on("dialog", lambda dialog: dialog.accept())
            yield tab
        finally:
            browser.close()


def _label_and_undo(page: Any, expect: Any) -> None:
    counts = page.locator("#counts")
    expect(page.locator(".tile.current")).to_have_count(1)
    expect(counts).to_contain_text("0 of 12 labelled")
    for key in KEYS:
        page.keyboard.press(key)
    expect(counts).to_contain_text("10 of 12 labelled")
    page.keyboard.press("u")
    expect(counts).to_contain_text("9 of 12 labelled")
    expect(page.locator(".tile .meta", has_text="saving")).to_have_count(0)


def _check_after_reload(page: Any, expect: Any, ids: dict[str, str], shots: Path) -> None:
    page.reload()
    expect(page.locator("#counts")).to_contain_text("9 of 12 labelled · 6 keep · 3 discard")
    current = page.locator(".tile.current")
    expect(current).to_have_attribute("id", "p-" + ids[NAMES[9]])  # the first unlabelled
    expect(page.locator(f"#p-{ids[NAMES[0]]} .badge")).to_have_text("✓ Keep")
    expect(page.locator(f"#p-{ids[NAMES[1]]} .badge")).to_have_text("✕ Discard")
    page.keyboard.press("ArrowLeft")
    expect(current).to_have_attribute("id", "p-" + ids[NAMES[8]])
    page.keyboard.press("ArrowRight")
    page.screenshot(path=str(shots / "labeler-grid.png"))


def _check_viewer_and_order(page: Any, expect: Any, ids: dict[str, str], shots: Path) -> None:
    page.keyboard.press(" ")
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(page.locator("#viewer-name")).to_have_text(NAMES[9])
    expect(page.locator("#viewer-date")).to_have_text("2024-05-03 14:22:09")
    large = page.locator("#viewer-img")
    expect(large).to_have_js_property("complete", True)
    assert large.evaluate("img => img.naturalWidth") == 320  # small photos are not upscaled
    page.screenshot(path=str(shots / "labeler-viewer.png"))
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    page.select_option("#order", "uncertain")  # brightness nearest 127.5 first
    expect(page.locator(".tile").first).to_have_attribute("id", "p-" + ids[NAMES[6]])


def test_label_from_the_keyboard_undo_and_reload(
    serve: Callable[..., Any],
    config: Config,
    state: State,
    photo: Callable[..., Path],
    fake_model: Any,
    tmp_path: Path,
    sync_api: Any,
    page: Any,
) -> None:
    for i, name in enumerate(NAMES):
        photo(config.inboxes[0] / name, brightness=15 + 20 * i, size=(320, 240))
    client = serve([config.inboxes[0]], load=fake_model)
    ids = client.ids()
    page.goto(client.server.url)
    _label_and_undo(page, sync_api.expect)
    assert page.url == f"http://127.0.0.1:{client.server.port}/"  # the token left the bar
    _check_after_reload(page, sync_api.expect, ids, tmp_path)
    _check_viewer_and_order(page, sync_api.expect, ids, tmp_path)
    assert page.errors == []
    shutil.copyfile(tmp_path / "labeler-grid.png", SCREENSHOT_COPY)

    saved = {row["sha256"]: (row["label"], row["source"]) for row in state.labels()}
    wanted = {"k": "keep", "d": "discard"}
    assert saved == {ids[NAMES[i]]: (wanted[KEYS[i]], "label") for i in range(9)}


def test_review_flip_a_keeper_and_apply(
    serve: Callable[..., Any],
    config: Config,
    state: State,
    quarantined: Callable[..., Path],
    tmp_path: Path,
    sync_api: Any,
    page: Any,
) -> None:
    expect = sync_api.expect
    paths = [
        quarantined(
            f"2024-06-0{i}_10-00-00_IMG_{i}.jpg",
            taken=f"2024-06-0{i}T10:00:00",
            score=0.5 + i / 10,
            brightness=40 * i,
        )
        for i in range(1, 5)
    ]
    client = serve([config.quarantine.path], mode="review")
    client.ready()
    page.goto(client.server.url)
    counts = page.locator("#counts")
    expect(counts).to_have_text("4 in quarantine · 0 to restore · 4 stay")
    # The token is gone from the address bar and history; after a reload the page still
    # sends it (from this tab's session storage) with its marks and Apply below.
    assert "token" not in page.url
    page.reload()
    expect(counts).to_have_text("4 in quarantine · 0 to restore · 4 stay")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("k")
    expect(counts).to_have_text("4 in quarantine · 1 to restore · 3 stay")
    expect(page.locator(".tile .meta", has_text="saving")).to_have_count(0)
    page.click("#apply")  # the confirm() dialog is accepted by the fixture
    expect(page.locator("#results-summary")).to_contain_text("Restored 1;")
    page.screenshot(path=str(tmp_path / "review-applied.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#results")).to_be_hidden()
    expect(counts).to_have_text("3 in quarantine · 0 to restore · 3 stay")
    assert page.errors == []

    assert config.library.path is not None
    assert (config.library.path / "2024" / "06" / paths[1].name).exists()
    assert not paths[1].exists() and all(p.exists() for p in (paths[0], paths[2], paths[3]))
    labels = sorted((row["label"], row["source"]) for row in state.labels())
    assert labels == [("discard", "review")] * 3 + [("keep", "review")]
