"""``POST /api/v1/auth/login``: username and password for a bearer token."""

from __future__ import annotations

from aiohttp import web

from callcenter.http_api.operations import Api, Call, Response, json_response
from callcenter.schemas import ErrorBody, LoginRequest, LoginResponse
from callcenter.store.timestamps import iso_utc
from callcenter.writeback import utc

api = Api()


@api.operation(
    "POST", "/api/v1/auth/login", summary="Log in: a bearer token for HTTP and websockets",
    tag="auth", roles=None, body=LoginRequest,
    responses=[Response(200, LoginResponse, "logged in"),
               Response(400, ErrorBody, "malformed JSON"),
               Response(401, ErrorBody, "wrong username or password"),
               Response(413, ErrorBody, "body too large"),
               Response(422, ErrorBody, "invalid fields")],
)
async def login(call: Call) -> web.StreamResponse:
    body: LoginRequest = call.body
    result = await call.services.auth.login(body.username, body.password)
    p = result.principal
    return json_response(LoginResponse(token=result.token, role=p.role,  # type: ignore[arg-type]
                                       expires_at=iso_utc(utc(p.expires_at)) or "",
                                       agent_id=p.agent_id))
