"""Authentication and authorisation: logins, bearer tokens, roles.

Tokens are self-contained and signed (HMAC-SHA256): ``v1.<payload>.<signature>``,
with the user id, username, role, agent id and expiry inside, so checking one costs
no store query. The signing key is made at start-up; tokens therefore do not outlive
the server process (clients log in again after a restart). Passwords are checked
with the store's KDF (:mod:`callcenter.passwords`, scrypt).

Roles (PROTOCOL.md "Auth"): ``agent``, ``supervisor``, ``admin``, ``integration``.
``admin`` may do everything a supervisor may.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.errors import CallCenterError, Forbidden, Unauthorized
from callcenter.passwords import hash_password, verify_password
from callcenter.store.models import AuditEntry, User

ROLES = ("agent", "supervisor", "admin", "integration")
_PREFIX = "v1"


class InvalidCredentials(CallCenterError):
    code = "auth.invalid_credentials"
    status = 401


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a logged-in user with one role."""

    user_id: int
    username: str
    role: str
    agent_id: str | None
    expires_at: float

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"{self.role}:{self.username}"


@dataclass(frozen=True, slots=True)
class Login:
    token: str
    principal: Principal


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and checks signed bearer tokens."""

    def __init__(self, ttl_s: float, key: bytes | None = None) -> None:
        self.ttl_s = ttl_s
        self._key = key or secrets.token_bytes(32)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, user_id: int, username: str, role: str, agent_id: str | None,
              now: float | None = None) -> Login:
        expires_at = (time.time() if now is None else now) + self.ttl_s
        principal = Principal(user_id, username, role, agent_id, expires_at)
        payload = _b64(orjson.dumps({"u": user_id, "n": username, "r": role, "a": agent_id,
                                     "e": expires_at}))
        return Login(f"{_PREFIX}.{payload}.{self._sign(payload)}", principal)

    def verify(self, token: str, now: float | None = None) -> Principal:
        """The principal of a valid token; ``auth.invalid_token`` / ``auth.token_expired``."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _PREFIX or len(token) > 2000:
            raise Unauthorized("malformed token", code="auth.invalid_token")
        _, payload, signature = parts
        if not hmac.compare_digest(self._sign(payload), signature):
            raise Unauthorized("invalid token", code="auth.invalid_token")
        try:
            data: dict[str, Any] = orjson.loads(_unb64(payload))
            principal = Principal(int(data["u"]), str(data["n"]), str(data["r"]),
                                  data["a"], float(data["e"]))
        except (ValueError, KeyError, TypeError):
            raise Unauthorized("invalid token", code="auth.invalid_token") from None
        if principal.expires_at <= (time.time() if now is None else now):
            raise Unauthorized("token expired, log in again", code="auth.token_expired")
        return principal


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer ...`` header; ``auth.required`` if none."""
    if not header:
        raise Unauthorized("authentication required (Authorization: Bearer <token>)",
                           code="auth.required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected 'Authorization: Bearer <token>'", code="auth.required")
    return token.strip()


def require_role(principal: Principal, roles: frozenset[str]) -> None:
    """``auth.forbidden`` unless the principal has one of ``roles`` (admin counts as
    supervisor)."""
    if principal.role in roles:
        return
    if principal.role == "admin" and "supervisor" in roles:
        return
    raise Forbidden(f"role {principal.role!r} may not do this")


class Authenticator:
    """Checks passwords against the users table and hands out tokens."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], signer: TokenSigner) -> None:
        self.sessionmaker = sessionmaker
        self.signer = signer

    async def login(self, username: str, password: str) -> Login:
        async with self.sessionmaker() as session:
            user = await session.scalar(select(User).where(User.username == username))
        # Verify against a dummy hash for unknown users too, so timing does not tell.
        stored = user.password_hash if user is not None and user.active else _dummy_hash()
        ok = await verify_password_async(password, stored)
        if user is None or not user.active or not ok:
            raise InvalidCredentials("wrong username or password")
        return self.signer.issue(user.id, user.username, user.role, user.agent_id)

    def authenticate(self, header: str | None) -> Principal:
        return self.signer.verify(bearer_token(header))


async def verify_password_async(password: str, stored: str) -> bool:
    """The KDF is deliberately slow; run it off the event loop."""
    return await asyncio.to_thread(_verify, password, stored)


def _verify(password: str, stored: str) -> bool:
    try:
        return bool(verify_password(password, stored))
    except (ValueError, TypeError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))


async def audit(session: AsyncSession, principal: Principal | None, action: str,
                target: str | None, details: dict[str, Any] | None = None) -> None:
    """Add an audit-log row in the caller's transaction."""
    session.add(AuditEntry(actor=principal.actor if principal else "system", action=action,
                           target=target, details=details or {}))
