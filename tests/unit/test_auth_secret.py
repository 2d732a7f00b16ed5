"""Session tokens are signed with a secret no one else knows: never the value published in the source."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from finagent.auth import SECRET_FILE, Principal, issue_token, session_secret
from finagent.settings import DEV_AUTH_SECRET, Settings
from tests.unit.conftest import AppFactory, login

OFFICER = Principal(subject="officer-ana", role="compliance_officer", display_name="Ana Weiss (Compliance)")


def test_a_token_signed_with_the_published_secret_is_refused_by_a_default_install(
    make_client: AppFactory,
) -> None:
    client = make_client()
    forged = issue_token(OFFICER, DEV_AUTH_SECRET, ttl_s=3600)
    r = client.get("/api/approvals", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert client.get("/api/approvals", headers=login(client, "ana")).status_code == 200


def test_the_installation_secret_is_private_and_survives_a_restart(
    make_client: AppFactory, settings: Settings
) -> None:
    headers = login(make_client(), "ana")
    path = settings.data_dir / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert make_client().get("/api/approvals", headers=headers).status_code == 200  # a new process
    assert session_secret(settings) == path.read_text().strip()


def test_two_installations_get_different_secrets(tmp_path: Path) -> None:
    first = session_secret(Settings(data_dir=tmp_path / "a", environment="development"))
    second = session_secret(Settings(data_dir=tmp_path / "b", environment="development"))
    assert first != second
    assert len(first) >= 32 and DEV_AUTH_SECRET not in (first, second)


def test_a_secret_file_others_can_read_is_tightened(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, environment="development")
    secret = session_secret(settings)
    (tmp_path / SECRET_FILE).chmod(0o644)
    assert session_secret(settings) == secret
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


def test_a_configured_secret_is_used_as_is(tmp_path: Path) -> None:
    configured = "x" * 40
    assert session_secret(Settings(data_dir=tmp_path, auth_secret=configured)) == configured  # type: ignore[arg-type]
    assert not (tmp_path / SECRET_FILE).exists()


@pytest.mark.parametrize("environment", ["development", "production"])
def test_the_published_secret_is_refused_outside_tests(environment: str) -> None:
    with pytest.raises(ValidationError, match="published in finagent's source"):
        Settings(
            environment=environment,  # type: ignore[arg-type]
            auth_secret=DEV_AUTH_SECRET,  # type: ignore[arg-type]
            llm_base_url="http://vllm.internal/v1",
            seed_demo_data=False,
        )
    assert Settings(environment="test", auth_secret=DEV_AUTH_SECRET).auth_secret is not None  # type: ignore[arg-type]


def test_production_refuses_to_start_without_a_configured_secret() -> None:
    production = {
        "environment": "production",
        "llm_base_url": "http://vllm.internal/v1",
        "seed_demo_data": False,
    }
    with pytest.raises(ValidationError, match="AUTH_SECRET must be set in production"):
        Settings(**production)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(**production, auth_secret="short")  # type: ignore[arg-type]
    assert Settings(**production, auth_secret="r" * 32).auth_secret is not None  # type: ignore[arg-type]
