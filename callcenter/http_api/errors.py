"""The HTTP error boundary: every failure becomes PROTOCOL.md's error body.

Domain errors (:class:`~callcenter.errors.CallCenterError`, routing errors) keep
their stable ``code``; aiohttp's own HTTP exceptions (unknown route, wrong method,
body too large) get codes of their own; anything unexpected is logged and answered
with a bare ``internal.error`` (500) that leaks nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from callcenter.errors import CallCenterError
from callcenter.logs import get_logger
from routing.errors import RoutingError

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    400: "request.bad_request",
    401: "auth.unauthorized",
    403: "auth.forbidden",
    404: "route.not_found",
    405: "request.method_not_allowed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
}

# Routing errors map to HTTP statuses by their code.
_ROUTING_STATUS = {
    "contact.not_found": 404,
    "agent.not_found": 404,
    "queue.not_found": 404,
    "contact.invalid_transition": 409,
    "agent.invalid_transition": 409,
    "contact.duplicate": 409,
    "routing.invalid_event": 422,
}


def error_response(status: int, code: str, message: str,
                   fields: list[dict[str, str]] | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    """A JSON error response ``{"error": {"code", "message", "fields"?}}``."""
    body: dict[str, object] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return web.Response(status=status, body=msgspec.json.encode({"error": body}),
                        content_type="application/json", headers=headers)


def from_exception(exc: BaseException) -> web.Response | None:
    """The error response for a known exception, or None for an unexpected one."""
    if isinstance(exc, CallCenterError):
        body = exc.to_dict()
        status = exc.status if 400 <= exc.status <= 599 else 500
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, exc.code, exc.message,
                              body.get("fields"), headers)  # type: ignore[arg-type]
    if isinstance(exc, RoutingError):
        return error_response(_ROUTING_STATUS.get(exc.code, 409), exc.code, exc.message)
    return None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every exception of a handler into an error body with a stable code."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, f"http.{exc.status}")
        message = exc.reason or "error"
        if exc.status == 413:
            message = "request body too large"
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return error_response(exc.status, code, message, headers=headers or None)
    except Exception as exc:
        response = from_exception(exc)
        if response is not None:
            return response
        log.exception("http.unhandled_error", path=request.path, method=request.method)
        return error_response(500, "internal.error", "internal error")
