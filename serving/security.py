"""API keys: hashed storage, constant-time checks, roles; the pages' signed session login."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from fastapi.security import APIKeyHeader

from serving.settings import ApiKey, Role

HEADER = "X-API-Key"
SESSION_KEY = "principal"
api_key_header = APIKeyHeader(name=HEADER, auto_error=False, description="an API key")

READ = frozenset({Role.scorer, Role.viewer, Role.admin})
SCORE = frozenset({Role.scorer, Role.admin})
PAGES = frozenset({Role.viewer, Role.admin})
ADMIN = frozenset({Role.admin})
CONTACTS = frozenset({Role.collector, Role.admin})
WORKLIST = READ | {Role.collector}


def hash_key(key: str) -> str:
    """The hex SHA-256 of a key, as stored in the settings."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role


ANONYMOUS_ADMIN = Principal("development", Role.admin)


class KeyRing:
    """Finds the key matching a presented secret; every stored hash is compared in constant time."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = [(k, bytes.fromhex(k.sha256)) for k in keys]

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def identify(self, presented: str | None) -> Principal | None:
        if not presented:
            return None
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for key, stored in self.keys:  # no early exit: timing does not reveal which key matched
            if hmac.compare_digest(digest, stored):
                found = key
        return Principal(found.name, found.role) if found else None


def authorize(principal: Principal | None, allowed: frozenset[Role]) -> Principal:
    """401 without a valid key, 403 when its role may not do this."""
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"missing or invalid API key (send it in the {HEADER} header)",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    if principal.role not in allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role '{principal.role}' may not do this")
    return principal


def principal_of(request: Request, presented: str | None) -> Principal | None:
    ring: KeyRing = request.app.state.keyring
    if not ring.enabled:
        return ANONYMOUS_ADMIN
    return ring.identify(presented)


def session_principal(request: Request) -> Principal | None:
    """The viewer logged in to the pages, from the signed session cookie."""
    ring: KeyRing = request.app.state.keyring
    if not ring.enabled:
        return ANONYMOUS_ADMIN
    found = request.session.get(SESSION_KEY)
    if not isinstance(found, dict):
        return None
    names = {k.name: k.role for k, _ in ring.keys}
    role = names.get(str(found.get("name")))
    if role is None or role.value != found.get("role"):
        return None  # the key was removed or its role changed since login
    return Principal(str(found["name"]), role)


def role_dependency(allowed: frozenset[Role]) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency admitting the given roles (async: no thread-pool hop, no I/O)."""
    from fastapi import Security

    async def dependency(request: Request, key: str | None = Security(api_key_header)) -> Principal:
        return authorize(principal_of(request, key), allowed)

    return dependency
