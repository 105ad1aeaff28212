"""The review page shows why the service quarantined each photo: the reasons it recorded with
its decision ("blurred", "model 0.93"), in the listing and on the page itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from photosieve.config import Config
from photosieve.files.copy import sha256_file
from photosieve.state import State

CHROMIUM = Path("/usr/bin/chromium")


def _quarantine_with_reasons(
    state: State, quarantined: Callable[..., Path], name: str, reasons: list[str]
) -> Path:
    path = quarantined(name, taken="2024-06-01T10:00:00", score=0.93)
    state.record_decision(
        sha256_file(path), path, model_version="m1", score=0.93, decision="discard", reasons=reasons
    )  # the latest decision counts
    return path


def test_review_listing_carries_the_recorded_reasons(
    serve: Callable[..., Any], config: Config, state: State, quarantined: Callable[..., Path]
) -> None:
    _quarantine_with_reasons(state, quarantined, "blurry.jpg", ["blurred", "model 0.93"])
    quarantined("plain.jpg", taken=None)  # recorded without reasons
    odd = quarantined("odd.jpg", taken=None)
    state.execute("UPDATE decisions SET reasons = 'not json' WHERE path = ?", (str(odd),))

    review = serve([config.quarantine.path], mode="review").ready()
    reasons = {p["name"]: p["reasons"] for p in review["photos"]}
    assert reasons == {"blurry.jpg": ["blurred", "model 0.93"], "plain.jpg": [], "odd.jpg": []}
    # Labelling shows fresh scores of the current model; an old decision's reasons would not
    # match them, so that page has none.
    label = serve([config.quarantine.path], mode="label").ready()
    assert all(p["reasons"] == [] for p in label["photos"]) and len(label["photos"]) == 3


@pytest.fixture
def page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        try:
            tab = browser.new_page(viewport={"width": 1000, "height": 700})
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.errors = errors
            yield tab
        finally:
            browser.close()


@pytest.mark.browser
def test_review_page_shows_the_reasons_under_the_score(
    serve: Callable[..., Any],
    config: Config,
    state: State,
    quarantined: Callable[..., Path],
    page: Any,
) -> None:
    from playwright.sync_api import expect

    _quarantine_with_reasons(state, quarantined, "a_dark.jpg", ["dark", "model 0.93"])
    quarantined("b_plain.jpg", taken=None, score=0.7)
    client = serve([config.quarantine.path], mode="review")
    client.ready()
    page.goto(client.server.url)
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(2)
    expect(tiles.nth(0).locator(".meta").first).to_have_text("score 0.93")
    expect(tiles.nth(0).locator(".reasons")).to_have_text("dark, model 0.93")
    expect(tiles.nth(1).locator(".reasons")).to_be_hidden()  # nothing recorded, nothing shown
    tiles.nth(0).dblclick()  # the large view
    expect(page.locator("#viewer-score")).to_contain_text("dark, model 0.93")
    assert page.errors == []
