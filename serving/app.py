"""The FastAPI application: ``create_app(settings)``; the model is loaded in the lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.middleware.sessions import SessionMiddleware

from serving import api, pages
from serving.balance import follow_parent, worker_counts
from serving.middleware import Guard
from serving.redact import loggable
from serving.security import HEADER, READ, authorize, principal_of
from serving.service import ModelUnavailable, Service, build_service
from serving.settings import Settings

log = logging.getLogger("precollect.serving")
Builder = Callable[[Settings], Service]


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with one message per field; the offending input is not echoed back.

    A body that is not JSON at all is 400, once the caller is known: FastAPI decodes the body
    before it runs the route's key check, so the key is checked here first (401 without one).
    """
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        try:
            authorize(principal_of(request, request.headers.get(HEADER)), READ)
        except HTTPException as denied:
            return JSONResponse(
                {"detail": denied.detail}, status_code=denied.status_code, headers=denied.headers
            )
        return JSONResponse({"detail": "the body is not readable JSON"}, status_code=400)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


def _model_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503)


def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("score store error %s on %s", type(exc).__name__, loggable(request.url.path))
    return JSONResponse({"detail": "score store unavailable"}, status_code=503)


DOCS_ASSETS = "/docs-assets"


def _offline_docs(app: FastAPI) -> None:
    """``/docs`` with Swagger UI's files from the installed ``swagger-ui-bundle-v2`` package, so
    the page works without network (FastAPI's default loads them from a CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )

    app.add_api_route("/docs", docs, include_in_schema=False)


def create_app(settings: Settings | None = None, build: Builder = build_service) -> FastAPI:
    """The service app; ``build`` makes the :class:`Service` at start-up (tests may swap it)."""
    follow_parent()  # a worker of ``precollect serve --workers N`` ends with its parent
    settings = settings or Settings()
    api_settings = settings.api

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = build(settings)
        # the model, ledger history and libraries live as long as the process: out of the
        # collector's sight, a full collection no longer walks them (it cost a 10,000-invoice
        # request more than half its time)
        gc.freeze()
        worker_counts()  # one of several workers: show the others this one from the start
        app.state.service = service
        app.state.keyring = service.keyring
        service.start_polling()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="precollect",
        summary="Late-payment risk scores, reasons and the outreach worklist.",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # served below from the installed Swagger UI, not from a CDN
        redoc_url=None,
    )
    _offline_docs(app)
    handlers: dict[Any, Any] = {
        RequestValidationError: _validation_error,
        ModelUnavailable: _model_unavailable,
        SQLAlchemyError: _store_unavailable,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
    app.include_router(api.health)
    app.include_router(api.v1)
    app.include_router(pages.router)
    app.add_middleware(
        SessionMiddleware,
        secret_key=api_settings.resolved_session_secret(),
        session_cookie="precollect_session",
        max_age=api_settings.session_max_age,
        same_site="strict",
        https_only=api_settings.mode == "production",
    )
    app.add_middleware(
        Guard,
        max_body_bytes=api_settings.max_body_bytes,
        production=api_settings.mode == "production",
    )
    return app
