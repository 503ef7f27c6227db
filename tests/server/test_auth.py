"""Auth: login, tokens, and the role matrix over every endpoint family."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from callcenter.auth import TokenSigner
from callcenter.errors import Unauthorized
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.models import AuditEntry
from tests.server.harness import LiveServer, Seeded

ROLES = ("agent01", "supervisor", "admin", "integration", None)


async def test_login_gives_a_token_and_wrong_password_is_401(server: LiveServer) -> None:
    status, body = await server.call("POST", "/api/v1/auth/login",
                                     json={"username": "agent01", "password": "demo"})
    assert status == 200
    assert body["role"] == "agent" and body["agent_id"] == "agent01"
    assert body["token"].startswith("v1.") and body["expires_at"].endswith("Z")
    for creds in ({"username": "agent01", "password": "nope"},
                  {"username": "ghost", "password": "demo"}):
        status, body = await server.call("POST", "/api/v1/auth/login", json=creds)
        assert status == 401 and body["error"]["code"] == "auth.invalid_credentials"


def test_tokens_expire_and_cannot_be_forged() -> None:
    signer = TokenSigner(ttl_s=60, key=b"k" * 32)
    login = signer.issue(1, "ann", "admin", None, now=1000.0)
    assert signer.verify(login.token, now=1030.0).role == "admin"
    with pytest.raises(Unauthorized) as expired:
        signer.verify(login.token, now=1061.0)
    assert expired.value.code == "auth.token_expired"
    other = TokenSigner(ttl_s=60, key=b"x" * 32)
    with pytest.raises(Unauthorized) as forged:
        other.verify(login.token, now=1030.0)
    assert forged.value.code == "auth.invalid_token"
    head, payload, sig = login.token.split(".")
    with pytest.raises(Unauthorized):
        signer.verify(f"{head}.{payload}x.{sig}", now=1030.0)


# family -> (method, path, body, expected status per role in ROLES order)
MATRIX = {
    "contacts.create": ("POST", "/api/v1/contacts",
                        {"channel": "chat", "queue": "chat_sales", "chat": {"text": "hi"}},
                        (403, 403, 202, 202, 401)),
    "contacts.list": ("GET", "/api/v1/contacts", None, (403, 200, 200, 200, 401)),
    "admin.write": ("POST", "/api/v1/skills", {"name": "{role}-skill"},
                    (403, 403, 201, 403, 401)),
    "admin.read": ("GET", "/api/v1/queues", None, (403, 200, 200, 403, 401)),
    "customers.search": ("GET", "/api/v1/customers?name=Li", None, (403, 200, 200, 200, 401)),
    "supervisor.read": ("GET", "/api/v1/supervisor/agents", None, (403, 200, 200, 403, 401)),
    "supervisor.act": ("POST", "/api/v1/supervisor/agents/agent02/presence",
                       {"state": "not_ready"}, (403, 404, 404, 403, 401)),
    "health": ("GET", "/healthz", None, (200, 200, 200, 200, 200)),
}


@pytest.mark.parametrize("family", sorted(MATRIX))
async def test_role_matrix(server: LiveServer, family: str) -> None:
    method, path, body, expected = MATRIX[family]
    got = []
    for role in ROLES:
        payload = None if body is None else json.loads(
            json.dumps(body).replace("{role}", role or "anon"))
        status, reply = await server.call(method, path, as_user=role, json=payload)
        got.append(status)
        if status in (401, 403):
            assert reply["error"]["code"] in ("auth.required", "auth.forbidden")
    assert tuple(got) == expected, (family, got)


async def test_agent_sees_only_customers_of_contacts_offered_to_it(
    server: LiveServer, seeded: Seeded, db_url: str
) -> None:
    status, contact = await server.call(
        "POST", "/api/v1/contacts", as_user="integration",
        json={"channel": "email", "queue": "email_support",
              "customer": {"email": "li.wei@example.com"},
              "email": {"subject": "x", "body": "y"}})
    assert status == 202
    two = await server.agent("agent02")
    await two.request("set_state", state="available")
    await two.push("offer")
    path = f"/api/v1/customers/{seeded.key_customer_id}"
    status, profile = await server.call("GET", path, as_user="agent02")
    assert status == 200 and profile["name"] == "Li Wei"
    status, denied = await server.call("GET", path, as_user="agent01")
    assert status == 403 and denied["error"]["code"] == "auth.forbidden"
    status, _ = await server.call("GET", f"/api/v1/contacts/{contact['contact_id']}",
                                  as_user="agent01")
    assert status == 404
    status, _ = await server.call("GET", f"/api/v1/contacts/{contact['contact_id']}",
                                  as_user="agent02")
    assert status == 200
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            audit = [(a.actor, a.action, a.target) for a in await db.scalars(
                select(AuditEntry).where(AuditEntry.target == f"customer:{seeded.key_customer_id}")
                .order_by(AuditEntry.id))]
    finally:
        await engine.dispose()
    assert ("agent:agent02", "customer.viewed", f"customer:{seeded.key_customer_id}") in audit
    assert ("agent:agent01", "customer.view_denied",
            f"customer:{seeded.key_customer_id}") in audit
    await two.close()


async def test_state_changes_are_audited(server: LiveServer, db_url: str) -> None:
    status, _ = await server.call("POST", "/api/v1/skills", as_user="admin",
                                  json={"name": "returns"})
    assert status == 201
    status, _ = await server.call("PUT", "/api/v1/agents/agent01", as_user="admin",
                                  json={"skills": {"sales": 9, "returns": 4}})
    assert status == 200
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            actions = [(a.actor, a.action, a.target) for a in await db.scalars(
                select(AuditEntry).order_by(AuditEntry.id))]
    finally:
        await engine.dispose()
    assert ("admin:admin", "skill.created", "skill:returns") in actions
    assert ("admin:admin", "agent.updated", "agent:agent01") in actions


async def test_supervisor_socket_needs_a_supervisor(server: LiveServer) -> None:
    for user, code in (("agent01", 4403), ("integration", 4403)):
        token = await server.token(user)
        async with connect(f"{server.ws_url}/ws/supervisor") as ws:
            await ws.send(json.dumps({"type": "auth", "id": 1, "token": token}))
            reply = json.loads(await ws.recv())
            assert reply["code"] == "auth.forbidden"
            await ws.wait_closed()
            assert ws.close_code == code
