"""Route definitions that carry their own contract.

Each HTTP operation is declared once, with its method, path, roles, request body
type, query type and response types. The same declaration registers the aiohttp
route, decodes and validates the request (msgspec), checks the caller's role and
feeds :mod:`callcenter.http_api.openapi`, so the published OpenAPI document can
never drift from what the server does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from callcenter.auth import Principal, require_role
from callcenter.errors import CallCenterError, FieldError, ValidationFailed
from callcenter.http_api.context import SERVICES, Services
from callcenter.schemas import decode_error_path

JSON = "application/json"
_PATH_PARAM = re.compile(r"\{(\w+)\}")


class InvalidJson(CallCenterError):
    code = "request.invalid_json"
    status = 400


@dataclass(slots=True)
class Call:
    """One decoded request, handed to an operation's handler."""

    request: web.Request
    services: Services
    principal: Principal | None
    body: Any
    query: Any

    def path(self, name: str) -> str:
        return self.request.match_info[name]

    @property
    def user(self) -> Principal:
        """The caller (operations with roles always have one)."""
        assert self.principal is not None
        return self.principal


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Response:
    """One documented response: status, body type (None: no body), description."""

    status: int
    type: Any
    description: str


@dataclass(slots=True)
class Operation:
    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    roles: frozenset[str] | None
    body: Any
    body_media: str
    query: Any
    path_params: dict[str, dict[str, Any]]
    responses: list[Response]
    description: str = ""

    def path_names(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)


@dataclass
class Api:
    """A set of operations; :meth:`add_to` registers them on an application."""

    operations: list[Operation] = field(default_factory=list)

    def operation(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        roles: set[str] | None,
        responses: list[Response],
        body: Any = None,
        body_media: str = JSON,
        query: Any = None,
        path_params: dict[str, dict[str, Any]] | None = None,
        description: str = "",
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            documented = list(responses)
            if not any(r.status == 400 for r in documented):
                # Any request can be refused by the HTTP parser itself.
                documented.append(Response(400, None, "malformed request"))
            self.operations.append(Operation(
                method=method.upper(), path=path, handler=handler,
                operation_id=handler.__name__, summary=summary, tag=tag,
                roles=frozenset(roles) if roles is not None else None, body=body,
                body_media=body_media, query=query, path_params=path_params or {},
                responses=documented, description=description,
            ))
            return handler
        return register

    def add_to(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, op.path, _endpoint(op))


def validation_error(exc: msgspec.ValidationError, prefix: str = "") -> ValidationFailed:
    path, message = decode_error_path(str(exc))
    if prefix:
        path = prefix if path == "$" else f"{prefix}.{path}"
    return ValidationFailed(f"{path}: {message}", fields=[FieldError(path, message)])


def decode_json(raw: bytes, kind: Any) -> Any:
    """Decode and validate a JSON body; ``request.invalid_json`` / ``request.validation``."""
    if not raw.strip():
        raise InvalidJson("request body is empty; a JSON object is expected")
    # PostgreSQL text cannot hold NUL; JSON must escape it, so this finds every one.
    if b"\\u0000" in raw:
        raise ValidationFailed("strings must not contain NUL characters",
                               fields=[FieldError("$", "NUL character in a string")])
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    except msgspec.DecodeError as exc:
        raise InvalidJson(f"malformed JSON: {exc}") from None


def decode_query(request: web.Request, kind: Any) -> Any:
    values: dict[str, str] = {}
    for key, value in request.query.items():
        if "\x00" in value or "\x00" in key:
            raise ValidationFailed("query strings must not contain NUL characters",
                                   fields=[FieldError(key, "NUL character")])
        values[key] = value
    try:
        return msgspec.convert(values, type=kind, strict=False)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None


def _endpoint(op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        principal = None
        if op.roles is not None:
            principal = services.auth.authenticate(request.headers.get("Authorization"))
            require_role(principal, op.roles)
        query = decode_query(request, op.query) if op.query is not None else None
        body = None
        if op.body is not None:
            raw = await request.read()
            body = decode_json(raw, op.body) if op.body_media == JSON else raw
        return await op.handler(Call(request, services, principal, body, query))

    endpoint.__name__ = op.operation_id
    return endpoint


def json_response(value: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    """Encode a Struct / dict / list as a JSON response."""
    return web.Response(status=status, body=msgspec.json.encode(value),
                        content_type="application/json", headers=headers)


def int_path(call: Call, name: str, code: str, what: str) -> int:
    """An integer path parameter; anything else is simply not found."""
    raw = call.path(name)
    if not raw.isdigit() or len(raw) > 18:
        from callcenter.errors import NotFound

        raise NotFound(f"{what} {raw!r} not found", code=code)
    return int(raw)
