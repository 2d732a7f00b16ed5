"""The staff work queue in the console: an item past its SLA escalates to the supervisor (the test moves
the server's clock, ENVIRONMENT=test only), who sees it arrive live and reassigns it to another officer."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import customer_page, officer_page, screenshot
from tests.browser.test_approval_flow import propose_and_confirm

pytestmark = pytest.mark.browser


def _advance_clock(base_url: str, hours: float) -> dict[str, object]:
    token = httpx.post(
        f"{base_url}/api/auth/login", json={"username": "sara", "password": "sara-demo"}, timeout=30
    ).json()["token"]
    r = httpx.post(
        f"{base_url}/api/test/clock",
        json={"advance_s": hours * 3600},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    r.raise_for_status()
    return dict(r.json())


def test_an_overdue_item_escalates_and_the_supervisor_reassigns_it(
    new_context: Callable[[], BrowserContext], base_url: str
) -> None:
    customer = customer_page(new_context(), base_url, "carol", "carol-demo")
    request = "Please transfer EUR 12,000 to a new payee: Jonas Weber, IBAN DE75 5121 0800 1245 1261 99."
    thread_id = propose_and_confirm(customer, request, "widget-confirm-queue-transfer")

    # Ana, a compliance officer, sees the item in her queue with its priority, SLA and age, and claims it.
    ana = officer_page(new_context(), base_url, "ana", "ana-demo")
    entry = ana.locator(f'.cc-queue-item[data-thread-id="{thread_id}"]')
    expect(entry).to_be_visible(timeout=30_000)
    expect(entry).to_contain_text("SLA in")
    expect(entry).to_contain_text("age")
    expect(entry).not_to_contain_text("60 min")  # "SLA in 3 h 59 min", never "3 h 60 min"
    expect(ana.locator("#live")).to_have_attribute("data-state", "live")
    entry.click()
    ana.get_by_role("button", name="Claim", exact=True).click()
    expect(ana.locator(".cc-item")).to_contain_text("You hold the claim")
    screenshot(ana, "console-queue-officer")

    # The supervisor's own queue holds what escalated: nothing yet.
    sara = officer_page(new_context(), base_url, "sara", "sara-demo")
    expect(sara.locator("#role-name")).to_have_text("Supervisor")
    expect(sara.locator(f'.cc-queue-item[data-thread-id="{thread_id}"]')).to_have_count(0)

    # Four and a half hours later (the approval SLA is four): the sweep escalates it, and the
    # supervisor's page shows it without a reload (live events).
    swept = _advance_clock(base_url, 4.5)
    assert swept["escalated"], swept
    escalated = sara.locator(f'.cc-queue-item[data-thread-id="{thread_id}"]')
    expect(escalated).to_be_visible(timeout=15_000)
    expect(escalated).to_have_attribute("data-escalated", "true")
    expect(escalated).to_contain_text("Escalated")
    expect(escalated).to_contain_text("SLA overdue by")
    screenshot(sara, "console-supervisor-escalated")

    # The supervisor reassigns it to Ben, with a reason; the history records both steps.
    escalated.click()
    ops = sara.locator("#item-ops")
    expect(ops).to_contain_text("Escalated")
    expect(ops).not_to_contain_text("null")
    sara.select_option("#reassign-to", "officer-ben")
    sara.fill("#reassign-note", "Ana is out this afternoon; Ben knows this customer.")
    sara.click("#reassign-submit")
    expect(ops.locator(".cc-alert--ok")).to_contain_text("Reassigned to Ben Ott")
    expect(ops).to_contain_text("officer-ben until")
    ops.locator(".cc-history summary").click()
    expect(ops.locator('.cc-history li[data-event="escalated"]')).to_be_visible()
    expect(ops.locator('.cc-history li[data-event="reassigned"]')).to_contain_text("Ben knows this customer")
    screenshot(sara, "console-supervisor-reassigned")

    # Ben finds it among his own claimed items after a reload (the page re-lists on connect).
    ben = officer_page(new_context(), base_url, "ben", "ben-demo")
    ben.select_option("#claimed-filter", "me")
    mine = ben.locator(f'.cc-queue-item[data-thread-id="{thread_id}"]')
    expect(mine).to_be_visible()
    ben.reload()
    expect(ben.locator("#queue-view")).to_be_visible()
    expect(ben.locator(f'.cc-queue-item[data-thread-id="{thread_id}"]')).to_be_visible()
    ben.locator(f'.cc-queue-item[data-thread-id="{thread_id}"]').click()
    expect(ben.locator(".cc-item")).to_contain_text("You hold the claim")
    screenshot(ben, "console-reassigned-officer")

    # The auditor sees the same item, read-only.
    otto = officer_page(new_context(), base_url, "otto", "otto-demo")
    otto.locator(f'.cc-queue-item[data-thread-id="{thread_id}"]').click()
    expect(otto.locator(".cc-item")).to_contain_text("Read-only")
    expect(otto.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
