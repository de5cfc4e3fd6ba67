"""API keys: hashed storage, constant-time checks, roles; the pages' signed session login."""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import OrderedDict, deque
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
    """The hex SHA-256 of a key (the unpeppered digest, development mode only)."""
    return hashlib.sha256(key.encode()).hexdigest()


def pepper_digest(sha256_hex: str, pepper: str) -> str:
    """HMAC-SHA256 under the server's pepper of a key's SHA-256 digest: what ``hmac_sha256``
    stores. Keyed on the digest, not the key, so a stored ``sha256`` entry is converted without
    anyone knowing its key (``precollect pepper-keys``)."""
    return hmac.new(pepper.encode(), bytes.fromhex(sha256_hex), hashlib.sha256).hexdigest()


def peppered_key(key: str, pepper: str) -> str:
    """The ``hmac_sha256`` entry of ``key``."""
    return pepper_digest(hash_key(key), pepper)


def peppered_entry(entry: ApiKey, pepper: str) -> ApiKey:
    """``entry`` with its digest under ``pepper`` (already peppered entries unchanged)."""
    if entry.hmac_sha256:
        return entry
    return ApiKey(name=entry.name, role=entry.role, hmac_sha256=pepper_digest(entry.digest, pepper))


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role


ANONYMOUS_ADMIN = Principal("development", Role.admin)
DEFAULT_FAILED_KEYS = 20
MIN_KEY_LENGTH = 24
"""A shorter secret is never a valid key, whatever digest is configured for it."""


def new_key() -> str:
    """A fresh random API key: 32 random bytes, URL-safe (43 characters)."""
    import secrets

    return secrets.token_urlsafe(32)


class Throttled(Exception):
    """Too many failed key attempts from one client: refused for ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class FailedAttempts:
    """Failed key attempts per client over a sliding window; past ``limit`` the client is
    refused, whatever it presents, until its oldest failure leaves the window. Per worker
    process (with N workers a client gets up to N x ``limit``); at most ``clients`` clients are
    remembered, the least recent forgotten first."""

    def __init__(self, limit: int, window: float = 60.0, clients: int = 10_000) -> None:
        self.limit, self.window, self.clients = limit, window, clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str, now: float | None = None) -> None:
        """Raises :class:`Throttled` when ``client`` has used up its failures."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._failures.get(client)
            if failures is None:
                return
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) >= self.limit:
                raise Throttled(max(1, math.ceil(failures[0] + self.window - now)))

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._failures.setdefault(client, deque()).append(now)
            self._failures.move_to_end(client)
            while len(self._failures) > self.clients:
                self._failures.popitem(last=False)


class KeyRing:
    """Finds the key matching a presented secret; every stored hash is compared in constant time.
    A client presenting wrong keys too often is throttled (:class:`FailedAttempts`)."""

    def __init__(
        self, keys: list[ApiKey], attempts: FailedAttempts | None = None, pepper: str = ""
    ) -> None:
        # with a pepper, every key is compared by its HMAC (plain entries peppered here)
        self.pepper = pepper
        if pepper:
            keys = [peppered_entry(k, pepper) for k in keys]
        self.keys = [(k, bytes.fromhex(k.digest)) for k in keys]
        self.attempts = attempts or FailedAttempts(DEFAULT_FAILED_KEYS)

    def _digest(self, presented: str) -> bytes:
        digest = hash_key(presented)
        return bytes.fromhex(pepper_digest(digest, self.pepper) if self.pepper else digest)

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def fingerprint(self, name: str) -> str | None:
        """A digest of the key now stored under ``name`` (``None``: no such key): a session
        opened with one key ends when the key is rotated. Derived from the stored hash, it
        reveals nothing of the key."""
        for key, _ in self.keys:
            if key.name == name:
                return hashlib.sha256(f"session|{key.digest}".encode()).hexdigest()[:16]
        return None

    def identify(self, presented: str | None, client: str = "") -> Principal | None:
        """The key's principal; ``None`` for a wrong key (counted against ``client``).

        Raises:
            Throttled: ``client`` presented too many wrong keys lately.
        """
        if not presented:
            return None
        self.attempts.check(client)
        if len(presented) < MIN_KEY_LENGTH:
            self.attempts.failed(client)
            return None
        digest = self._digest(presented)
        found = None
        for key, stored in self.keys:  # no early exit: timing does not reveal which key matched
            if hmac.compare_digest(digest, stored):
                found = key
        if found is None:
            self.attempts.failed(client)
            return None
        return Principal(found.name, found.role)


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


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def principal_of(request: Request, presented: str | None) -> Principal | None:
    """The caller's principal; 429 (with ``Retry-After``) for a client throttled for wrong keys."""
    ring: KeyRing = request.app.state.keyring
    if not ring.enabled:
        return ANONYMOUS_ADMIN
    try:
        return ring.identify(presented, client_of(request))
    except Throttled as refused:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many wrong API keys from this client; try again later",
            headers={"Retry-After": str(refused.retry_after)},
        ) from None


def open_session(request: Request, who: Principal, epoch: int) -> None:
    """Log ``who`` in to the pages: the session names the key, its fingerprint and the key's
    session epoch (see :func:`session_principal`)."""
    ring: KeyRing = request.app.state.keyring
    request.session[SESSION_KEY] = {
        "name": who.name,
        "role": who.role.value,
        "key": ring.fingerprint(who.name),
        "epoch": epoch,
    }


def session_principal(request: Request, epoch_of: Callable[[str], int | None]) -> Principal | None:
    """The viewer logged in to the pages, from the signed session cookie.

    A session ends when its key is removed, changes role or is rotated (its fingerprint
    changes), and when the key logs out anywhere (``epoch_of(name)``, the key's session epoch
    in the store, moves on past the session's). While the store is unreachable
    (``epoch_of`` gives ``None``) the epoch cannot be read, and the pages have no stored data to
    show either: the session stands until the store answers again.
    """
    ring: KeyRing = request.app.state.keyring
    if not ring.enabled:
        return ANONYMOUS_ADMIN
    found = request.session.get(SESSION_KEY)
    if not isinstance(found, dict):
        return None
    name = str(found.get("name"))
    role = {k.name: k.role for k, _ in ring.keys}.get(name)
    if role is None or role.value != found.get("role"):
        return None  # the key was removed or its role changed since login
    if found.get("key") != ring.fingerprint(name):
        return None  # the key was rotated since login
    epoch = epoch_of(name)
    if epoch is not None and found.get("epoch") != epoch:
        return None  # the key logged out since
    return Principal(name, role)


def role_dependency(allowed: frozenset[Role]) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency admitting the given roles (async: no thread-pool hop, no I/O)."""
    from fastapi import Security

    async def dependency(request: Request, key: str | None = Security(api_key_header)) -> Principal:
        return authorize(principal_of(request, key), allowed)

    return dependency
