"""The advisory journey in the browser: the questionnaire with answer buttons and free text, a changed
answer, the proposal with its charts and report, and an order confirmed into the holdings ledger."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ANSWER_TIMEOUT_MS, ask, customer_page, final_replies, screenshot

pytestmark = pytest.mark.browser

# Answers by button (the label) or typed (own words); 24 points: C3.
ANSWERS = [
    ("tap", "Equity funds or shares"),
    ("type", "I know the basics"),
    ("type", "I'm 45"),
    ("tap", "Stable"),
    ("type", "about 20 %"),
    ("tap", "25-50 %"),
    ("type", "5 years"),
    ("tap", "Regular income"),
    ("tap", "Hold"),
    ("type", "it would hurt my plans"),
    ("tap", "No preference"),
]


def tap(page: Page, label: str) -> None:
    before = final_replies(page).count()
    final_replies(page).last.locator(".fa-choice", has_text=label).first.click()
    expect(page.locator(".fa-panel")).to_have_attribute("aria-busy", "false", timeout=ANSWER_TIMEOUT_MS)
    expect(final_replies(page)).to_have_count(before + 1)


def test_questionnaire_proposal_and_order(new_context: Callable[[], BrowserContext], base_url: str) -> None:
    page = customer_page(new_context(), base_url, "alice", "alice-demo")
    first = ask(page, "I want investment advice")
    expect(first).to_have_attribute("data-status", "question")
    expect(first.locator(".fa-choice")).to_have_count(4)
    screenshot(page, "advisory-questionnaire")
    for how, text in ANSWERS[:6]:
        tap(page, text) if how == "tap" else ask(page, text)
    expect(final_replies(page).last).to_contain_text("Question 7 of 11")
    back = ask(page, "back")  # change the previous answer
    expect(back).to_contain_text("Question 6 of 11")
    tap(page, "25-50 %")
    for how, text in ANSWERS[6:]:
        tap(page, text) if how == "tap" else ask(page, text)
    profile = final_replies(page).last
    expect(profile).to_contain_text("Your investor profile is C3 (balanced)")
    expect(profile.locator(".fa-choice")).to_have_count(0)
    screenshot(page, "advisory-profile")

    proposal = ask(page, "what should I invest in?")
    expect(proposal).to_contain_text("I propose the Lakeshore Balanced Portfolio")
    expect(proposal.locator(".fa-alloc-row")).to_have_count(2)
    expect(proposal.locator(".fa-backtest path")).to_have_count(1)
    shown = proposal.locator(".fa-alloc-value").all_inner_texts()
    bubble = proposal.locator(".fa-bubble").inner_text()
    assert all(v.replace(" %", "") in bubble for v in shown), (
        shown,
        bubble,
    )  # the charts' numbers are the reply's
    proposal.scroll_into_view_if_needed()
    screenshot(page, "advisory-proposal")
    with page.expect_download() as download:
        proposal.get_by_role("button", name="Download (HTML)").click()
    assert "Why it fits your profile" in download.value.path().read_text()

    order = ask(page, "invest 10,000 in the balanced portfolio")
    expect(order.locator(".fa-action")).to_be_visible()
    order.get_by_role("button", name="Confirm").click()
    expect(final_replies(page).last.locator(".fa-outcome--success")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    screenshot(page, "advisory-order-done")
