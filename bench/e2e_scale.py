"""Scale benchmark (issue 10 part 4): mixed voice/chat/email through the real server.

Processes: the server (``python -m callcenter serve``, MQTT on, a fresh store), a private
Mosquitto (``set_tcp_nodelay true``, ``max_inflight_messages 0``), the bot agents (one
process, ``websockets``) and the traffic generator (one process per rate: chat and email
over HTTP with aiohttp, voice through the PBX simulator over aiomqtt). Nothing of the load
runs in the server's process. Prints one JSON object.

Voice: the simulator's phones never pick up by themselves; the bot's websocket ``accept``
makes the server send ``answer``, the PBX reports ``call_answered`` and the bot gets
``contact_connected``. The caller talks ``--handle-s`` and hangs up; the bot wraps up at
once. Chat/email: the bot accepts, holds ``--handle-s`` (x U(0.8, 1.2)), ends, wraps up.
``--key-share`` of the contacts come from customers of tier ``key`` (the others
``standard``). Agents are split into voice, chat and email pools in proportion to the
mix (one slot each), so offered load = rate * handle_s / agents in every pool; ``--load``
(0.7) picks handle_s per rate step when --handle-s is not given.

``arrival_to_offer_ms``: arrival (HTTP request sent / PBX ``call_offered`` time) to the
offer push at the bot, wall clock (``time.time()``) of one machine, for contacts that
found an eligible agent free: chat/email whose 202 says ``alerting``; voice routed with
routed on its first attempt (one row in ``routing_decisions``; the bridge gives no
"alerting" signal, so a voice call that waited for an agent to free up would count too;
at load 0.7 on hundreds of agents such waits are rare, and ``arrival_to_offer_all_ms``
has every offer).

    uv run python bench/e2e_scale.py --agents 1000 --rate 300 --duration 60
    uv run python bench/e2e_scale.py --agents 300 --rates 50,100,200,300 --duration 20
    uv run python bench/e2e_scale.py --store postgres ...   # 127.0.0.1:5432, fresh schema
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import getpass
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from server_e2e import (  # noqa: E402
    cpu_seconds,
    login,
    percentile,
    phase,
    rss_mb,
    thread_cpu_seconds,
    wait_ready,
)

PASSWORD = "bench"
QUEUES = {"voice": "scale_voice", "chat": "scale_chat", "email": "scale_email"}
CUSTOMERS = 1000  # 20% of them key accounts (any --key-share draws from the right pool)
PBX = "pbx1"


def cheap_hash(password: str) -> str:
    """A valid but cheap scrypt hash (n=16): bench logins of 1,000 bots in seconds."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=16, r=8, p=1, dklen=32)
    return f"scrypt$16$8$1${_b64(salt)}${_b64(digest)}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def phone(i: int) -> str:
    return f"+86138{i:08d}"


def is_key(i: int) -> bool:
    return i % 5 == 0


# --------------------------------------------------------------------------- set-up


def agent_channel(i: int, agents: int, shares: tuple[float, float, float]) -> str:
    """Agent pools in proportion to the mix: each pool runs at the same offered load.

    (With one slot per channel on every agent, an agent holding a chat and an email
    cannot take a call, so voice queued behind them at high rates: that measured
    blending, not routing.)"""
    total = sum(shares)
    voice = round(agents * shares[0] / total)
    chat = round(agents * shares[1] / total)
    return "voice" if i < voice else "chat" if i < voice + chat else "email"


async def prepare_store(url: str, agents: int,
                        shares: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> None:
    from callcenter.store.agents import NewAgent, create_agent
    from callcenter.store.customers import NewCustomer, create_customer
    from callcenter.store.engine import make_engine, make_sessionmaker
    from callcenter.store.migrate import upgrade
    from callcenter.store.queues import create_queue
    from callcenter.store.users import create_user

    if "?schema=" in url:  # a fresh schema of ours (callcenter/store/engine.py)
        import asyncpg

        base, schema = url.split("?schema=")
        conn = await asyncpg.connect(base.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        finally:
            await conn.close()
    await upgrade(url)
    engine = make_engine(url)
    password_hash = cheap_hash(PASSWORD)
    try:
        async with make_sessionmaker(engine).begin() as db:
            for channel, name in QUEUES.items():
                await create_queue(db, name, channel, config={"ring_timeout_s": 20.0,
                                                              "wrap_up_s": 30.0})
            await create_user(db, "bench-integration", PASSWORD, "integration",
                              password_hash=password_hash)
            for i in range(agents):
                agent_id = f"bot{i:04d}"
                await create_agent(db, NewAgent(
                    name=f"Bot {i}", id=agent_id, extension=str(20000 + i),
                    capacity={c: int(c == agent_channel(i, agents, shares))
                              for c in ("voice", "chat", "email")}))
                await create_user(db, agent_id, PASSWORD, "agent", agent_id=agent_id,
                                  password_hash=password_hash)
            for i in range(CUSTOMERS):
                await create_customer(db, NewCustomer(
                    name=f"Customer {i}", phones=(phone(i),),
                    emails=(f"c{i}@example.com",), chat_ids=(f"chat-{i}",),
                    tier="key" if is_key(i) else "standard"))
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- bots


async def run_bots(base: str, agents: int, handle_s: float, out: Path) -> None:
    """Bot agents. stdin: ``handle X`` sets the chat/email handle time; ``stop`` ends."""
    offers: dict[str, float] = {}
    channels: dict[str, str] = {}
    accept_sent: dict[str, float] = {}
    connected_ms: dict[str, float] = {}
    counters = {"errors": 0, "wrapped": 0}
    error_codes: dict[str, int] = {}
    state = {"handle_s": handle_s}
    stop = asyncio.Event()
    ws_url = base.replace("http", "ws") + "/ws/agent"
    tasks_alive: set[asyncio.Task[None]] = set()

    async def bot(token: str, ready: asyncio.Event) -> None:
        async with connect(ws_url, max_size=2**22, open_timeout=60, ping_interval=None) as ws:
            ids = iter(range(1, 10**9))

            async def send(kind: str, **fields: Any) -> None:
                await ws.send(json.dumps({"type": kind, "id": str(next(ids)), **fields}))

            async def work(contact_id: str) -> None:
                await asyncio.sleep(state["handle_s"] * random.uniform(0.8, 1.2))
                await send("end", contact_id=contact_id)
                await send("wrap_up_done", contact_id=contact_id, disposition="bench")
                counters["wrapped"] += 1

            def spawn(coro: Any) -> None:
                task = asyncio.create_task(coro)
                tasks_alive.add(task)
                task.add_done_callback(tasks_alive.discard)

            async def reader() -> None:
                async for raw in ws:
                    now = time.time()
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "offer":
                        contact = message["contact"]
                        cid = contact["id"]
                        offers.setdefault(cid, now)
                        channels[cid] = contact.get("channel", "chat")
                        accept_sent[cid] = time.time()
                        spawn(send("accept", contact_id=cid))
                    elif kind == "contact_connected":
                        cid = message["contact_id"]
                        if cid in accept_sent and cid not in connected_ms:
                            connected_ms[cid] = (now - accept_sent[cid]) * 1000
                        if channels.get(cid) != "voice":
                            spawn(work(cid))
                    elif kind == "contact_ended" and message.get("by") == "customer":
                        cid = message["contact_id"]
                        spawn(send("wrap_up_done", contact_id=cid, disposition="bench"))
                        counters["wrapped"] += 1
                    elif kind == "ack" and message.get("id") == "2":
                        ready.set()
                    elif kind == "error":
                        counters["errors"] += 1
                        code = str(message.get("code"))
                        error_codes[code] = error_codes.get(code, 0) + 1

            read = asyncio.create_task(reader())
            await send("auth", token=token)
            await send("set_state", state="available")
            await stop.wait()
            read.cancel()

    sem = asyncio.Semaphore(20)
    async with aiohttp.ClientSession() as http:
        async def one(i: int) -> str:
            async with sem:
                return await login(http, base, f"bot{i:04d}", attempts=100, delay_s=0.3)
        tokens = await asyncio.gather(*(one(i) for i in range(agents)))
    readies = [asyncio.Event() for _ in tokens]
    tasks = []
    for token, ready in zip(tokens, readies, strict=True):
        tasks.append(asyncio.create_task(bot(token, ready)))
        await asyncio.sleep(0.002)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(120):
            for ready in readies:
                await ready.wait()
    print(f"ready {sum(r.is_set() for r in readies)}", flush=True)
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if line.startswith("handle "):
            state["handle_s"] = float(line.split()[1])
            print("ok", flush=True)
        elif line == "dump":
            await asyncio.to_thread(out.write_text, json.dumps(
                {"offers": offers, "channels": channels, "connected_ms": connected_ms,
                 **counters, "error_codes": error_codes}))
            print("ok", flush=True)
        else:
            break
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [repr(r) for r in results if isinstance(r, BaseException)]
    await asyncio.to_thread(out.write_text, json.dumps(
        {"offers": offers, "channels": channels, "connected_ms": connected_ms, **counters,
         "error_codes": error_codes, "bot_failures": failed[:5]}))


# --------------------------------------------------------------------------- traffic


async def run_traffic(args: argparse.Namespace) -> None:
    from callcenter.logs import configure_logging
    from callcenter.pbx_sim import Delay, PbxSimulator, PhoneProfile, SimulatorSettings

    configure_logging("warning", json=True)

    rng = random.Random(args.seed)
    shares = [args.voice_share, args.chat_share, args.email_share]
    key_pool = [i for i in range(CUSTOMERS) if is_key(i)]
    std_pool = [i for i in range(CUSTOMERS) if not is_key(i)]
    sent: dict[str, float] = {}
    replies: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    statuses: dict[int, int] = {}
    calls: dict[str, float] = {}
    kinds = {"voice": 0, "chat": 0, "email": 0, "key": 0}
    settings = SimulatorSettings(
        phone=PhoneProfile(answer_delay=Delay(float("inf"))),  # only an `answer` connects
        talk=Delay(args.handle_s, "uniform", args.handle_s * 0.2),
        patience=Delay(float("inf")), seed=args.seed,
        client_id=f"pbx-{args.prefix}", persistent_session=False)
    connector = aiohttp.TCPConnector(limit=400)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as http, \
            PbxSimulator(settings, mqtt_host="127.0.0.1", mqtt_port=args.mqtt_port,
                         prefix=args.prefix, pbx=PBX) as pbx:
        token = await login(http, args.base, "bench-integration", attempts=100,
                            delay_s=0.3)
        headers = {"Authorization": f"Bearer {token}"}

        async def post(n: int, channel: str, cust: int) -> None:
            ext = f"scale-{args.prefix}-{args.seed}-{n}"  # unique across sweep steps
            body: dict[str, Any] = {"channel": channel, "external_id": ext,
                                    "queue": QUEUES[channel]}
            if channel == "chat":
                body["customer"] = {"chat_id": f"chat-{cust}"}
                body["chat"] = {"text": "Do you ship to Hangzhou?"}
            else:
                body["customer"] = {"email": f"c{cust}@example.com"}
                body["email"] = {"subject": f"Order {n}", "body": "Where is my order?",
                                 "message_id": f"<{ext}@example.com>"}
            sent[ext] = time.time()
            try:
                async with http.post(f"{args.base}/api/v1/contacts", json=body,
                                     headers=headers) as response:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    if response.status in (200, 202):
                        replies[ext] = await response.json()
                    else:
                        errors.append(await response.text())
            except (TimeoutError, aiohttp.ClientError):
                statuses[0] = statuses.get(0, 0) + 1

        async def call(cust: int) -> None:
            at = time.time()
            # A number no IVR flow answers: the call goes straight to the voice queue.
            call_id = await pbx.place_call(phone(cust), "4009990000")
            calls[call_id] = at

        tasks = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        offset, n = 0.0, 0
        while True:
            offset += rng.expovariate(args.rate)
            if offset >= args.duration:
                break
            delay = start + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            channel = rng.choices(("voice", "chat", "email"), weights=shares)[0]
            key = rng.random() < args.key_share
            cust = rng.choice(key_pool if key else std_pool)
            kinds[channel] += 1
            kinds["key"] += key
            tasks.append(asyncio.create_task(call(cust) if channel == "voice"
                                             else post(n, channel, cust)))
            n += 1
        arrivals_s = loop.time() - start
        await asyncio.gather(*tasks)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(args.drain_s):
                await pbx.wait_until(lambda: not pbx.live_calls())
        stats = pbx.stats
    data = json.dumps({
        "sent": sent, "replies": replies, "statuses": statuses, "calls": calls,
        "kinds": kinds, "arrivals": n, "achieved_rate": n / arrivals_s,
        "pbx": {k: v for k, v in dataclasses.asdict(stats).items()
                if isinstance(v, (int, float))},
        "http_errors": errors[:5]})
    await asyncio.to_thread(Path(args.out).write_text, data)


# --------------------------------------------------------------------------- analysis


async def store_figures(url: str, prefix: str, http_ids: list[str]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from callcenter.store.engine import make_engine, make_sessionmaker
    from callcenter.store.models import Contact, Interaction, RoutingDecision

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            voice = {ext: (cid, state, created) for cid, ext, state, created in await db.execute(
                select(Contact.id, Contact.external_id, Contact.state, Contact.created_at)
                .where(Contact.external_id.like(f"cti:{PBX}:%")))}
            states = {cid: state for cid, state in await db.execute(
                select(Contact.id, Contact.state).where(Contact.id.in_(http_ids)))} \
                if http_ids else {}
            ids = list(http_ids) + [v[0] for v in voice.values()]
            records = set()
            decisions: dict[str, list[float]] = {}
            for i in range(0, len(ids), 5000):
                chunk = ids[i:i + 5000]
                records |= set(await db.scalars(select(Interaction.contact_id)
                                                .where(Interaction.contact_id.in_(chunk))))
                for cid, at in await db.execute(
                        select(RoutingDecision.contact_id, RoutingDecision.at)
                        .where(RoutingDecision.contact_id.in_(chunk))):
                    decisions.setdefault(cid, []).append(at.timestamp())
            total_records = int(await db.scalar(select(func.count())
                                                .select_from(Interaction)) or 0)
    finally:
        await engine.dispose()
    return {"voice": {ext: (cid, st, created.timestamp()) for ext, (cid, st, created)
                      in voice.items()},
            "http_states": states, "records": records, "decisions": decisions,
            "total_records": total_records}


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def private_broker(tmp: Path):  # type: ignore[no-untyped-def]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    conf = tmp / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    "set_tcp_nodelay true\nmax_queued_messages 100000\n"
                    "max_inflight_messages 0\n"
                    f"user {getpass.getuser()}\n", encoding="utf-8")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.1)
    try:
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(10)


def machine_busy() -> tuple[float, float]:
    """(busy jiffies, total jiffies) of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def store_url(args: argparse.Namespace, tmp: Path) -> str:
    if args.store_url:
        return str(args.store_url)
    if args.store == "postgres":
        schema = f"scale_{uuid.uuid4().hex[:8]}"
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/test?schema={schema}"
    return f"sqlite+aiosqlite:///{tmp / 'store.db'}"


def _ask(bots: subprocess.Popen[str], line: str) -> None:
    assert bots.stdin is not None and bots.stdout is not None
    bots.stdin.write(line + "\n")
    bots.stdin.flush()
    if bots.stdout.readline().strip() != "ok":
        raise RuntimeError(f"the bot process did not answer {line!r}")


def run_main(args: argparse.Namespace) -> dict[str, Any]:
    from tests.services import free_port

    t0 = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="scale-"))
    url = store_url(args, tmp)
    asyncio.run(prepare_store(url, args.agents,
                              (args.voice_share, args.chat_share, args.email_share)))
    phase("store ready", t0)
    rates = [float(r) for r in args.rates.split(",")] if args.rates else [args.rate]
    runs: list[dict[str, Any]] = []
    with private_broker(tmp) as (mqtt_port, _):
        prefix = f"scale{uuid.uuid4().hex[:8]}"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
        env.update({"CALLCENTER_STORE_URL": url, "CALLCENTER_SERVER_PORT": str(port),
                    "CALLCENTER_MQTT_ENABLED": "true", "CALLCENTER_MQTT_HOST": "127.0.0.1",
                    "CALLCENTER_MQTT_PORT": str(mqtt_port), "CALLCENTER_MQTT_PREFIX": prefix,
                    "CALLCENTER_MQTT_PBX": PBX, "CALLCENTER_MQTT_CLIENT_ID": f"srv-{prefix}",
                    "CALLCENTER_LOG_LEVEL": "warning"})
        server_log = (tmp / "server.log").open("wb")
        server = subprocess.Popen([sys.executable, "-m", "callcenter", "serve"], cwd=ROOT,
                                  env=env, stdout=server_log, stderr=subprocess.STDOUT)
        me = [sys.executable, str(Path(__file__).resolve()), "--base", base]
        bots = None
        try:
            asyncio.run(wait_ready(base, server, timeout_s=120.0))
            phase("server ready", t0)
            bots = subprocess.Popen([*me, "--role", "bots", "--agents", str(args.agents),
                                     "--handle-s", "2", "--out", str(tmp / "bots.json")],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert bots.stdout is not None
            line = bots.stdout.readline().strip()
            if not line.startswith("ready"):
                raise RuntimeError("the bot process died")
            logged_in = int(line.split()[1])
            phase(f"bots ready ({logged_in})", t0)
            for step, rate in enumerate(rates):
                handle = args.handle_s or round(args.load * args.agents / rate, 3)
                _ask(bots, f"handle {handle}")
                out = tmp / f"traffic{step}.json"
                cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
                th0 = thread_cpu_seconds(server.pid)
                bots_cpu0, busy0 = cpu_seconds(bots.pid), machine_busy()
                traffic_proc = subprocess.Popen([*me, "--role", "traffic", "--rate", str(rate),
                                "--duration", str(args.duration), "--handle-s", str(handle),
                                "--voice-share", str(args.voice_share),
                                "--chat-share", str(args.chat_share),
                                "--email-share", str(args.email_share),
                                "--key-share", str(args.key_share),
                                "--mqtt-port", str(mqtt_port), "--prefix", prefix,
                                "--seed", str(step + 1), "--drain-s", str(30 + 10 * handle),
                                "--out", str(out)])
                traffic_cpu = 0.0
                while traffic_proc.poll() is None:
                    with contextlib.suppress(OSError, ValueError, IndexError):
                        traffic_cpu = cpu_seconds(traffic_proc.pid)
                    time.sleep(0.5)
                if traffic_proc.returncode != 0:
                    raise RuntimeError("the traffic process failed")
                traffic = json.loads(out.read_text())
                phase(f"rate {rate}: arrivals done", t0)
                http_ids = [r["contact_id"] for r in traffic["replies"].values()]
                deadline = time.monotonic() + 30 + 10 * handle
                while True:
                    figs = asyncio.run(store_figures(url, prefix, http_ids))
                    step_voice = {f"cti:{PBX}:{c}" for c in traffic["calls"]}
                    ids = http_ids + [figs["voice"][e][0] for e in step_voice
                                      if e in figs["voice"]]
                    unfinished = [c for c in ids if c not in figs["records"]]
                    if not unfinished or time.monotonic() > deadline:
                        break
                    time.sleep(1.0)
                cpu = cpu_seconds(server.pid) - cpu0
                wall = time.monotonic() - wall0
                th1 = thread_cpu_seconds(server.pid)
                rss, rss_peak = rss_mb(server.pid)
                busy1 = machine_busy()
                loadgen = {"bots_cpu_share_of_one_core":
                           round((cpu_seconds(bots.pid) - bots_cpu0) / wall, 3),
                           "traffic_cpu_s_until_drained": round(traffic_cpu, 2),
                           "machine_busy_share": round((busy1[0] - busy0[0])
                                                       / max(1, busy1[1] - busy0[1]), 3)}
                _ask(bots, "dump")
                botdata = json.loads((tmp / "bots.json").read_text())
                runs.append(analyse(rate, handle, args, traffic, figs, botdata, ids,
                                    unfinished, cpu, wall, rss, rss_peak,
                                    {k: round(th1[k] - th0[k], 2) for k in th1}, loadgen))
                phase(f"rate {rate}: p99 {runs[-1]['arrival_to_offer_ms']['p99']}", t0)
            assert bots.stdin is not None
            bots.stdin.write("stop\n")
            bots.stdin.flush()
            bots.wait(60)
        finally:
            if bots is not None and bots.poll() is None:
                bots.kill()
            server.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(60)
            if server.poll() is None:
                server.kill()
            server_log.close()
    router_stats: dict[str, Any] = {}
    for line in (tmp / "server.log").read_text(errors="replace").splitlines():
        if '"router.stopped"' in line:
            with contextlib.suppress(ValueError):
                router_stats = json.loads(line)
    knee = [r["rate_per_s"] for r in runs
            if r["arrival_to_offer_ms"]["p99"] is not None
            and r["arrival_to_offer_ms"]["p99"] <= 50 and r["lost"] == 0]
    result = {
        "benchmark": "e2e_scale",
        "store": "sqlite" if url.startswith("sqlite") else "postgresql",
        "store_url": url if not url.startswith("sqlite") else "sqlite (temp file)",
        "agents": args.agents, "agents_logged_in": logged_in,
        "mix": {"voice": args.voice_share, "chat": args.chat_share,
                "email": args.email_share, "key_share": args.key_share},
        "duration_s": args.duration, "runs": runs,
        "knee_rate_per_s": max(knee) if knee else None,
        "router_batches_whole_run": {k: v for k, v in router_stats.items()
                                     if k.endswith(("_p50", "_p99"))
                                     or k in ("batches", "events")},
        "_tmp": tmp,
    }
    return result


def analyse(rate: float, handle: float, args: argparse.Namespace, traffic: dict[str, Any],
            figs: dict[str, Any], bot: dict[str, Any], ids: list[str], unfinished: list[str],
            cpu: float, wall: float, rss: float, rss_peak: float,
            by_thread: dict[str, float], loadgen: dict[str, float]) -> dict[str, Any]:
    offers = bot["offers"]
    free_ms: dict[str, list[float]] = {"voice": [], "chat": [], "email": []}
    all_ms: list[float] = []
    for ext, reply in traffic["replies"].items():
        cid = reply["contact_id"]
        if cid in offers:
            ms = (offers[cid] - traffic["sent"][ext]) * 1000
            all_ms.append(ms)
            if reply.get("state") == "alerting":
                free_ms["chat" if ext and bot["channels"].get(cid) == "chat"
                        else "email"].append(ms)
    voice_ids = []
    first_attempt_voice = 0
    for call_id, at in traffic["calls"].items():
        found = figs["voice"].get(f"cti:{PBX}:{call_id}")
        if found is None:
            continue
        cid, _state, _created = found
        voice_ids.append(cid)
        if cid in offers:
            ms = (offers[cid] - at) * 1000
            all_ms.append(ms)
            decided = figs["decisions"].get(cid, [])
            if len(decided) == 1:
                first_attempt_voice += 1
                free_ms["voice"].append(ms)
    free = free_ms["voice"] + free_ms["chat"] + free_ms["email"]
    accepted_http = sum(1 for r in traffic["replies"].values() if not r.get("duplicate"))
    connected = [bot["connected_ms"][c] for c in ids if c in bot["connected_ms"]]
    voice_connected = [bot["connected_ms"][c] for c in voice_ids if c in bot["connected_ms"]]
    arrivals = traffic["arrivals"]
    lost = arrivals - len(ids) + len(unfinished)
    p99 = percentile(free, 99)
    return {
        "rate_per_s": rate, "achieved_rate_per_s": round(traffic["achieved_rate"], 1),
        "handle_s": handle, "offered_load": round(rate * handle / args.agents, 3),
        "arrivals": arrivals, "by_kind": traffic["kinds"],
        "http_statuses": traffic["statuses"], "http_errors": traffic["http_errors"],
        "pbx": traffic["pbx"],
        "accepted": accepted_http + len(voice_ids),
        "routed": sum(1 for c in ids if c in offers),
        "lost": lost, "unfinished": len(unfinished),
        "records_written": sum(1 for c in ids if c in figs["records"]),
        "records_total_in_store": figs["total_records"],
        "arrival_to_offer_ms": {"n": len(free), "p50": percentile(free, 50), "p99": p99,
                                "target_p99": 50.0,
                                "within_target": p99 is not None and p99 <= 50.0},
        "arrival_to_offer_ms_by_channel": {
            k: {"n": len(v), "p50": percentile(v, 50), "p99": percentile(v, 99)}
            for k, v in free_ms.items()},
        "arrival_to_offer_all_ms": {"n": len(all_ms), "p50": percentile(all_ms, 50),
                                    "p99": percentile(all_ms, 99)},
        "accept_to_connected_ms": {"n": len(connected), "p50": percentile(connected, 50),
                                   "p99": percentile(connected, 99),
                                   "voice_p99": percentile(voice_connected, 99)},
        "server_cpu_s": round(cpu, 2), "server_cpu_share_of_one_core": round(cpu / wall, 3),
        "server_cpu_s_by_thread": by_thread,
        "server_rss_mb": round(rss, 1), "server_rss_peak_mb": round(rss_peak, 1),
        "load_generator": loadgen, "cpu_window_s": round(wall, 1),
        "bot_errors": bot["errors"], "bot_error_codes": bot["error_codes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("main", "bots", "traffic"), default="main")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--rates", help="knee sweep, e.g. 50,100,200,300 (one server)")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--store-url")
    parser.add_argument("--voice-share", type=float, default=0.5)
    parser.add_argument("--chat-share", type=float, default=0.3)
    parser.add_argument("--email-share", type=float, default=0.2)
    parser.add_argument("--key-share", type=float, default=0.2)
    parser.add_argument("--handle-s", type=float, default=None,
                        help="talk/handle time (default: load * agents / rate)")
    parser.add_argument("--load", type=float, default=0.7)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--base")
    parser.add_argument("--out")
    parser.add_argument("--mqtt-port", type=int)
    parser.add_argument("--prefix")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-s", type=float, default=60.0)
    args = parser.parse_args()
    if args.role == "bots":
        asyncio.run(run_bots(args.base, args.agents, args.handle_s or 2.0, Path(args.out)))
        return
    if args.role == "traffic":
        asyncio.run(run_traffic(args))
        return
    result = run_main(args)
    tmp = result.pop("_tmp")
    if args.keep:
        result["_tmp"] = str(tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
