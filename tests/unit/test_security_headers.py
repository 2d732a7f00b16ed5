"""No other site can frame the console's Approve buttons; the widget only on the bank's own pages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from finagent.settings import Settings
from tests.unit.conftest import AppFactory, login

BANK = "https://www.bank.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"widget_allowed_origins": [BANK, "http://localhost:3000"]})


def _policy(header: str) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in header.split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def test_no_site_may_frame_the_console(make_client: AppFactory) -> None:
    client = make_client()
    for path in ("/console/", "/console/console.js"):
        r = client.get(path)
        assert r.status_code == 200
        csp = _policy(r.headers["content-security-policy"])
        assert csp["frame-ancestors"] == "'none'"
        assert csp["connect-src"] == "'self'"
        assert "*" not in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"


def test_the_widget_may_be_framed_by_itself_and_the_configured_bank_pages_only(
    make_client: AppFactory,
) -> None:
    r = make_client().get("/widget/")
    csp = _policy(r.headers["content-security-policy"])
    assert csp["frame-ancestors"].split() == ["'self'", BANK, "http://localhost:3000"]
    assert csp["connect-src"] == "'self'"
    assert "*" not in r.headers["content-security-policy"]


def test_without_configured_origins_the_widget_is_framed_by_its_own_server_only(
    make_client: AppFactory, settings: Settings
) -> None:
    settings.widget_allowed_origins = []
    r = make_client().get("/widget/")
    assert _policy(r.headers["content-security-policy"])["frame-ancestors"] == "'self'"
    assert r.headers["x-frame-options"] == "SAMEORIGIN"


def test_api_answers_may_not_be_framed_either(make_client: AppFactory) -> None:
    client = make_client()
    for r in (client.get("/api/approvals", headers=login(client, "ana")), client.get("/api/threads")):
        assert r.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "origin",
    [
        "*",
        "https://bank.example/",
        "https://bank.example/chat",
        "bank.example",
        "https://a.example; script-src *",
    ],
)
def test_a_widget_origin_must_be_an_origin(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(widget_allowed_origins=[origin])


def test_well_formed_origins_are_accepted() -> None:
    origins = ["https://bank.example", "http://127.0.0.1:8080", "http://[::1]:3000"]
    assert Settings(widget_allowed_origins=origins).widget_allowed_origins == origins
