"""The finagent web server: chat and approvals APIs, the widget and the console.

Run it with `finagent serve` or `python server.py`; `make run` starts it with the embedded vLLM.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError
from sqlalchemy import text
from starlette.exceptions import HTTPException

from app.advisory_api import router as advisory_router
from app.api import queue
from app.api.middleware import BodyLimit, security_headers
from app.api.routes import router
from app.approvals import resume_unfinished
from app.conversations import InputError, NotFound
from app.observability import learn_names, refresh_queue_gauges, request_id, request_id_var
from app.queue_sweep import sweep_forever
from app.runtime import open_runtime
from finagent.auth import session_secret
from finagent.login_throttle import LoginThrottle
from finagent.metrics import HTTP_LATENCY, STREAM_BACKLOG
from finagent.settings import Settings, get_settings
from finagent.streams import RedisTransactionStream
from finagent.telemetry import configure_tracing
from finagent.work_queue import ItemNotFound, QueueConflict, QueueForbidden

WEB = Path(__file__).resolve().parent / "web"
MAX_BODY_BYTES = 64 * 1024
log = logging.getLogger("finagent.server")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def refresh_stream_backlog(app: FastAPI, settings: Settings) -> None:
    """Read the monitoring stream's lag and counters for this scrape (only when REDIS_URL is set)."""
    if not settings.redis_url:
        return
    if getattr(app.state, "transaction_stream", None) is None:
        app.state.transaction_stream = RedisTransactionStream.from_url(
            settings.redis_url, settings.monitor_stream, settings.monitor_group
        )
    try:
        STREAM_BACKLOG.backlog = await asyncio.wait_for(app.state.transaction_stream.backlog(), timeout=1.0)
        STREAM_BACKLOG.up = True
    except (TimeoutError, RedisError) as exc:
        log.warning("monitoring stream unreadable for /metrics: %s", exc)
        STREAM_BACKLOG.up = False


def create_app(settings: Settings | None = None, **runtime_overrides: Any) -> FastAPI:
    """Build the app; tests pass a scripted model through runtime_overrides (llm=...)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.auth_secret = await asyncio.to_thread(session_secret, settings)
        tracing = configure_tracing(settings)  # None unless OTLP_ENDPOINT is set
        try:
            async with open_runtime(settings, **runtime_overrides) as rt:
                app.state.runtime = rt
                app.state.login_throttle = LoginThrottle.from_settings(rt.sessions, settings)
                await learn_names(rt.sessions)  # customers' and payees' names never reach the logs
                resumed = await resume_unfinished(rt)
                if resumed:
                    log.warning("resumed %d approved actions left unfinished by a previous process", resumed)
                sweeper = (
                    asyncio.create_task(sweep_forever(rt, settings.queue_sweep_interval_s))
                    if settings.queue_sweep_interval_s > 0
                    else None
                )
                try:
                    yield
                finally:
                    if sweeper is not None:
                        sweeper.cancel()
                        await asyncio.gather(sweeper, return_exceptions=True)
        finally:
            if tracing is not None:
                tracing.shutdown()  # flush the spans still in the batch
            if getattr(app.state, "transaction_stream", None) is not None:
                await app.state.transaction_stream.close()

    app = FastAPI(title="finagent", version="0.1.0", lifespan=lifespan)
    app.include_router(router)
    app.include_router(queue.router)
    app.include_router(advisory_router)
    # Innermost, so that a 413 still passes through CORS and gets the security headers.
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    if settings.widget_allowed_origins:  # bank pages on other origins that embed the widget
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.widget_allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @app.middleware("http")
    async def headers_and_metrics(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        rid = request_id(request.headers.get("x-request-id"))
        token = request_id_var.set(rid)  # in every log line of this request, and of the turn it starts
        try:
            response = await call_next(request)
        finally:
            request_id_var.reset(token)
        response.headers.update(security_headers(request.url.path, settings.widget_allowed_origins))
        response.headers["X-Request-ID"] = rid
        route = request.scope.get("route")
        HTTP_LATENCY.labels(
            request.method, getattr(route, "path", "unmatched"), response.status_code
        ).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(HTTPException)  # Starlette's: also unknown paths, methods and undecodable bodies
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's only 400: a body that is not UTF-8 text
            return _error(400, "malformed_json", "the request body is not valid JSON")
        codes = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            422: "invalid_request",
            429: "too_many_attempts",
        }
        response = _error(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail))
        response.headers.update(exc.headers or {})  # Retry-After on a 429
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return _error(400, "malformed_json", "the request body is not valid JSON")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(InputError)
    async def bad_input(_: Request, exc: InputError) -> JSONResponse:
        return _error(422, "invalid_input", str(exc))

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(QueueConflict)
    async def conflict(_: Request, exc: QueueConflict) -> JSONResponse:
        return _error(409, "conflict", str(exc))

    @app.exception_handler(QueueForbidden)
    async def forbidden(_: Request, exc: QueueForbidden) -> JSONResponse:
        return _error(403, "forbidden", str(exc))

    @app.exception_handler(ItemNotFound)
    async def no_item(_: Request, exc: ItemNotFound) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.get("/health")
    async def health(request: Request) -> dict[str, str]:
        rt = request.app.state.runtime
        async with rt.sessions() as session:
            await session.execute(text("SELECT 1"))
        probe = getattr(rt.deps.llm, "health", None)
        llm_ok = await probe() if probe else True
        opens = getattr(rt.deps.retriever, "available", None)
        kb_ok = await asyncio.to_thread(opens) if opens else True
        return {
            "status": "ok",
            "db": "ok",
            "llm": "ok" if llm_ok else "down",
            "kb": "ok" if kb_ok else "down",
        }

    @app.get("/api/config")
    async def public_config() -> dict[str, int]:
        """What the widget needs to agree with the server, e.g. the message length limit."""
        return {"max_message_chars": settings.max_message_chars}

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        await refresh_queue_gauges(request.app.state.runtime.sessions)
        await refresh_stream_backlog(app, settings)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/widget/")

    for name in ("widget", "console"):
        folder = WEB / name
        folder.mkdir(parents=True, exist_ok=True)
        app.mount(f"/{name}", StaticFiles(directory=folder, html=True), name=name)
    return app


def __getattr__(name: str) -> Any:  # `uvicorn server:app` builds the app on first use, not at import
    if name == "app":
        return create_app()
    raise AttributeError(name)


if __name__ == "__main__":
    import uvicorn

    from app.observability import logging_config

    s = get_settings()
    uvicorn.run(create_app(s), host=s.host, port=s.port, log_config=logging_config(s))
