"""Passwords and signed session tokens. Identity comes from here, never from message text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from finagent.settings import Settings

Role = Literal[
    "customer",
    "compliance_officer",
    "supervisor",
    "auditor",
    "underwriter",
    "aml_analyst",
    "service_agent",
]
ROLES: frozenset[str] = frozenset(get_args(Role))
STAFF_ROLES: frozenset[str] = ROLES - {"customer"}
SECRET_FILE = "auth_secret"  # noqa: S105 - a file name under DATA_DIR, used when AUTH_SECRET is unset
log = logging.getLogger(__name__)


class AuthError(Exception):
    """A missing, forged or expired credential."""


@dataclass(frozen=True)
class Principal:
    subject: str  # customer id or staff id
    role: Role
    display_name: str
    token_id: str = ""  # the session token's id (jti): what sign-out revokes

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 20 ms here. A stored hash
# made with other parameters is re-made with these at the next successful sign-in (check_needs_rehash).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Checked when a user name is unknown or its hash unreadable, so that signing in as a name that does not
# exist costs the same one argon2 hash as a wrong password: the timing does not tell which names exist.
_NO_SUCH_USER = _HASHER.hash(secrets.token_urlsafe(16))


def _argon2_verify(password: str, stored: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _derive(password: str, salt: bytes) -> bytes:
    """The legacy scrypt derivation: read only, to upgrade hashes made before argon2."""
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _parse_scrypt(stored: str) -> tuple[bytes, bytes] | None:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
        if scheme == "scrypt":
            return bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
    except ValueError:
        pass
    return None


def check_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches the `stored` hash; None means no such user (always False).

    Computes exactly one password hash in every case (argon2id, or scrypt for a legacy hash), unknown
    user and unreadable hash included. CPU-bound (tens of milliseconds): call it off the event loop.
    """
    legacy = _parse_scrypt(stored) if stored else None
    if legacy is not None:
        salt, digest = legacy
        return hmac.compare_digest(_derive(password, salt), digest)
    argon2_hash = stored if stored and stored.startswith("$argon2") else None
    matches = _argon2_verify(password, argon2_hash or _NO_SUCH_USER)
    return argon2_hash is not None and matches


def needs_rehash(stored: str) -> bool:
    """A hash to re-make at a successful sign-in: legacy scrypt, or argon2 with older parameters."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def session_secret(settings: Settings) -> str:
    """The key that signs session tokens: AUTH_SECRET, else this installation's own random secret.

    Settings refuses to start production without AUTH_SECRET (every server process must share it) and
    refuses the value once published in the source; a development install gets a secret no one else has.
    """
    if settings.auth_secret is not None and settings.auth_secret.get_secret_value():
        return settings.auth_secret.get_secret_value()
    return read_or_create_secret(settings.data_dir / SECRET_FILE)


def read_or_create_secret(path: Path) -> str:
    """A random secret kept in `path`, readable by its owner only; made on first use, then reused.

    Written to a private temporary file and linked into place, so a second process starting at the
    same moment either wins the link or reads the complete secret, never an empty file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(tmp)
    if path.stat().st_mode & 0o077:
        log.warning("%s was readable by others; tightened to 0600 (rotate it if it may have leaked)", path)
        os.chmod(path, 0o600)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise AuthError(f"{path} holds no usable secret; delete it and a new one will be made")
    return secret


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
        "jti": principal.token_id or secrets.token_urlsafe(16),
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
    if claims.get("role") not in ROLES:  # e.g. "officer" from before the staff roles: sign in again
        raise AuthError("unknown role")
    if not claims.get("jti"):
        raise AuthError("token has no id; sign in again")
    return Principal(
        subject=str(claims["sub"]),
        role=claims["role"],
        display_name=str(claims.get("name", "")),
        token_id=str(claims["jti"]),
    )


def token_expiry(token: str) -> int:
    """The `exp` claim of a token already read by read_token (kept with its revocation)."""
    return int(json.loads(_unb64(token.split(".")[0])).get("exp", 0))
