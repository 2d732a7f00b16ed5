"""Held actions end to end: the customer confirms, an officer decides in the console, the widget shows it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import (
    ANSWER_TIMEOUT_MS,
    ask,
    customer_page,
    officer_page,
    open_queue_item,
    screenshot,
)

pytestmark = pytest.mark.browser

# The widget polls every 4 s; the officer's decision resumes the run before the API call returns.
OUTCOME_TIMEOUT_MS = 60_000


def propose_and_confirm(page: Page, request: str, shot: str) -> str:
    """Ask for a transfer, confirm the card, and wait for the review state. Returns the thread id."""
    reply = ask(page, request)
    card = reply.locator(".fa-action")
    assert card.count() == 1, f"no action proposed; the assistant said: {reply.inner_text()!r}"
    expect(card).to_have_attribute("data-status", "confirm")
    expect(card.get_by_role("button", name="Cancel", exact=True)).to_be_visible()
    screenshot(page, shot)
    card.get_by_role("button", name="Confirm", exact=True).click()

    review = page.locator(".fa-review")
    expect(review).to_contain_text("Waiting for review by our compliance team", timeout=ANSWER_TIMEOUT_MS)
    thread_id = page.evaluate("window.finagent.threadId")
    assert thread_id
    return str(thread_id)


def test_large_transfer_is_approved_and_the_customer_sees_it_executed(
    new_context: Callable[[], BrowserContext], base_url: str
) -> None:
    customer = customer_page(new_context(), base_url, "alice", "alice-demo")
    request = "Please transfer EUR 20,000 to a new payee: Jonas Weber, IBAN DE75 5121 0800 1245 1261 99."
    thread_id = propose_and_confirm(customer, request, "widget-confirm-transfer")
    pending_card = customer.locator('.fa-action[data-status="pending_approval"]')
    expect(pending_card).to_contain_text("20,000.00")
    screenshot(customer, "widget-waiting-for-review")

    officer = officer_page(new_context(), base_url, "ana", "ana-demo")
    open_queue_item(officer, thread_id)
    item = officer.locator(".cc-item")
    expect(item).to_have_attribute("data-status", "pending")
    rule_rows = officer.locator(".cc-rules tbody tr")
    expect(rule_rows.first).to_be_visible()
    expect(officer.locator(".cc-rules")).to_contain_text("AMOUNT_REVIEW")
    expect(item).to_contain_text("Approvals 0 of 1")
    expect(item).to_contain_text(request)  # the conversation is part of the context
    expect(officer.get_by_role("button", name="Approve", exact=True)).to_be_disabled()  # claim first
    screenshot(officer, "console-item-with-rule-hits")

    officer.get_by_role("button", name="Claim", exact=True).click()
    expect(item).to_contain_text("You hold the claim")
    # Every decision needs a reason: approving without one is refused in the console.
    officer.get_by_role("button", name="Approve", exact=True).click()
    expect(officer.locator(".cc-item .cc-alert--error")).to_contain_text("Choose a reason code for approving")
    officer.select_option("#cc-reason", "VERIFIED_WITH_CUSTOMER")
    officer.fill("#cc-note", "Called the customer back on the number on file.")
    officer.get_by_role("button", name="Approve", exact=True).click()
    expect(officer.locator(".cc-item .cc-alert--ok")).to_contain_text("Approved")
    expect(item).to_have_attribute("data-status", "approved")
    expect(item).to_contain_text("Approvals 1 of 1")

    # The customer's widget polls and shows the outcome in the same conversation.
    executed = customer.locator('.fa-action[data-status="executed"]')
    expect(executed).to_be_visible(timeout=OUTCOME_TIMEOUT_MS)
    expect(executed).to_contain_text("Completed")
    expect(customer.locator(".fa-review")).to_have_count(0)
    screenshot(customer, "widget-executed")

    # Closing and reopening the page restores the conversation from the server.
    customer.reload()
    customer.locator(".fa-launcher").click()
    expect(customer.locator(".fa-msg--user .fa-bubble").first).to_have_text(request)
    expect(customer.locator('.fa-action[data-status="executed"]')).to_be_visible()
    assert customer.evaluate("window.finagent.threadId") == thread_id

    # The decision is in the audit trail, and the chain verifies.
    officer.get_by_role("button", name="Audit trail", exact=True).click()
    expect(officer.locator("#audit-table")).to_contain_text("approval.approve")
    officer.get_by_role("button", name="Verify chain", exact=True).click()
    expect(officer.locator('#audit-result [data-ok="true"]')).to_contain_text("Chain intact")
    screenshot(officer, "console-audit-verified")


def test_rejection_with_reason_code_shows_as_declined_without_tipping_off(
    new_context: Callable[[], BrowserContext], base_url: str
) -> None:
    customer = customer_page(new_context(), base_url, "bob", "bob-demo")
    # Bulgaria is on the illustrative high-risk list, so any amount is reviewed.
    request = "Please transfer EUR 1,500 to a new payee: Petar Ivanov, IBAN BG80 BNBG 9661 1020 3456 78."
    thread_id = propose_and_confirm(customer, request, "widget-confirm-high-risk")

    ben = officer_page(new_context(), base_url, "ben", "ben-demo")
    open_queue_item(ben, thread_id)
    expect(ben.locator(".cc-rules")).to_contain_text("HIGH_RISK_JURISDICTION")
    ben.get_by_role("button", name="Claim", exact=True).click()
    expect(ben.locator(".cc-item")).to_contain_text("You hold the claim")

    # A second officer cannot take an item someone else holds: the console says so plainly.
    ana = officer_page(new_context(), base_url, "ana", "ana-demo")
    open_queue_item(ana, thread_id)
    expect(ana.locator(".cc-item")).to_contain_text("Claimed by officer-ben")
    ana.get_by_role("button", name="Claim", exact=True).click()
    expect(ana.locator(".cc-item .cc-alert--error")).to_contain_text("claimed by officer-ben")
    screenshot(ana, "console-conflict")

    # Rejecting without a reason code is refused in the console; with one it goes through.
    ben.get_by_role("button", name="Reject", exact=True).click()
    expect(ben.locator(".cc-item .cc-alert--error")).to_contain_text("Choose a reason code for rejecting")
    ben.select_option("#cc-reason", "AML_CONCERN")
    ben.fill("#cc-note", "Payee bank flagged by correspondent; customer to provide purpose of payment.")
    ben.get_by_role("button", name="Reject", exact=True).click()
    expect(ben.locator(".cc-item")).to_have_attribute("data-status", "rejected")
    expect(ben.locator(".cc-decisions")).to_contain_text("AML_CONCERN")

    rejected = customer.locator('.fa-action[data-status="rejected"]')
    expect(rejected).to_be_visible(timeout=OUTCOME_TIMEOUT_MS)
    expect(rejected).to_contain_text("Declined after review")
    conversation = customer.locator(".fa-messages").inner_text()
    html = customer.locator(".fa-messages").inner_html()
    # Telling a customer the transfer looked like money laundering would be tipping-off: the widget
    # shows neither the rule, its code, nor the officer's reason code or note.
    for secret in ("AML", "TM-JUR-01", "HIGH_RISK_JURISDICTION", "jurisdiction", "correspondent"):
        assert secret.lower() not in conversation.lower() and secret not in html, secret
    assert "money laundering" not in conversation.lower()
    assert "needs a check by our team" in conversation and "did not pass our checks" in conversation
    screenshot(customer, "widget-rejected")
