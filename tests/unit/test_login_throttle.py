"""Signing in: the timing does not tell which names exist, and guessing is locked out per name and per
address, across server processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from finagent import auth
from finagent.db import make_engine, make_sessionmaker, upgrade
from finagent.login_throttle import LoginThrottle
from finagent.settings import Settings
from tests.unit.conftest import AppFactory

PER_USER, PER_IP, WINDOW, LOCKOUT = 3, 8, 900, 600


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "login_max_failures": PER_USER,
            "login_max_failures_per_ip": PER_IP,
            "login_failure_window_s": WINDOW,
            "login_lockout_s": LOCKOUT,
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def _sign_in(client: TestClient, username: str, password: str) -> Response:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def _client_with_clock(make_client: AppFactory) -> tuple[TestClient, Clock]:
    client, clock = make_client(), Clock()
    client.app.state.login_throttle.clock = clock  # type: ignore[attr-defined]
    return client, clock


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash computed to check a password (argon2id, or legacy scrypt), by password."""
    calls: list[str] = []
    real_scrypt: Callable[[str, bytes], bytes] = auth._derive
    real_argon2: Callable[[str, str], bool] = auth._argon2_verify

    def counting_scrypt(password: str, salt: bytes) -> bytes:
        calls.append(password)
        return real_scrypt(password, salt)

    def counting_argon2(password: str, stored: str) -> bool:
        calls.append(password)
        return real_argon2(password, stored)

    monkeypatch.setattr(auth, "_derive", counting_scrypt)
    monkeypatch.setattr(auth, "_argon2_verify", counting_argon2)
    return calls


def test_a_known_and_an_unknown_name_cost_one_password_hash_each(
    make_client: AppFactory, derivations: list[str]
) -> None:
    client = make_client()
    for username, password, status in [
        ("alice", "wrong-1", 401),
        ("nobody", "wrong-2", 401),
        ("alice", "alice-demo", 200),
    ]:
        derivations.clear()
        r = _sign_in(client, username, password)
        assert r.status_code == status
        assert derivations == [password], username
    assert _sign_in(client, "nobody", "x").json() == _sign_in(client, "alice", "x").json()


def test_an_unreadable_stored_hash_costs_one_hash_too(derivations: list[str]) -> None:
    legacy = "scrypt$" + "00" * 16 + "$" + auth._derive("right", bytes(16)).hex()
    unreadable = (None, "", "md5$abc", "scrypt$zz$zz", "$argon2id$broken")
    for stored in (*unreadable, legacy, auth.hash_password("right")):
        derivations.clear()
        assert auth.check_password("guess", stored) is False
        assert derivations == ["guess"], stored


def test_a_name_is_locked_after_too_many_failures_even_for_the_right_password(
    make_client: AppFactory,
) -> None:
    client, _ = _client_with_clock(make_client)
    assert [_sign_in(client, "alice", "guess").status_code for _ in range(PER_USER)] == [401] * PER_USER
    r = _sign_in(client, "alice", "alice-demo")
    assert r.status_code == 429
    assert r.headers["retry-after"] == str(LOCKOUT)
    assert r.json()["error"] == {
        "code": "too_many_attempts",
        "message": f"too many sign-in attempts; try again in {LOCKOUT} seconds",
    }
    assert _sign_in(client, "bob", "bob-demo").status_code == 200  # other names are not locked


def test_a_locked_name_gets_the_same_answer_whether_it_exists_or_not(
    make_client: AppFactory, derivations: list[str]
) -> None:
    client, _ = _client_with_clock(make_client)  # a fixed clock: both Retry-After values are exact
    answers = []
    for username in ("alice", "nobody"):
        for _ in range(PER_USER):
            _sign_in(client, username, "guess")
        derivations.clear()
        r = _sign_in(client, username, "guess")
        answers.append((r.status_code, r.headers["retry-after"], r.json()))
        assert derivations == []  # nothing is looked at while locked
    assert answers[0] == answers[1]
    assert answers[0][0] == 429


def test_the_lock_ends_after_the_lockout_period(make_client: AppFactory) -> None:
    client, clock = _client_with_clock(make_client)
    for _ in range(PER_USER + 1):
        _sign_in(client, "alice", "guess")
    clock.now += LOCKOUT - 100
    r = _sign_in(client, "alice", "alice-demo")
    assert (r.status_code, r.headers["retry-after"]) == (429, "100")
    clock.now += 100
    assert _sign_in(client, "alice", "alice-demo").status_code == 200


def test_failures_outside_the_window_do_not_add_up(make_client: AppFactory) -> None:
    client, clock = _client_with_clock(make_client)
    for _ in range(PER_USER):
        assert _sign_in(client, "alice", "guess").status_code == 401
    clock.now += WINDOW
    for _ in range(PER_USER):
        assert _sign_in(client, "alice", "guess").status_code == 401
    assert _sign_in(client, "alice", "guess").status_code == 429


def test_signing_in_resets_the_count_for_the_name(make_client: AppFactory) -> None:
    client, _ = _client_with_clock(make_client)
    for _ in range(PER_USER - 1):
        assert _sign_in(client, "alice", "guess").status_code == 401
    assert _sign_in(client, "alice", "alice-demo").status_code == 200
    for _ in range(PER_USER):
        assert _sign_in(client, "alice", "guess").status_code == 401  # counted afresh
    assert _sign_in(client, "alice", "guess").status_code == 429


def test_an_address_is_locked_after_failures_across_many_names(make_client: AppFactory) -> None:
    client, _ = _client_with_clock(make_client)
    for n in range(PER_IP):
        assert _sign_in(client, f"name-{n}", "guess").status_code == 401
    r = _sign_in(client, "carol", "carol-demo")  # a name never tried, with its right password
    assert r.status_code == 429
    assert r.headers["retry-after"] == str(LOCKOUT)


def test_successful_sign_ins_never_lock_an_address(make_client: AppFactory) -> None:
    client, _ = _client_with_clock(make_client)
    for _ in range(PER_IP * 2):
        assert _sign_in(client, "alice", "alice-demo").status_code == 200
    for n in range(PER_IP - 1):
        assert _sign_in(client, f"name-{n}", "guess").status_code == 401
    assert _sign_in(client, "bob", "bob-demo").status_code == 200


def test_the_lock_holds_across_server_processes(make_client: AppFactory) -> None:
    first, second = make_client(), make_client()  # two apps on one database, as two workers would be
    for _ in range(PER_USER):
        assert _sign_in(first, "alice", "guess").status_code == 401
    r = _sign_in(second, "alice", "alice-demo")
    assert r.status_code == 429
    assert 0 < int(r.headers["retry-after"]) <= LOCKOUT


def test_the_session_token_is_not_cached(make_client: AppFactory) -> None:
    r = _sign_in(make_client(), "alice", "alice-demo")
    assert r.headers["cache-control"] == "no-store"


async def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit(settings: Settings) -> None:
    await asyncio.to_thread(upgrade, settings)
    engine = make_engine(settings.database)
    try:
        throttle = LoginThrottle.from_settings(make_sessionmaker(engine), settings)
        waits = await asyncio.gather(*(throttle.admit("alice", f"10.0.0.{n}") for n in range(12)))
    finally:
        await engine.dispose()
    assert waits.count(None) == PER_USER  # the others are refused before any password is checked
