"""Staff roles and sessions: every demo user signs in with its role, passwords are argon2 (a legacy hash
is upgraded at the next sign-in), and sign-out revokes the token in every server process."""

from __future__ import annotations

from sqlalchemy import select, update

from finagent import auth
from finagent.models import User
from tests.unit.conftest import AppFactory, login

ROLES = {
    "alice": "customer",
    "bob": "customer",
    "carol": "customer",
    "ana": "compliance_officer",
    "ben": "compliance_officer",
    "sara": "supervisor",
    "otto": "auditor",
    "uma": "underwriter",
    "kai": "aml_analyst",
    "sven": "service_agent",
}


def test_every_demo_user_signs_in_with_its_role(make_client: AppFactory) -> None:
    client = make_client()
    for username, role in ROLES.items():
        r = client.post("/api/auth/login", json={"username": username, "password": f"{username}-demo"})
        assert r.status_code == 200 and r.json()["role"] == role, username

    async def hashes() -> list[str]:
        async with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            return list((await session.scalars(select(User.password_hash))).all())

    assert all(h.startswith("$argon2id$") for h in client.portal.call(hashes))  # type: ignore[union-attr]


def test_a_legacy_scrypt_hash_is_upgraded_at_sign_in(make_client: AppFactory) -> None:
    client = make_client()
    salt = bytes(range(16))
    legacy = f"scrypt${salt.hex()}${auth._derive('ana-demo', salt).hex()}"

    async def set_hash(value: str) -> None:
        async with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            await session.execute(update(User).where(User.username == "ana").values(password_hash=value))
            await session.commit()

    async def stored() -> str:
        async with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            return str(await session.scalar(select(User.password_hash).where(User.username == "ana")))

    client.portal.call(set_hash, legacy)  # type: ignore[union-attr]
    wrong = client.post("/api/auth/login", json={"username": "ana", "password": "nope"})
    assert wrong.status_code == 401 and client.portal.call(stored) == legacy  # type: ignore[union-attr]
    login(client, "ana")
    upgraded = client.portal.call(stored)  # type: ignore[union-attr]
    assert upgraded.startswith("$argon2id$") and auth.check_password("ana-demo", upgraded)
    login(client, "ana")  # and the upgraded hash keeps working


def test_sign_out_revokes_the_token_in_every_server_process(make_client: AppFactory) -> None:
    first, second = make_client(), make_client()  # two processes sharing one database
    ana = login(first, "ana")
    assert second.get("/api/approvals", headers=ana).status_code == 200
    assert first.post("/api/auth/logout", headers=ana).status_code == 204
    for client in (first, second):
        r = client.get("/api/approvals", headers=ana)
        assert r.status_code == 401 and "signed out" in r.json()["error"]["message"]
    assert first.post("/api/auth/logout", headers=ana).status_code == 401
    assert second.get("/api/approvals", headers=login(second, "ana")).status_code == 200  # a new session


def test_a_token_of_a_role_that_no_longer_exists_is_refused(make_client: AppFactory) -> None:
    client = make_client()
    secret = client.app.state.auth_secret  # type: ignore[attr-defined]
    body = auth._b64(b'{"sub":"officer-ana","role":"officer","name":"Ana","exp":9999999999,"jti":"x"}')
    sig = auth._b64(auth.hmac.new(secret.encode(), body.encode(), auth.hashlib.sha256).digest())
    r = client.get("/api/approvals", headers={"Authorization": f"Bearer {body}.{sig}"})
    assert r.status_code == 401 and "unknown role" in r.json()["error"]["message"]
