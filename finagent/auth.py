"""Passwords and signed session tokens. Identity comes from here, never from message text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Literal

Role = Literal["customer", "officer"]


class AuthError(Exception):
    """A missing, forged or expired credential."""


@dataclass(frozen=True)
class Principal:
    subject: str  # customer id or officer id
    role: Role
    display_name: str


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest_hex)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def issue_token(principal: Principal, secret: str, ttl_s: int) -> str:
    claims = {
        "sub": principal.subject,
        "role": principal.role,
        "name": principal.display_name,
        "exp": int(time.time()) + ttl_s,
    }
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def read_token(token: str, secret: str) -> Principal:
    try:
        body, sig = token.split(".")
    except ValueError as exc:
        raise AuthError("malformed token") from exc
    expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(sig, expected):
        raise AuthError("bad signature")
    try:
        claims = json.loads(_unb64(body))
    except ValueError as exc:
        raise AuthError("malformed token") from exc
    if int(claims.get("exp", 0)) < time.time():
        raise AuthError("token expired")
    if claims.get("role") not in ("customer", "officer"):
        raise AuthError("unknown role")
    return Principal(
        subject=str(claims["sub"]), role=claims["role"], display_name=str(claims.get("name", ""))
    )
