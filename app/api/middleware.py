"""ASGI middleware and response headers: the request body cap, counted on the bytes received, and the
framing and content policies of the console, the widget and the API."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The front-ends load nothing from elsewhere, run no inline script and call only their own server.
_PAGE_POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'"
)


def security_headers(path: str, widget_origins: list[str]) -> dict[str, str]:
    """Headers for a response to `path`.

    No site may frame the console (its Approve buttons could be clickjacked) or the API. The widget's
    pages may be framed by this server and by the bank pages in WIDGET_ALLOWED_ORIGINS only.
    """
    headers = {"X-Content-Type-Options": "nosniff"}
    if path.startswith("/widget"):
        ancestors = " ".join(["'self'", *widget_origins])
        headers["Content-Security-Policy"] = f"{_PAGE_POLICY}; frame-ancestors {ancestors}"
        if not widget_origins:  # X-Frame-Options cannot name other origins; CSP decides then
            headers["X-Frame-Options"] = "SAMEORIGIN"
    elif path.startswith("/console"):
        headers["Content-Security-Policy"] = f"{_PAGE_POLICY}; frame-ancestors 'none'"
        headers["X-Frame-Options"] = "DENY"
    else:  # the API, /docs, /health: only the framing rule, so /docs keeps its own scripts
        headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        headers["X-Frame-Options"] = "DENY"
    return headers


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class BodyLimit:
    """Refuses a request whose body is over `max_bytes` with 413 before any route runs.

    A declared Content-Length over the cap is refused at once. Otherwise the body is read here, counting
    the bytes as they arrive (a chunked body declares no length), up to the cap, and handed to the app
    only when it is complete. The API takes small JSON bodies, so holding one in memory costs at most
    `max_bytes`.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body: nothing to run
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._too_large(send)
                return
            more = message.get("more_body", False)

        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # later calls wait for the disconnect, as the server's would
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        payload = error_body("too_large", f"request body over {self.max_bytes} bytes")
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),  # the rest of the body is never read
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
