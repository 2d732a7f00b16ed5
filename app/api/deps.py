"""Annotated dependencies so routes stay a few lines long."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from app.runtime import AppRuntime
from finagent.auth import AuthError, Principal, read_token


def get_runtime(request: Request) -> AppRuntime:
    rt: AppRuntime = request.app.state.runtime
    return rt


def get_auth_secret(request: Request) -> str:
    """The token signing key, resolved once at start (AUTH_SECRET or the installation's own)."""
    secret: str = request.app.state.auth_secret
    return secret


RuntimeDep = Annotated[AppRuntime, Depends(get_runtime)]
AuthSecretDep = Annotated[str, Depends(get_auth_secret)]


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
