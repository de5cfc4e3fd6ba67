"""Request guards: body size limit (413), a request id, and no stack trace ever in a response.

Errors are logged by request id, path and exception type only: never bodies, amounts or
customer data beyond the ids in the path.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Mapping

import orjson
from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.redact import loggable

log = logging.getLogger("precollect.serving")
REQUEST_ID = "x-request-id"
_PROCESS = uuid.uuid4().hex[:12]
_SEQUENCE = itertools.count(1)


def new_request_id() -> str:
    """Unique per process run and request, without a random draw (a system call) per request."""
    return f"{_PROCESS}-{next(_SEQUENCE):x}"


def too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"request body is larger than {limit:,} bytes"
    )


SECURITY_HEADERS = [
    (b"content-security-policy", b"frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
]
NO_STORE = (b"cache-control", b"no-store")
HSTS = (b"strict-transport-security", b"max-age=31536000")
STATIC = "/docs-assets"
"""Swagger UI's files: the one path that may be cached."""


def security_headers(path: str, production: bool) -> list[tuple[bytes, bytes]]:
    """Headers of every response: no framing or sniffing, no caching of answers, and HSTS in
    production (where TLS is in front)."""
    out = list(SECURITY_HEADERS)
    if not path.startswith(STATIC):
        out.append(NO_STORE)
    if production:
        out.append(HSTS)
    return out


class Guard:
    """Pure ASGI middleware around the whole app."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, production: bool = False) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        extra = security_headers(scope.get("path", ""), self.production)
        request_id = headers.get(REQUEST_ID.encode(), b"").decode("latin-1")[:64]
        request_id = request_id or new_request_id()
        limit = self.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            body = {"detail": str(too_large(limit).detail)}
            await _send_json(send, 413, body, [*extra, (REQUEST_ID.encode(), request_id.encode())])
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        async def tagged_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [
                    *message.get("headers", []),
                    *extra,
                    (REQUEST_ID.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, counted_receive, tagged_send)
        except Exception as exc:
            log.error(
                "unhandled %s on %s %s [request %s]",
                type(exc).__name__,
                scope.get("method"),
                loggable(scope.get("path", "")),
                loggable(request_id),
            )
            if not started:
                body = {"detail": "internal error", "request_id": request_id}
                await _send_json(
                    send, 500, body, [*extra, (REQUEST_ID.encode(), request_id.encode())]
                )


async def _send_json(
    send: Send, code: int, body: Mapping[str, object], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
