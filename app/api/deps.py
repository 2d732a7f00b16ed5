"""Annotated dependencies so routes stay a few lines long."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request

from app.runtime import AppRuntime
from finagent.auth import AuthError, Principal, read_token
from finagent.login_throttle import LoginThrottle


def get_runtime(request: Request) -> AppRuntime:
    rt: AppRuntime = request.app.state.runtime
    return rt


def get_auth_secret(request: Request) -> str:
    """The token signing key, resolved once at start (AUTH_SECRET or the installation's own)."""
    secret: str = request.app.state.auth_secret
    return secret


def get_login_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def client_address(request: Request) -> str:
    """The caller's address as the server saw it (behind a proxy, uvicorn's FORWARDED_ALLOW_IPS decides
    whether X-Forwarded-For is believed)."""
    return request.client.host if request.client else "unknown"


RuntimeDep = Annotated[AppRuntime, Depends(get_runtime)]
AuthSecretDep = Annotated[str, Depends(get_auth_secret)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
ClientAddressDep = Annotated[str, Depends(client_address)]


def current_principal(
    secret: AuthSecretDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "sign in first: missing bearer token")
    try:
        return read_token(authorization[7:].strip(), secret)
    except AuthError as exc:
        raise HTTPException(401, f"invalid session: {exc}") from exc


def current_customer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.role != "customer":
        raise HTTPException(403, "customers only")
    return principal


def current_officer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.role != "officer":
        raise HTTPException(403, "compliance officers only")
    return principal


CustomerDep = Annotated[Principal, Depends(current_customer)]
OfficerDep = Annotated[Principal, Depends(current_officer)]


# Row ids are 32-bit in PostgreSQL (SERIAL) and SQLite refuses integers past 64 bits: a larger id in a
# path is a 422, not a database error.
MAX_ROW_ID = 2**31 - 1
ItemId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="an approval item's id")]
