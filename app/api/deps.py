"""Annotated dependencies so routes stay a few lines long."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request
from sqlalchemy import select

from app.runtime import AppRuntime
from finagent.auth import AuthError, Principal, read_token
from finagent.login_throttle import LoginThrottle
from finagent.models import RevokedToken
from finagent.work_queue import can_read


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


def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "sign in first: missing bearer token")
    return authorization[7:].strip()


BearerDep = Annotated[str, Depends(bearer_token)]


async def current_principal(secret: AuthSecretDep, token: BearerDep, rt: RuntimeDep) -> Principal:
    """The signed-in person. A token revoked at sign-out is refused by every server process."""
    try:
        principal = read_token(token, secret)
    except AuthError as exc:
        raise HTTPException(401, f"invalid session: {exc}") from exc
    async with rt.sessions() as session:
        revoked = await session.scalar(
            select(RevokedToken.token_id).where(
                RevokedToken.token_id == principal.token_id, RevokedToken.expires_at >= time.time() - 60
            )
        )
    if revoked is not None:
        raise HTTPException(401, "invalid session: signed out")
    return principal


def current_customer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.role != "customer":
        raise HTTPException(403, "customers only")
    return principal


def current_staff(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_staff:
        raise HTTPException(403, "staff only")
    return principal


def approvals_reader(principal: Annotated[Principal, Depends(current_staff)]) -> Principal:
    """Reads the approvals queue: compliance officers, supervisors and auditors."""
    if not can_read(principal, "compliance_officer"):
        raise HTTPException(403, f"a {principal.role} cannot read the approvals queue")
    return principal


def audit_reader(principal: Annotated[Principal, Depends(current_staff)]) -> Principal:
    if principal.role not in ("compliance_officer", "supervisor", "auditor"):
        raise HTTPException(403, f"a {principal.role} cannot read the audit trail")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
CustomerDep = Annotated[Principal, Depends(current_customer)]
StaffDep = Annotated[Principal, Depends(current_staff)]
OfficerDep = Annotated[Principal, Depends(approvals_reader)]  # what may step is checked per step
AuditReaderDep = Annotated[Principal, Depends(audit_reader)]


# Row ids are 32-bit in PostgreSQL (SERIAL) and SQLite refuses integers past 64 bits: a larger id in a
# path is a 422, not a database error.
MAX_ROW_ID = 2**31 - 1
ItemId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a work item's id")]
