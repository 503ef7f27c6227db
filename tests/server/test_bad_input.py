"""Bad input over HTTP: a clear 4xx with a stable code, never a 5xx, nothing lost."""

from __future__ import annotations

import io

from tests.server.harness import LiveServer

GOOD = {"channel": "chat", "external_id": "keep-me", "queue": "chat_sales",
        "customer": {"chat_id": "visitor-77"}, "chat": {"text": "hi"}}


async def post(server: LiveServer, data: bytes | str | io.BytesIO, path: str = "/api/v1/contacts",
               content_type: str = "application/json") -> tuple[int, dict]:
    return await server.call("POST", path, as_user="integration", data=data,
                             headers={"Content-Type": content_type})


async def test_bad_requests_get_stable_codes_and_nothing_accepted_is_lost(
    server: LiveServer,
) -> None:
    status, kept = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                     json=GOOD)
    assert status == 202
    cases = [
        (b"{\"channel\": ", 400, "request.invalid_json"),
        (b"", 400, "request.invalid_json"),
        (b"[1, 2]", 422, "request.validation"),
        (b"{\"channel\": \"fax\", \"queue\": \"chat_sales\"}", 422, "request.validation"),
        (b"{\"channel\": \"chat\", \"queue\": 7}", 422, "request.validation"),
        (b"{\"channel\": \"chat\", \"queue\": \"nope\"}", 404, "queue.not_found"),
        (b"{\"channel\": \"chat\", \"queue\": \"email_support\"}", 422,
         "contact.channel_mismatch"),
        (b"{\"channel\": \"email\", \"queue\": \"email_support\"}", 422, "request.validation"),
        (b"{\"channel\": \"chat\", \"queue\": \"chat_sales\", \"customer\": {\"phone\": \"x\"}}",
         422, "request.validation"),
        (b"{\"channel\": \"chat\", \"queue\": \"chat_sales\", \"chat\": {\"text\": \"a\\u0000\"}}",
         422, "request.validation"),
        (b"{\"channel\": \"callback\", \"queue\": \"callback\"}", 422, "request.validation"),
        (b"{\"channel\": \"callback\", \"queue\": \"callback\", \"customer\": {\"phone\": "
         b"\"+8613800000009\"}, \"callback\": {\"due_at\": \"tomorrow\"}}", 422,
         "request.validation"),
    ]
    for raw, want_status, want_code in cases:
        status, body = await post(server, raw)
        assert (status, body["error"]["code"]) == (want_status, want_code), (raw, body)
    status, body = await post(server, b"{\"channel\": \"chat\", \"queue\": 7}")
    assert body["error"]["fields"] == [{"path": "queue", "message": "Expected `str`, got `int`"}]

    status, body = await post(server, io.BytesIO(b"x" * (1_048_576 + 10)))
    assert status == 413 and body["error"]["code"] == "request.too_large"

    for path, code in (("/api/v1/contacts/c-nope", "contact.not_found"),
                       ("/api/v1/customers/999999", "customer.not_found"),
                       ("/api/v1/customers/abc", "customer.not_found"),
                       ("/api/v1/customers/99999999999999999999999", "customer.not_found"),
                       ("/api/v1/queues/nope", "queue.not_found"),
                       ("/api/v1/agents/nope", "agent.not_found"),
                       ("/api/v1/nothing-here", "route.not_found")):
        status, body = await server.call("GET", path, as_user="admin")
        assert (status, body["error"]["code"]) == (404, code), (path, body)
    status, body = await server.call("PATCH", "/api/v1/contacts", as_user="admin")
    assert status == 405 and body["error"]["code"] == "request.method_not_allowed"
    status, body = await server.call("GET", "/api/v1/contacts?limit=0", as_user="admin")
    assert status == 422 and body["error"]["fields"][0]["path"] == "limit"
    status, body = await server.call("GET", "/api/v1/contacts?cursor=zzz", as_user="admin")
    assert status == 422
    status, body = await server.call("GET", "/api/v1/contacts",
                                     headers={"Authorization": "Bearer nope"})
    assert status == 401 and body["error"]["code"] == "auth.invalid_token"
    status, body = await server.call("GET", "/api/v1/contacts",
                                     headers={"Authorization": "Basic abc"})
    assert status == 401 and body["error"]["code"] == "auth.required"

    # Invalid transitions over HTTP.
    status, body = await server.call(
        "POST", f"/api/v1/supervisor/contacts/{kept['contact_id']}/move", as_user="supervisor",
        json={"queue": "email_support"})
    assert status == 422, body  # a chat cannot wait in an email queue
    status, body = await server.call("POST", "/api/v1/supervisor/agents/agent01/presence",
                                     as_user="supervisor", json={"state": "available"})
    assert status == 404 and body["error"]["code"] == "agent.not_found"
    status, body = await server.call("POST", "/api/v1/queues", as_user="admin", json={
        "name": "loop", "channel": "chat", "overflow": {"after_s": 5, "queue": "loop"}})
    assert status == 422
    status, body = await server.call("POST", "/api/v1/skills", as_user="admin",
                                     json={"name": "sales"})
    assert status == 409 and body["error"]["code"] == "skill.exists"

    status, view = await server.call("GET", f"/api/v1/contacts/{kept['contact_id']}",
                                     as_user="integration")
    assert status == 200 and view["state"] == "queued"
    status, ready = await server.call("GET", "/readyz")
    assert status == 200 and ready["status"] == "ready"
