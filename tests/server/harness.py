"""Test harness of the server suite: store fixtures, a live server, real clients.

- :func:`seed_minimal` writes a small, exact data set through the store repositories.
- :class:`LiveServer` runs ``create_app`` on a free port in this event loop
  (``AppRunner`` + ``TCPSite``): real sockets, real aiohttp.
- :class:`AgentClient` speaks ``/ws/agent`` with the ``websockets`` library: requests
  wait for their ack/error by ``id``; pushes land in a queue to wait on with a timeout.
- :class:`ServerProcess` runs ``python -m callcenter serve`` as a subprocess (crash tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect

from callcenter.app import create_app
from callcenter.config import Config
from callcenter.passwords import hash_password
from callcenter.schemas import AgentServerMessage
from callcenter.store.agents import NewAgent, create_agent, create_skill
from callcenter.store.customers import NewCustomer, create_customer
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.orders import NewOrder, add_order
from callcenter.store.queues import create_queue
from callcenter.store.tickets import NewTicket, open_ticket
from callcenter.store.users import create_user
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo"
_HASH = hash_password(PASSWORD, salt=b"0123456789abcdef")


@dataclass
class Seeded:
    key_customer_id: int
    standard_customer_id: int
    complaint_ticket_id: int


async def seed_minimal(url: str, *, ring_timeout_s: float = 20.0,
                       wrap_up_s: float = 30.0) -> Seeded:
    """Skills, four queues, two agents, staff logins and two customers.

    agent01: sales 8, support 2. agent02: support 9, sales 2.
    Li Wei (key account, li.wei@example.com, 3 orders, an open complaint).
    Zhang San (standard, chat id visitor-77, phone +8613800000002).
    """
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as db:
            for skill in ("sales", "support"):
                await create_skill(db, skill)
            common = {"ring_timeout_s": ring_timeout_s, "wrap_up_s": wrap_up_s}
            await create_queue(db, "chat_sales", "chat", config={
                **common, "required_skills": [{"skill": "sales", "min_level": 5}]})
            await create_queue(db, "chat_support", "chat", config={
                **common, "required_skills": [{"skill": "support", "min_level": 5}]})
            await create_queue(db, "email_support", "email", config={
                **common, "required_skills": [{"skill": "support", "min_level": 5}]})
            await create_queue(db, "chat_any", "chat", config=common)
            await create_queue(db, "callback", "callback", config={
                **common, "required_skills": [{"skill": "support", "min_level": 1}]})
            await create_agent(db, NewAgent(name="Agent One", id="agent01", extension="1001",
                                            skills={"sales": 8, "support": 2}))
            await create_agent(db, NewAgent(name="Agent Two", id="agent02", extension="1002",
                                            skills={"support": 9, "sales": 2}))
            for username, role, agent in (("agent01", "agent", "agent01"),
                                          ("agent02", "agent", "agent02"),
                                          ("supervisor", "supervisor", None),
                                          ("admin", "admin", None),
                                          ("integration", "integration", None)):
                await create_user(db, username, PASSWORD, role, agent_id=agent,
                                  password_hash=_HASH)
            key = await create_customer(db, NewCustomer(
                name="Li Wei", emails=("li.wei@example.com",), phones=("+8613800000001",),
                tier="key", city="Hangzhou"))
            standard = await create_customer(db, NewCustomer(
                name="Zhang San", chat_ids=("visitor-77",), phones=("+8613800000002",)))
            now = datetime.now(UTC)
            for i, (days, total) in enumerate(((40, 129900), (12, 45900), (2, 8800)), start=1):
                await add_order(db, NewOrder(customer_id=key.id, number=f"10{i:03d}",
                                             placed_at=now - timedelta(days=days),
                                             total_cents=total, status="delivered"))
            ticket = await open_ticket(db, NewTicket(
                customer_id=key.id, kind="complaint", subject="Parcel arrived damaged",
                priority="high"))
        return Seeded(key.id, standard.id, ticket.id)
    finally:
        await engine.dispose()


def server_config(url: str, **changes: Any) -> Config:
    """Settings for a test server: no MQTT, short timers."""
    base = Config().replace(
        server__host="127.0.0.1", server__port=0, server__drain_timeout_s=5.0,
        store__url=url, mqtt__enabled=False, auth__ws_auth_timeout_s=1.0,
        agent_ws__heartbeat_s=5.0, agent_ws__disconnect_grace_s=0.5,
        log__level="warning", ivr__flows_dir="",
    )
    return base.replace(**changes) if changes else base


class LiveServer:
    """``create_app`` on a free port of this event loop."""

    def __init__(self, config: Config, **app_options: Any) -> None:
        self.port = free_port()
        self.config = config.replace(server__port=self.port)
        self.app = create_app(self.config, **app_options)
        self.runner: web.AppRunner | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.http: aiohttp.ClientSession | None = None
        self.tokens: dict[str, str] = {}

    async def start(self) -> LiveServer:
        self.runner = web.AppRunner(self.app, shutdown_timeout=2.0)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.http = aiohttp.ClientSession(self.base_url)
        return self

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def services(self) -> Any:
        from callcenter.http_api.context import SERVICES

        return self.app[SERVICES]

    async def token(self, username: str) -> str:
        if username not in self.tokens:
            status, body = await self.call("POST", "/api/v1/auth/login",
                                           json={"username": username, "password": PASSWORD})
            assert status == 200, body
            self.tokens[username] = body["token"]
        return self.tokens[username]

    async def call(self, method: str, path: str, *, as_user: str | None = None,
                   headers: dict[str, str] | None = None, **kwargs: Any) -> tuple[int, Any]:
        assert self.http is not None
        headers = dict(headers or {})
        if as_user is not None:
            headers["Authorization"] = f"Bearer {await self.token(as_user)}"
        async with self.http.request(method, path, headers=headers, **kwargs) as response:
            raw = await response.read()
            body = json.loads(raw) if raw and response.content_type == "application/json" \
                else raw
            return response.status, body

    async def agent(self, username: str) -> AgentClient:
        client = AgentClient(f"{self.ws_url}/ws/agent")
        await client.open(await self.token(username))
        return client


class AgentClient:
    """A real websocket client of ``/ws/agent`` (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: ClientConnection | None = None
        self.pushes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.replies: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.unmatched: list[dict[str, Any]] = []
        self.seqs: list[int] = []
        self.auth: dict[str, Any] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        #: Server messages that do not match docs/schemas/agent-server.json.
        self.invalid: list[str] = []

    async def open(self, token: str) -> dict[str, Any]:
        self.ws = await connect(self.url, open_timeout=5, max_size=2**22)
        self._reader = asyncio.create_task(self._read())
        self.auth = await self.request("auth", token=token)
        return self.auth

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                try:
                    msgspec.json.decode(raw, type=AgentServerMessage)
                except msgspec.ValidationError as exc:
                    self.invalid.append(f"{exc}: {raw[:300]!r}")
                if "seq" in message:
                    self.seqs.append(message["seq"])
                    self.pushes.put_nowait(message)
                    continue
                future = self.replies.pop(message.get("id"), None)
                if future is not None and not future.done():
                    future.set_result(message)
                else:
                    self.unmatched.append(message)
        except Exception:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()

    async def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send(data)

    # ``timeout`` keeps its name: tests of other packages (tests/cti) call these.
    async def request(self, kind: str, *, timeout: float = 5.0,  # noqa: ASYNC109
                      **fields: Any) -> dict[str, Any]:
        """Send a request; its ack ``data`` (raises AssertionError on an error reply)."""
        reply = await self.send(kind, timeout=timeout, **fields)
        assert reply["type"] in ("ack", "pong"), reply
        return reply.get("data") or {}

    async def send(self, kind: str, *, timeout: float = 5.0,  # noqa: ASYNC109
                   **fields: Any) -> dict[str, Any]:
        """Send a request; the raw reply (ack, error or pong)."""
        assert self.ws is not None
        request_id = f"r{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[request_id] = future
        await self.ws.send(json.dumps({"type": kind, "id": request_id, **fields}))
        return await asyncio.wait_for(future, timeout)

    async def push(self, kind: str, timeout: float = 5.0,  # noqa: ASYNC109
                   **match: Any) -> dict[str, Any]:
        """The next push of ``kind`` (matching ``match``); other pushes are skipped."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.pushes.get()
                if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                    return message

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 2)
        assert not self.invalid, self.invalid


@dataclass
class ServerProcess:
    """``python -m callcenter serve`` in a subprocess, for crash and kill tests."""

    url: str
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_path: Path, **env_extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLCENTER_", "CC_"))}
        # Restarts are the point of these tests: let Python cache compiled modules.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update({
            "CALLCENTER_STORE_URL": self.url, "CALLCENTER_SERVER_PORT": str(self.port),
            "CALLCENTER_MQTT_ENABLED": "false", "CALLCENTER_LOG_LEVEL": "warning",
            "CALLCENTER_SERVER_DRAIN_TIMEOUT_S": "5",
            "CALLCENTER_AGENT_WS_DISCONNECT_GRACE_S": "1",
            "CC_TEST_MODE": "1", **self.env_extra, **env_extra,
        })
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "callcenter", "serve"], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT)

    async def wait_ready(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"server exited with {self.process.returncode}: "
                                         f"{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.base_url}/readyz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise AssertionError(f"server not ready in {timeout} s: {self.log_tail()}")

    async def wait_exit(self, timeout: float = 20.0) -> int:  # noqa: ASYNC109
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError("server did not exit")
            await asyncio.sleep(0.05)
        return self.process.returncode

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
