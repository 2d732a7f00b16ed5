"""The customer widget on the Lakeshore demo page: streamed, cited answers and input that is never lost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Request, Route, expect

from tests.browser.conftest import ask, customer_page, screenshot, send

pytestmark = pytest.mark.browser

# Records, inside the page, how many times the streaming bubble's text changed before the final reply.
WATCH_STREAM = """() => {
  const root = document.querySelector('#finagent-widget').shadowRoot;
  window.__streamUpdates = 0;
  new MutationObserver(() => {
    const bubble = root.querySelector('.fa-msg--streaming .fa-bubble');
    if (bubble && bubble.textContent.trim()) window.__streamUpdates += 1;
  }).observe(root, { subtree: true, childList: true, characterData: true });
}"""


def test_card_question_streams_an_answer_with_citations(
    new_context: Callable[[], BrowserContext], base_url: str
) -> None:
    page = customer_page(new_context(), base_url, "alice", "alice-demo")
    page.evaluate(WATCH_STREAM)

    answer = ask(page, "How do I block a lost card?")

    expect(page.locator(".fa-msg--user .fa-bubble").last).to_have_text("How do I block a lost card?")
    # Streamed text showed in the growing bubble before the final message replaced it. (How many
    # pieces arrive is the server's choice: it releases text once the outgoing-text review passed.)
    assert page.evaluate("window.__streamUpdates") >= 1, "no streamed text was shown before the final message"
    expect(answer.locator(".fa-cite").first).to_be_visible()

    assert len(answer.locator(".fa-bubble").inner_text().strip()) > 20
    titles = [t.lower() for t in answer.locator(".fa-cite-title").all_inner_texts()]
    assert any("card" in t for t in titles), f"no card document among the citations: {titles}"
    expect(answer).to_have_attribute("data-status", "answered")
    # The thread survives in localStorage, so the page can restore it later.
    assert page.evaluate("window.finagent.threadId")
    screenshot(page, "widget-answer-with-citations")


def test_a_chinese_question_is_answered_in_chinese_from_the_chinese_page(
    new_context: Callable[[], BrowserContext], base_url: str
) -> None:
    page = customer_page(new_context(), base_url, "carol", "carol-demo")

    answer = ask(page, "我的银行卡丢了怎么办")

    expect(answer).to_have_attribute("data-status", "answered")
    reply = answer.locator(".fa-bubble").inner_text()
    assert sum("\u4e00" <= ch <= "\u9fff" for ch in reply) >= 10, f"not answered in Chinese: {reply!r}"
    titles = answer.locator(".fa-cite-title").all_inner_texts()
    assert "银行卡丢失或被盗" in titles, f"the Chinese card page is not cited: {titles}"
    screenshot(page, "widget-chinese-answer")


def test_over_long_message_is_refused_and_kept(
    new_context: Callable[[], BrowserContext], base_url: str
) -> None:
    page = customer_page(new_context(), base_url, "bob", "bob-demo")
    chat_requests: list[str] = []
    page.on("request", lambda r: chat_requests.append(r.url) if "/api/chat" in r.url else None)
    text = "Please explain the fees for my account. " * 50 + "Thanks!"  # 2,007 characters
    assert len(text) > 2000

    box = page.locator(".fa-input")
    box.fill(text)
    expect(page.locator(".fa-counter")).to_have_text(f"{len(text):,} / 2,000")
    expect(box).to_have_attribute("aria-invalid", "true")
    box.press("Enter")

    banner = page.locator(".fa-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The limit is 2,000")
    expect(banner).to_contain_text("shorten it by 7 characters")
    assert box.input_value() == text, "the typed text was lost"
    expect(page.locator(".fa-msg--user")).to_have_count(0)
    assert chat_requests == [], "an over-long message was sent to the server"
    screenshot(page, "widget-over-long-refused")

    # Shortening it under the limit clears the warning state of the counter.
    box.fill(text[:1990])
    expect(box).to_have_attribute("aria-invalid", "false")


def test_network_failure_keeps_the_message_for_retry(
    new_context: Callable[[], BrowserContext], base_url: str
) -> None:
    page = customer_page(new_context(), base_url, "bob", "bob-demo")

    def drop(route: Route, request: Request) -> None:
        route.abort("internetdisconnected")

    page.route("**/api/chat", drop)
    send(page, "What does an international transfer cost?")

    banner = page.locator(".fa-banner")
    expect(banner).to_contain_text("could not reach")
    expect(page.locator(".fa-input")).to_have_value("What does an international transfer cost?")
    # Nothing reached the bank, so nothing is shown as sent.
    expect(page.locator(".fa-msg--user")).to_have_count(0)
    expect(page.locator(".fa-input")).to_be_focused()


def test_a_watch_list_block_shows_neutral_words_only(
    new_context: Callable[[], BrowserContext], base_url: str
) -> None:
    page = customer_page(new_context(), base_url, "carol", "carol-demo")
    reply = ask(page, "Please send EUR 100 to Boris Kravtsov, IBAN DE75 5121 0800 1245 1261 99.")
    card = reply.locator(".fa-action")
    assert card.count() == 1, f"no action proposed; the assistant said: {reply.inner_text()!r}"
    expect(card).to_have_attribute("data-status", "blocked")
    expect(reply).to_contain_text("We can't make this payment.")
    shown = page.locator(".fa-messages").inner_text().lower()
    html = page.locator(".fa-messages").inner_html()
    for secret in ("SAN-WL-01", "WATCHLIST_MATCH", "DEMO-FICTIONAL", "sanction", "watch list", "watch-list"):
        assert secret.lower() not in shown and secret not in html, secret
    screenshot(page, "widget-blocked-neutral")
