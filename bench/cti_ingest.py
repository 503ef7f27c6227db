"""Benchmark of the CTI path (issue 6): PBX simulator -> MQTT -> bridge -> router -> PBX.

Prints exactly one JSON object on stdout. The server runs in this process (``create_app``,
which runs the bridge, on a fresh SQLite store in a temp dir, ``synchronous=FULL`` as in
production), the PBX simulator too, both against the real Mosquitto at
127.0.0.1:1883 on a fresh topic prefix. 200 agents (extensions 2000-2199) are logged in
and available (through the router's own ``AgentLoggedIn``: the agent websocket is not
what is measured); their phones pick up after ``--answer-s``; callers talk ``--talk-s``
and hang up; wrap-up is 0 s, so every call runs the whole lifecycle: ``call_offered``
-> contact -> ``route`` -> ``agent_ringing`` -> ``call_answered`` -> connected ->
``call_ended`` -> wrap-up -> interaction record.

For each rate in ``--rates`` (calls/s, Poisson arrivals for ``--duration`` s):

- ``latency_ms``: from the ``at`` of ``call_offered`` (the PBX's clock) to the moment a
  listener on the commands topic receives the first ``route`` of that call (both
  MQTT hops included), for calls routed on their first attempt (an agent was free);
- ``throughput_calls_per_s``: records written / (last record - first offer);
- ``lost``: calls offered that have no interaction record once the PBX is idle.

    uv run python bench/cti_ingest.py                 # 100 calls/s for 20 s
    uv run python bench/cti_ingest.py --rates 100,200 --duration 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiomqtt
from aiohttp import web
from sqlalchemy import func, select

from callcenter.app import create_app
from callcenter.config import Config
from callcenter.cti_bridge import (
    CTI_BRIDGE,
    CTI_BRIDGE_SETTINGS,
    NO_DELAY,
    BridgeSettings,
)
from callcenter.cti_messages import (
    CallOffered,
    RouteCommand,
    commands_topic,
    decode_command,
    decode_event,
    events_topic,
)
from callcenter.http_api.context import SERVICES
from callcenter.logs import configure_logging
from callcenter.store.agents import NewAgent, create_agent
from callcenter.store.customers import NewCustomer, create_customer
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.migrate import upgrade
from callcenter.store.models import Interaction
from callcenter.store.queues import create_queue
from routing.events import AgentLoggedIn

AGENTS = 200
CALLERS = 500
PBX = "pbx1"
QUEUE = "voice_bench"


def caller_number(i: int) -> str:
    return f"+86139{i:08d}"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def seed(url: str) -> None:
    await upgrade(url)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as db:
            await create_queue(db, QUEUE, "voice", config={"ring_timeout_s": 20.0,
                                                           "wrap_up_s": 0.0})
            for i in range(AGENTS):
                await create_agent(db, NewAgent(name=f"Bench {i}", id=f"bench{i:03d}",
                                                extension=str(2000 + i)))
            # Callers are known customers (an unknown number costs one more commit:
            # its provisional customer, once).
            for i in range(CALLERS):
                await create_customer(db, NewCustomer(name=f"Caller {i}",
                                                      phones=(caller_number(i),)))
    finally:
        await engine.dispose()


class Listener:
    """Times ``call_offered`` (PBX clock) and the first ``route`` of each call."""

    def __init__(self, prefix: str, host: str, port: int) -> None:
        self.prefix, self.host, self.port = prefix, host, port
        self.offered_at: dict[str, float] = {}
        self.routed_at: dict[str, float] = {}
        self.routes: dict[str, int] = {}
        self.ready = asyncio.Event()

    async def run(self) -> None:
        async with aiomqtt.Client(self.host, self.port, identifier=f"bench-{self.prefix}",
                                  socket_options=[NO_DELAY]) as client:
            await client.subscribe(commands_topic(self.prefix, PBX), qos=0)
            await client.subscribe(events_topic(self.prefix, PBX), qos=0)
            self.ready.set()
            async for message in client.messages:
                now = time.time()
                assert isinstance(message.payload, bytes)
                if str(message.topic).endswith("/commands"):
                    command = decode_command(message.payload)
                    if isinstance(command, RouteCommand):
                        self.routes[command.call_id] = self.routes.get(command.call_id, 0) + 1
                        self.routed_at.setdefault(command.call_id, now)
                else:
                    event = decode_event(message.payload)
                    if isinstance(event, CallOffered):
                        self.offered_at[event.call_id] = event.at.timestamp()


async def run_rate(rate: float, args: argparse.Namespace, port: int) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await seed(url)
        anis = Path(folder) / "anis.txt"
        anis.write_text("\n".join(caller_number(i) for i in range(CALLERS)), encoding="utf-8")
        config = Config().replace(
            server__host="127.0.0.1", server__port=0, store__url=url,
            mqtt__enabled=True, mqtt__host=args.mqtt_host, mqtt__port=port,
            mqtt__prefix=prefix, mqtt__pbx=PBX, mqtt__client_id=f"srv-{prefix}",
            log__level=args.log_level)
        app = create_app(config)
        app[CTI_BRIDGE_SETTINGS] = BridgeSettings(default_queue=QUEUE, publish_info=False)
        runner = web.AppRunner(app)
        await runner.setup()
        listener = Listener(prefix, args.mqtt_host, port)
        listening = asyncio.create_task(listener.run())
        try:
            await asyncio.wait_for(listener.ready.wait(), 10)
            services = app[SERVICES]
            bridge = app[CTI_BRIDGE]
            await asyncio.wait_for(bridge.connected.wait(), 10)
            for i in range(AGENTS):
                await services.runtime.submit(AgentLoggedIn(
                    0.0, f"bench{i:03d}", {}, {"voice": 1, "callback": 1}, "available"))
            # The PBX runs in its own process, as a real one would: its work does not
            # share this event loop with the server under test.
            started = time.time()
            sim = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "callcenter.pbx_sim", "--mqtt-host", args.mqtt_host,
                "--mqtt-port", str(port), "--prefix", prefix, "--pbx", PBX,
                "--client-id", f"pbx-{prefix}", "--clean-session", "--rate", f"{rate}/s",
                "--duration", str(args.duration), "--ani-file", str(anis),
                "--answer-delay-s", str(args.answer_s), "--talk-s", str(args.talk_s),
                "--talk-dist", "fixed", "--patience-s", "inf", "--seed", "7",
                "--drain-s", str(args.drain_s),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
            out, _ = await sim.communicate()
            stats = json.loads(out.decode().strip().splitlines()[-1])
            async with asyncio.timeout(args.drain_s):
                await bridge.wait_until(lambda: not bridge.by_contact)
            async with services.sessionmaker() as db:
                records = await db.scalar(select(func.count()).select_from(Interaction)) or 0
                answered = await db.scalar(select(func.count()).select_from(Interaction)
                                           .where(Interaction.outcome == "answered")) or 0
                ends = [t.timestamp() for t in await db.scalars(
                    select(Interaction.wrap_up_ended_at)) if t is not None]
            latencies = [
                (listener.routed_at[c] - at) * 1000 for c, at in listener.offered_at.items()
                if c in listener.routed_at and listener.routes.get(c) == 1]
            # Steady state: records finished between one handle time after the start and
            # the end of arrivals (ramp-up and drain left out).
            lo = started + args.answer_s + args.talk_s + 1.0
            hi = started + args.duration
            steady = sum(1 for t in ends if lo <= t <= hi)
            offered = int(stats.get("offered", 0))
            return {
                "rate_offered_per_s": rate, "offered": offered,
                "pbx_answered": stats.get("answered"), "pbx_abandoned": stats.get("abandoned"),
                "records": records, "answered_records": answered, "lost": offered - records,
                "throughput_calls_per_s": round(steady / (hi - lo), 2) if hi > lo else None,
                "latency_ms": {
                    "n": len(latencies),
                    "p50": round(percentile(latencies, 50), 2),
                    "p90": round(percentile(latencies, 90), 2),
                    "p99": round(percentile(latencies, 99), 2),
                    "max": round(max(latencies), 2) if latencies else None,
                    "mean": round(statistics.fmean(latencies), 2) if latencies else None,
                },
                "p99_target_ms": 50, "p99_within_target": percentile(latencies, 99) <= 50,
                "bridge": dict(bridge.stats),
                "router_batches": services.runtime.batches,
            }
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listening
            await runner.cleanup()


@contextlib.asynccontextmanager
async def private_broker() -> Any:
    """A Mosquitto of our own on a free port, with ``set_tcp_nodelay`` (docs/cti.md)."""
    with tempfile.TemporaryDirectory() as folder:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        conf = Path(folder) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                        "set_tcp_nodelay true\nmax_queued_messages 100000\n"
                        # The bridge acknowledges after the commit: the broker's window
                        # of unacknowledged messages must not be the bottleneck.
                        "max_inflight_messages 0\n"
                        f"user {getpass.getuser()}\n", encoding="utf-8")
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        process = await asyncio.create_subprocess_exec(binary, "-c", str(conf),
                                                       stderr=asyncio.subprocess.PIPE)
        assert process.stderr is not None
        async with asyncio.timeout(10):
            while b" running" not in (line := await process.stderr.readline()):
                if not line:
                    raise RuntimeError("mosquitto exited before it was running")
        try:
            yield port
        finally:
            process.terminate()
            await process.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100", help="calls/s, comma separated")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of arrivals")
    parser.add_argument("--talk-s", type=float, default=1.0)
    parser.add_argument("--answer-s", type=float, default=0.1)
    parser.add_argument("--drain-s", type=float, default=60.0)
    parser.add_argument("--log-level", default="error")
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=None,
                        help="use this broker (default: a private Mosquitto with "
                             "set_tcp_nodelay on a free port)")
    args = parser.parse_args()
    configure_logging(args.log_level, json=True)
    broker = "private mosquitto, set_tcp_nodelay true"
    async with contextlib.AsyncExitStack() as stack:
        if args.mqtt_port is None:
            port = await stack.enter_async_context(private_broker())
        else:
            port, broker = args.mqtt_port, f"{args.mqtt_host}:{args.mqtt_port}"
        runs = [await run_rate(float(r), args, port) for r in args.rates.split(",")]
    print(json.dumps({"bench": "cti_ingest", "agents": AGENTS, "broker": broker,
                      "talk_s": args.talk_s, "answer_s": args.answer_s,
                      "duration_s": args.duration, "store": "sqlite (synchronous=FULL)",
                      "runs": runs}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
