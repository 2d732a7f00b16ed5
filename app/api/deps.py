"""Annotated dependencies so routes stay a few lines long."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from app.runtime import AppRuntime
from finagent.auth import AuthError, Principal, read_token


def get_runtime(request: Request) -> AppRuntime:
    rt: AppRuntime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[AppRuntime, Depends(get_runtime)]


def current_principal(rt: RuntimeDep, authorization: Annotated[str | None, Header()] = None) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "sign in first: missing bearer token")
    try:
        return read_token(authorization[7:].strip(), rt.settings.auth_secret.get_secret_value())
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
