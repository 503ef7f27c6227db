"""The OpenAPI document, and schemathesis against the live server: no 5xx for any input.

Schemathesis calls the server with ``requests`` (blocking), so here the server runs
in-process on its own event loop in a background thread.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from callcenter.store.migrate import upgrade
from tests.conftest import create_pg_schema, drop_pg_schema, postgres_schema_url, sqlite_file_url
from tests.server.harness import PASSWORD, LiveServer, seed_minimal, server_config
from tests.services import require_postgres

#: Examples per operation and mode (negative data needs fewer to find a crash).
MAX_EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
#: Logins run the password KDF on purpose; a few examples are enough.
SLOW_OPERATIONS = {"/api/v1/auth/login": 5, "/api/v1/agents": 8}
ROLE_USERS = {"admin": "admin", "supervisor": "supervisor", "integration": "integration",
              "agent": "agent01"}


@schemathesis.serializer("message/rfc822")
def _rfc822(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")


class ThreadedServer:
    """A live server on its own event loop in a background thread."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.live: LiveServer | None = None
        self.schema: str | None = None
        self.tmp = tempfile.TemporaryDirectory()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(120)

    def start(self) -> ThreadedServer:
        self.thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        if self.backend == "sqlite":
            url = sqlite_file_url(Path(self.tmp.name) / "store.db")
        else:
            self.schema = await create_pg_schema()
            url = postgres_schema_url(self.schema)
        await upgrade(url)
        await seed_minimal(url)
        self.live = await LiveServer(server_config(url)).start()

    def stop(self) -> None:
        async def _stop() -> None:
            if self.live is not None:
                await self.live.stop()
            if self.schema is not None:
                await drop_pg_schema(self.schema)

        try:
            self.run(_stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
            self.tmp.cleanup()

    @property
    def base_url(self) -> str:
        assert self.live is not None
        return self.live.base_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def threaded_server(request: pytest.FixtureRequest) -> Iterator[ThreadedServer]:
    if request.param == "postgres":
        require_postgres()
    server = ThreadedServer(request.param).start()
    try:
        yield server
    finally:
        server.stop()


def _tokens(base_url: str) -> dict[str, str]:
    tokens = {}
    for role, user in ROLE_USERS.items():
        reply = requests.post(f"{base_url}/api/v1/auth/login",
                              json={"username": user, "password": PASSWORD}, timeout=10)
        tokens[role] = reply.json()["token"]
    return tokens


def test_openapi_document_describes_every_route(threaded_server: ThreadedServer) -> None:
    document = requests.get(f"{threaded_server.base_url}/api/openapi.json", timeout=10).json()
    assert document["openapi"] == "3.1.0"
    operations = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    for expected in (("POST", "/api/v1/contacts"), ("POST", "/api/v1/contacts/email"),
                     ("GET", "/api/v1/contacts/{contact_id}/decisions"),
                     ("POST", "/api/v1/auth/login"), ("GET", "/readyz"),
                     ("POST", "/api/v1/supervisor/contacts/{contact_id}/move"),
                     ("GET", "/api/v1/customers"), ("PUT", "/api/v1/queues/{name}")):
        assert expected in operations
    create = document["paths"]["/api/v1/contacts"]["post"]
    assert create["x-roles"] == ["admin", "integration"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ContactIn"}
    assert "202" in create["responses"] and "422" in create["responses"]
    schema = schemathesis.openapi.from_dict(document)  # the loader validates the document
    assert sum(1 for _ in schema.get_all_operations()) == len(operations)


def _fuzz(operation: Any, mode: GenerationMode, examples: int, base_url: str,
          headers: dict[str, str], checks: list[Any]) -> Any:
    """A hypothesis test calling ``operation`` with generated data and checking replies."""

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        case.validate_response(response, checks=checks)

    return run


def test_no_generated_request_causes_a_server_error(threaded_server: ThreadedServer) -> None:
    base_url = threaded_server.base_url
    tokens = _tokens(base_url)
    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        roles = operation.definition.raw.get("x-roles") or ["admin"]
        role = "admin" if "admin" in roles else roles[0]
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        for mode, mode_checks in (
            (GenerationMode.POSITIVE, [not_a_server_error, status_code_conformance,
                                       content_type_conformance, response_schema_conformance]),
            (GenerationMode.NEGATIVE, [not_a_server_error, status_code_conformance]),
        ):
            examples = min(MAX_EXAMPLES[mode], SLOW_OPERATIONS.get(operation.path, 100))

            run = _fuzz(operation, mode, examples, base_url, headers, mode_checks)
            try:
                run()
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
            except Exception as exc:
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: "
                                f"{str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)
    ready = requests.get(f"{base_url}/readyz", timeout=10)
    assert ready.status_code == 200
