"""End-to-end server benchmark: real server process, real websockets, real HTTP.

Three processes: the server (``python -m callcenter serve`` on a fresh store), the
bot agents (one process, ``websockets`` library, 200 agents by default) and the
contact poster (HTTP, open loop at a fixed rate). Bots accept every offer at once,
hold it for the handle time, end and wrap up. Prints one JSON object.

Load: with single-slot agents the offered load is ``rate * handle_s / agents``;
the defaults (100/s, 1.4 s, 200 agents) give 0.7. (100/s with a 2 s handle needs
286 slots for 0.7: ``--capacity 2 --handle-s 2.8`` is the same load on 400 slots.)

``arrival_to_offer_ms`` is measured only for contacts that found an eligible agent
free: those whose 202 already says ``alerting`` (routed in the same router step as
their arrival). Times are ``time.monotonic()``, one clock for every process of the
machine. The baseline is the round trip of ``GET /healthz`` in the same run.

    uv run python bench/server_e2e.py            # full run (about 1.5 minutes)
    uv run python bench/server_e2e.py --quick    # 50 agents, 40/s for 5 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUEUE = "bench_chat"
PASSWORD = "bench"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 3)


# --------------------------------------------------------------------------- set-up


async def prepare_store(url: str, agents: int, capacity: int) -> None:
    from callcenter.passwords import hash_password
    from callcenter.store.agents import NewAgent, create_agent
    from callcenter.store.engine import make_engine, make_sessionmaker
    from callcenter.store.migrate import upgrade
    from callcenter.store.queues import create_queue
    from callcenter.store.users import create_user

    await upgrade(url)
    engine = make_engine(url)
    password_hash = hash_password(PASSWORD)
    try:
        async with make_sessionmaker(engine).begin() as db:
            await create_queue(db, QUEUE, "chat", config={"ring_timeout_s": 20.0,
                                                           "wrap_up_s": 30.0})
            await create_user(db, "bench-integration", PASSWORD, "integration",
                              password_hash=password_hash)
            for i in range(agents):
                agent_id = f"bot{i:04d}"
                await create_agent(db, NewAgent(name=f"Bot {i}", id=agent_id,
                                                capacity={"voice": 1, "chat": capacity,
                                                          "email": 0}))
                await create_user(db, agent_id, PASSWORD, "agent", agent_id=agent_id,
                                  password_hash=password_hash)
    finally:
        await engine.dispose()


async def login(http: aiohttp.ClientSession, base: str, username: str, *,
                attempts: int = 50, delay_s: float = 0.2) -> str:
    """A bench login's token, retried while the server is busy starting up."""
    for _ in range(attempts):
        with contextlib.suppress(aiohttp.ClientError):
            async with http.post(f"{base}/api/v1/auth/login",
                                 json={"username": username, "password": PASSWORD}) as response:
                if response.status == 200:
                    return str((await response.json())["token"])
        await asyncio.sleep(delay_s)
    raise RuntimeError(f"cannot log in {username}")


# --------------------------------------------------------------------------- bots


async def run_bots(base: str, agents: int, handle_s: float, out: Path) -> None:
    """The bot agents; "ready" on stdout once all are available, stop at a line on stdin."""
    offers: dict[str, float] = {}
    stop = asyncio.Event()
    work_tasks: set[asyncio.Task[None]] = set()
    accept_ms: list[float] = []
    handled = 0
    errors = 0
    ws_url = base.replace("http", "ws") + "/ws/agent"

    async def bot(token: str) -> None:
        nonlocal handled, errors
        async with connect(ws_url, max_size=2**22, open_timeout=30) as ws:
            pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
            counter = 0

            async def request(kind: str, **fields: Any) -> dict[str, Any]:
                nonlocal counter
                counter += 1
                rid = f"q{counter}"
                future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
                pending[rid] = future
                await ws.send(json.dumps({"type": kind, "id": rid, **fields}))
                return await asyncio.wait_for(future, 30)

            async def work(contact_id: str) -> None:
                nonlocal handled, errors
                sent = time.monotonic()
                reply = await request("accept", contact_id=contact_id)
                if reply["type"] != "ack":
                    errors += 1
                    return
                accept_ms.append((time.monotonic() - sent) * 1000)
                await asyncio.sleep(handle_s * random.uniform(0.8, 1.2))
                await request("end", contact_id=contact_id)
                await request("wrap_up_done", contact_id=contact_id, disposition="bench")
                handled += 1

            async def reader() -> None:
                async for raw in ws:
                    message = json.loads(raw)
                    if "seq" in message:
                        if message["type"] == "offer":
                            contact_id = message["contact"]["id"]
                            offers.setdefault(contact_id, time.monotonic())
                            task = asyncio.create_task(work(contact_id))
                            work_tasks.add(task)
                            task.add_done_callback(work_tasks.discard)
                        continue
                    future = pending.pop(message.get("id"), None)
                    if future is not None and not future.done():
                        future.set_result(message)

            read = asyncio.create_task(reader())
            await request("auth", token=token)
            await request("set_state", state="available")
            await stop.wait()
            read.cancel()

    async with aiohttp.ClientSession() as http:
        tokens = [await login(http, base, f"bot{i:04d}") for i in range(agents)]
    tasks = [asyncio.create_task(bot(token)) for token in tokens]
    await asyncio.sleep(2.0)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [repr(r) for r in results if isinstance(r, BaseException)]
    data = json.dumps({"offers": offers, "accept_ms": accept_ms, "handled": handled,
                       "errors": errors, "bot_failures": failed[:5]})
    await asyncio.to_thread(out.write_text, data)


# --------------------------------------------------------------------------- poster


async def run_poster(base: str, rate: float, duration: float, out: Path) -> None:
    sent: dict[str, float] = {}
    replies: dict[str, dict[str, Any]] = {}
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as http:
        token = await login(http, base, "bench-integration")
        headers = {"Authorization": f"Bearer {token}"}
        rtt = []
        for _ in range(200):
            started = time.monotonic()
            async with http.get(f"{base}/healthz") as response:
                await response.read()
            rtt.append((time.monotonic() - started) * 1000)

        async def post(n: int) -> None:
            external_id = f"bench-{n}"
            body = {"channel": "chat", "external_id": external_id, "queue": QUEUE,
                    "customer": {"chat_id": f"visitor-{n % 5000}"},
                    "chat": {"text": "Do you ship to Hangzhou?"}}
            sent[external_id] = time.monotonic()
            try:
                async with http.post(f"{base}/api/v1/contacts", json=body,
                                     headers=headers) as response:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    if response.status in (200, 202):
                        replies[external_id] = {**await response.json(),
                                                "acked_at": time.monotonic()}
            except (TimeoutError, aiohttp.ClientError):
                statuses[0] = statuses.get(0, 0) + 1

        tasks = []
        start = time.monotonic()
        total = int(rate * duration)
        for n in range(total):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(n)))
        await asyncio.gather(*tasks)
        achieved = total / (time.monotonic() - start)
    data = json.dumps({"sent": sent, "replies": replies, "statuses": statuses,
                       "healthz_rtt_ms": rtt, "achieved_rate": achieved})
    await asyncio.to_thread(out.write_text, data)


# --------------------------------------------------------------------------- server


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds of the main thread (the event loop) and of all other threads."""
    ticks = os.sysconf("SC_CLK_TCK")
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / ticks
            if int(task.name) == pid:
                main += seconds
            else:
                other += seconds
    return {"event_loop_thread": main, "other_threads": other}


def rss_mb(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    values = {}
    for line in status:
        name, _, rest = line.partition(":")
        if rest.split():
            values[name] = rest.split()[0]
    return int(values.get("VmRSS", "0")) / 1024, int(values.get("VmHWM", "0")) / 1024


async def store_figures(url: str, contact_ids: list[str]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from callcenter.store.engine import make_engine, make_sessionmaker
    from callcenter.store.models import Contact, Interaction

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            records = set(await db.scalars(select(Interaction.contact_id)))
            states = {cid: state for cid, state in await db.execute(
                select(Contact.id, Contact.state))}
            rows = int(await db.scalar(select(func.count()).select_from(Interaction)) or 0)
    finally:
        await engine.dispose()
    missing = [cid for cid in contact_ids if cid not in states]
    unfinished = [cid for cid in contact_ids if cid in states and cid not in records]
    return {"records_written": rows, "missing": missing, "unfinished": unfinished,
            "unfinished_states": sorted({states[c] for c in unfinished})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("main", "bots", "poster"), default="main")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--handle-s", type=float, default=1.4)
    parser.add_argument("--capacity", type=int, default=1)
    parser.add_argument("--store-url", help="default: a SQLite file in a temp folder")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp folder (store, server log, raw timings)")
    parser.add_argument("--base")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.agents, args.rate, args.duration = 50, 40.0, 5.0
        args.handle_s = 0.7 * args.agents * args.capacity / args.rate
    if args.role == "bots":
        asyncio.run(run_bots(args.base, args.agents, args.handle_s, args.out))
        return
    if args.role == "poster":
        asyncio.run(run_poster(args.base, args.rate, args.duration, args.out))
        return
    result = run_main(args)
    if not args.keep:
        shutil.rmtree(result.pop("_tmp"), ignore_errors=True)
    else:
        result["_tmp"] = str(result["_tmp"])
    print(json.dumps(result, indent=2))


def phase(name: str, started: float) -> None:
    print(f"[{time.monotonic() - started:7.1f}s] {name}", file=sys.stderr, flush=True)


def run_main(args: argparse.Namespace) -> dict[str, Any]:
    from tests.services import free_port

    t0 = time.monotonic()

    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    url = args.store_url or f"sqlite+aiosqlite:///{tmp / 'store.db'}"
    asyncio.run(prepare_store(url, args.agents, args.capacity))
    phase("store ready", t0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update({"CALLCENTER_STORE_URL": url, "CALLCENTER_SERVER_PORT": str(port),
                "CALLCENTER_MQTT_ENABLED": "false", "CALLCENTER_LOG_LEVEL": "info"})
    server_log = (tmp / "server.log").open("wb")
    # BENCH_SERVER_CMD replaces "-m callcenter serve" (e.g. a profiling wrapper).
    command = os.environ.get("BENCH_SERVER_CMD", "-m callcenter serve").split()
    server = subprocess.Popen([sys.executable, *command],
                              cwd=ROOT, env=env,
                              stdout=server_log, stderr=subprocess.STDOUT)
    me = [sys.executable, str(Path(__file__).resolve()), "--base", base]
    try:
        asyncio.run(wait_ready(base, server))
        phase("server ready", t0)
        bots = subprocess.Popen([*me, "--role", "bots", "--agents", str(args.agents),
                                 "--handle-s", str(args.handle_s), "--out",
                                 str(tmp / "bots.json")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert bots.stdin is not None and bots.stdout is not None
        if bots.stdout.readline().strip() != "ready":
            raise RuntimeError("the bot process died")
        phase("bots ready", t0)
        cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
        threads_before = thread_cpu_seconds(server.pid)
        poster = subprocess.run([*me, "--role", "poster", "--rate", str(args.rate),
                                 "--duration", str(args.duration), "--out",
                                 str(tmp / "poster.json")], check=True)
        del poster
        posted = json.loads((tmp / "poster.json").read_text())
        contact_ids = [r["contact_id"] for r in posted["replies"].values()]
        deadline = time.monotonic() + 30 + args.handle_s * 10
        phase("contacts posted", t0)
        figures = asyncio.run(store_figures(url, contact_ids))
        while figures["unfinished"] and time.monotonic() < deadline:
            time.sleep(1.0)
            figures = asyncio.run(store_figures(url, contact_ids))
        phase(f"drained ({len(figures['unfinished'])} unfinished)", t0)
        cpu = cpu_seconds(server.pid) - cpu_before
        threads_after = thread_cpu_seconds(server.pid)
        by_thread = {k: round(threads_after[k] - threads_before[k], 2) for k in threads_after}
        wall = time.monotonic() - wall_before
        rss, rss_peak = rss_mb(server.pid)
        bots.stdin.write("stop\n")
        bots.stdin.flush()
        bots.wait(60)
        botdata = json.loads((tmp / "bots.json").read_text())
    finally:
        server.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(30)
        if server.poll() is None:
            server.kill()
        server_log.close()
    router_stats: dict[str, Any] = {}
    for line in (tmp / "server.log").read_text(errors="replace").splitlines():
        if '"router.stopped"' in line:
            with contextlib.suppress(ValueError):
                router_stats = json.loads(line)

    offers: dict[str, float] = botdata["offers"]
    free_agent = [
        (offers[r["contact_id"]] - posted["sent"][ext]) * 1000
        for ext, r in posted["replies"].items()
        if r.get("state") == "alerting" and r["contact_id"] in offers
    ]
    all_offers = [(offers[r["contact_id"]] - posted["sent"][ext]) * 1000
                  for ext, r in posted["replies"].items() if r["contact_id"] in offers]
    ack_ms = [(r["acked_at"] - posted["sent"][ext]) * 1000
              for ext, r in posted["replies"].items()]
    accepted = sum(1 for r in posted["replies"].values() if not r.get("duplicate"))
    baseline = statistics.median(posted["healthz_rtt_ms"])
    p99_offer = percentile(free_agent, 99)
    return {
        "benchmark": "server_e2e",
        "store": "sqlite" if url.startswith("sqlite") else "postgresql",
        "agents": args.agents, "capacity_per_agent": args.capacity,
        "rate_per_s": args.rate, "achieved_rate_per_s": round(posted["achieved_rate"], 1),
        "duration_s": args.duration, "handle_s": args.handle_s,
        "offered_load": round(args.rate * args.handle_s / (args.agents * args.capacity), 3),
        "posted": len(posted["sent"]), "http_statuses": posted["statuses"],
        "accepted": accepted, "routed": len([c for c in contact_ids if c in offers]),
        "handled_by_bots": botdata["handled"], "bot_errors": botdata["errors"],
        "lost": len(figures["missing"]) + len(figures["unfinished"]),
        "unfinished_states": figures["unfinished_states"],
        "records_written": figures["records_written"],
        "arrival_to_offer_ms": {"n": len(free_agent), "p50": percentile(free_agent, 50),
                                "p99": p99_offer, "target_p99": 50.0},
        "arrival_to_offer_all_ms": {"n": len(all_offers), "p50": percentile(all_offers, 50),
                                    "p99": percentile(all_offers, 99)},
        "http_202_ms": {"p50": percentile(ack_ms, 50), "p99": percentile(ack_ms, 99)},
        "accept_to_connected_ms": {"p50": percentile(botdata["accept_ms"], 50),
                                   "p99": percentile(botdata["accept_ms"], 99)},
        "baseline_healthz_rtt_ms_p50": round(baseline, 3),
        "arrival_to_offer_p99_over_baseline": None if p99_offer is None
        else round(p99_offer / baseline, 1),
        "server_cpu_s": round(cpu, 2), "server_cpu_share_of_one_core": round(cpu / wall, 3),
        "server_cpu_s_by_thread": by_thread,
        "server_rss_mb": round(rss, 1), "server_rss_peak_mb": round(rss_peak, 1),
        "router_batches": {k: v for k, v in router_stats.items()
                           if k.endswith(("_p50", "_p99")) or k in ("batches", "events")},
        "bot_failures": botdata["bot_failures"],
        "_tmp": tmp,
    }


async def wait_ready(base: str, server: subprocess.Popen[bytes], *,
                     timeout_s: float = 60.0) -> None:
    """Until ``/readyz`` answers 200 (the server process must stay alive meanwhile)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(int(timeout_s / 0.1)):
            if server.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not get ready")


if __name__ == "__main__":
    main()
