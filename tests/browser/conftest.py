"""Browser fixtures: Debian chromium driven by playwright, customer and officer pages on a live server.

The server comes from the session fixture `live_server` (tests/conftest.py). To iterate on the UI
against a server you already run, set FINAGENT_BROWSER_BASE_URL=http://127.0.0.1:8000 (its database
must be fresh: the scenarios move real demo money and daily limits apply).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# The embedded 0.5B model on a shared CPU: a reply can take a minute or more.
ANSWER_TIMEOUT_MS = 240_000
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    override = os.environ.get("FINAGENT_BROWSER_BASE_URL")
    if override:
        return override.rstrip("/")
    return str(request.getfixturevalue("live_server")).rstrip("/")


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """Factory for isolated browser contexts (one per person), closed after the test.

    Any uncaught JavaScript error in any page fails the test: the UI must not break silently.
    """
    contexts: list[BrowserContext] = []
    page_errors: list[str] = []

    def watch_errors(page: Page) -> None:
        page.on("pageerror", lambda err: page_errors.append(f"{page.url}: {err}"))

    def make() -> BrowserContext:
        ctx = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="Europe/Berlin")
        ctx.set_default_timeout(15_000)
        ctx.on("page", watch_errors)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()
    assert not page_errors, f"JavaScript errors in the page: {page_errors}"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def customer_page(ctx: BrowserContext, base_url: str, username: str, password: str) -> Page:
    """The Lakeshore demo page, signed in, with the chat panel open."""
    page = ctx.new_page()
    page.goto(f"{base_url}/widget/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    expect(page.locator(".fa-panel")).to_be_visible()
    expect(page.locator(".fa-input")).to_be_enabled()
    return page


def officer_page(ctx: BrowserContext, base_url: str, username: str, password: str) -> Page:
    page = ctx.new_page()
    page.goto(f"{base_url}/console/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    expect(page.locator("#queue-view")).to_be_visible()
    return page


def send(page: Page, text: str) -> None:
    box = page.locator(".fa-input")
    box.fill(text)
    box.press("Enter")


def final_replies(page: Page) -> Locator:
    return page.locator(".fa-msg--assistant:not(.fa-msg--streaming)")


def ask(page: Page, text: str) -> Locator:
    """Send a message and wait for the assistant's complete reply; returns that reply."""
    before = final_replies(page).count()
    send(page, text)
    # The widget marks the panel busy from the moment it sends until the stream has ended.
    expect(page.locator(".fa-panel")).to_have_attribute("aria-busy", "false", timeout=ANSWER_TIMEOUT_MS)
    banner = page.locator(".fa-banner")
    assert banner.is_hidden(), f"the widget reported an error: {banner.inner_text()!r}"
    expect(final_replies(page)).to_have_count(before + 1)
    return final_replies(page).last


def open_queue_item(page: Page, thread_id: str) -> None:
    """Find the held action of this conversation in the console queue and open it."""
    entry = page.locator(f'.cc-queue-item[data-thread-id="{thread_id}"]').first
    # The queue refreshes itself; the item appears once the customer's confirmation is stored.
    expect(entry).to_be_visible(timeout=30_000)
    entry.click()
    expect(page.locator(".cc-item")).to_be_visible()
