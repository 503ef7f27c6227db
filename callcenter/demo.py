"""``callcenter demo``: the server with a working demo, in one command.

It migrates and seeds an embedded SQLite CRM (once; the data is deterministic),
starts the real server, logs bot agents in over real websockets (leaving a few
seats free for a person), and sends simulated traffic through the real interfaces:
chats and emails over HTTP, and voice calls from the PBX simulator over MQTT when
a broker is reachable. It prints the console and dashboard URLs and the demo
logins, and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from callcenter.bots import BotAgent, BotTimings, login
from callcenter.config import Config
from callcenter.errors import CallCenterError
from callcenter.logs import configure_logging, get_logger

log = get_logger(__name__)

CHAT_OPENERS = (
    "Hi, do you ship to Hangzhou?",
    "My parcel has not moved for three days, can you check?",
    "Can I change the size of the jacket I ordered yesterday?",
    "Is the blue jacket in size M back in stock?",
    "I was charged twice for order {order}.",
    "How do I return a pair of shoes?",
    "Do you have a discount code for loyalty members?",
)
EMAIL_SUBJECTS = (
    ("Where is my order {order}?", "Hello, my order {order} was due on Monday. Any news?"),
    ("Refund not received", "I returned the item two weeks ago and have no refund yet."),
    ("Invoice request", "Could you send me a VAT invoice for order {order}, please?"),
    ("Damaged item", "The vase in order {order} arrived broken. Photos attached."),
    ("Change of address", "Please deliver order {order} to my office address instead."),
)


#: Numbers of the shipped IVR flows (ivr_flows/order_line.yaml and main.yaml).
ORDER_LINE = "4008006666"
MAIN_HOTLINE = "4008001234"


class PortInUse(CallCenterError):
    code = "demo.port_in_use"
    status = 500


@dataclass(frozen=True, slots=True)
class DemoOptions:
    customers: int = 2_000
    seed: int = 1
    bots: int = 20
    chats_per_min: float = 4.0
    emails_per_min: float = 2.0
    calls_per_min: float = 4.0
    duration_s: float | None = None
    voice: bool = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=2_000,
                        help="demo customers to seed into an empty store (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the demo data and traffic")
    parser.add_argument("--bots", type=int, default=20,
                        help="bot agents (the seeded agents after them stay free for people)")
    parser.add_argument("--chats-per-min", type=float, default=4.0)
    parser.add_argument("--emails-per-min", type=float, default=2.0)
    parser.add_argument("--calls-per-min", type=float, default=4.0)
    parser.add_argument("--no-voice", action="store_true",
                        help="no PBX simulator (voice needs Mosquitto at mqtt.host:mqtt.port)")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--port", type=int, default=None, help="override server.port")


def run(args: argparse.Namespace, config: Config) -> int:
    if args.port is not None:
        config = config.replace(server__port=args.port)
    options = DemoOptions(customers=args.customers, seed=args.seed, bots=args.bots,
                          chats_per_min=args.chats_per_min, emails_per_min=args.emails_per_min,
                          calls_per_min=args.calls_per_min, duration_s=args.duration,
                          voice=not args.no_voice)
    configure_logging(config.log.level if config.log.level != "info" else "warning",
                      json=config.log.json)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(config, options))
    return 0


async def prepare_store(url: str, options: DemoOptions) -> bool:
    """Migrate, and seed the demo data into an empty store; False if it held data."""
    from callcenter.seed import SeedOptions, StoreNotEmpty, seed_store

    try:
        await seed_store(url, SeedOptions(customers=options.customers, seed=options.seed,
                                          interactions=options.customers * 3))
    except StoreNotEmpty:
        return False
    return True


def _check_port(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUse(f"{host}:{port} is in use; choose another port with --port or "
                            f"CALLCENTER_SERVER_PORT") from None


async def run_demo(config: Config, options: DemoOptions, *,
                   stop: asyncio.Event | None = None,
                   on_started: Callable[[str], None] | None = None) -> None:
    """Run the whole demo until Ctrl-C / SIGTERM, ``stop`` or ``options.duration_s``.

    ``on_started`` gets the server's base URL once everything is running. Signal
    handlers are installed only when no ``stop`` event is given.
    """
    from callcenter.app import create_app

    _check_port(config.server.host, config.server.port)
    print(f"preparing the demo store at {config.store.url} ...", flush=True)
    seeded = await prepare_store(config.store.url, options)
    print("  seeded new demo data" if seeded else "  using the existing data", flush=True)

    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.server.host, config.server.port)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://{config.server.host}:{port}"

    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)

    tasks: list[asyncio.Task[Any]] = []
    bots = [BotAgent(base, f"agent{i:02d}", "demo", seed=options.seed,
                     timings=BotTimings(accept_delay_s=1.0))
            for i in range(1, options.bots + 1)]
    tasks += [asyncio.create_task(bot.run(stop)) for bot in bots]
    people = await sample_identities(config.store.url, options.customers, 300, options.seed)
    tasks.append(asyncio.create_task(_web_traffic(base, options, people, stop)))
    voice = options.voice and config.mqtt.enabled
    if voice:
        tasks.append(asyncio.create_task(_voice_traffic(config, options, people, stop)))

    _print_banner(base, options, voice)
    if on_started is not None:
        on_started(base)
    try:
        if options.duration_s is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), options.duration_s)
    finally:
        stop.set()
        print("\nstopping the demo ...", flush=True)
        _, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
        handled = sum(bot.stats.completed for bot in bots)
        print(f"demo stopped; bots completed {handled} contacts", flush=True)


def _print_banner(base: str, options: DemoOptions, voice: bool) -> None:
    free = ", ".join(f"agent{i:02d}" for i in range(options.bots + 1, options.bots + 5))
    lines = [
        "",
        "callcenter demo is running",
        f"  agent console      {base}/agent",
        f"  supervisor         {base}/supervisor",
        f"  visitor chat       {base}/chat",
        f"  API (OpenAPI)      {base}/api/openapi.json",
        "",
        "  logins (password 'demo'):",
        f"    agents free for you: {free}",
        "    supervisor, admin, integration",
        "",
        f"  traffic: {options.chats_per_min:g} chats/min and {options.emails_per_min:g} "
        f"emails/min over HTTP"
        + (f", {options.calls_per_min:g} calls/min from the PBX simulator over MQTT"
           if voice else " (voice off)"),
        f"  {options.bots} bot agents take contacts; press Ctrl-C to stop",
        "",
    ]
    print("\n".join(lines), flush=True)


async def _web_traffic(base: str, options: DemoOptions, people: Identities,
                       stop: asyncio.Event) -> None:
    """Chats and emails through ``POST /api/v1/contacts`` as a shop would send them."""
    rng = random.Random(f"web-traffic:{options.seed}")
    rate = (options.chats_per_min + options.emails_per_min) / 60.0
    if rate <= 0:
        return
    chat_share = options.chats_per_min / 60.0 / rate
    async with aiohttp.ClientSession() as http:
        token = (await login(http, base, "integration", "demo"))["token"]
        headers = {"Authorization": f"Bearer {token}"}
        number = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.expovariate(rate))
            if stop.is_set():
                break
            number += 1
            body = _chat(rng, people) if rng.random() < chat_share else _email(rng, people)
            body["external_id"] = f"demo-{options.seed}-{rng.getrandbits(48):x}-{number}"
            try:
                async with http.post(f"{base}/api/v1/contacts", json=body,
                                     headers=headers) as response:
                    if response.status >= 400:
                        log.warning("demo.contact_refused", status=response.status,
                                    body=await response.text())
            except aiohttp.ClientError as exc:
                log.warning("demo.contact_failed", error=str(exc))


def _chat(rng: random.Random, people: Identities) -> dict[str, Any]:
    order = 100_000 + rng.randint(0, 9_999)
    # Known customers chat from their shop account (email); a quarter are strangers.
    customer = ({"email": rng.choice(people.emails)} if people.emails and rng.random() < 0.75
                else {"chat_id": f"visitor-{rng.getrandbits(32):x}"})
    return {"channel": "chat", "queue": rng.choice(("chat_sales", "chat_support")),
            "customer": customer,
            "chat": {"text": rng.choice(CHAT_OPENERS).format(order=order)}}


def _email(rng: random.Random, people: Identities) -> dict[str, Any]:
    order = 100_000 + rng.randint(0, 9_999)
    subject, text = rng.choice(EMAIL_SUBJECTS)
    address = (rng.choice(people.emails) if people.emails and rng.random() < 0.8
               else f"guest{rng.getrandbits(24)}@example.net")
    return {"channel": "email", "queue": "email_support", "customer": {"email": address},
            "email": {"subject": subject.format(order=order), "body": text.format(order=order)}}


@dataclass(slots=True)
class Identities:
    """Emails and phone numbers of some seeded customers, for realistic traffic."""

    emails: list[str]
    phones: list[str]


async def sample_identities(url: str, customers: int, count: int, seed: int) -> Identities:
    from callcenter.store.engine import make_engine, make_sessionmaker
    from callcenter.store.identities import list_identities

    rng = random.Random(f"identities:{seed}")
    engine = make_engine(url)
    emails: list[str] = []
    phones: list[str] = []
    try:
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            for customer_id in rng.sample(range(1, customers + 1), min(count, customers)):
                for identity in await list_identities(session, customer_id):
                    if identity.kind == "email":
                        emails.append(identity.value)
                    elif identity.kind == "phone":
                        phones.append(identity.value)
    finally:
        await engine.dispose()
    return Identities(emails=emails, phones=phones)


async def _voice_traffic(config: Config, options: DemoOptions, people: Identities,
                         stop: asyncio.Event) -> None:
    """Calls from the PBX simulator over MQTT (skipped with a note when no broker answers)."""
    from callcenter.pbx_sim import PbxSimulator, SimulatorSettings, generate_calls

    try:
        async with PbxSimulator(SimulatorSettings(), mqtt_host=config.mqtt.host,
                                mqtt_port=config.mqtt.port, prefix=config.mqtt.prefix,
                                pbx=config.mqtt.pbx) as simulator:
            # Most calls ring the 24/7 order line; the rest the main hotline, which
            # sends callers to voicemail or a callback outside its opening hours.
            rate = options.calls_per_min / 60.0
            lines = {ORDER_LINE: 0.7 * rate, MAIN_HOTLINE: 0.3 * rate}
            calls = [asyncio.create_task(generate_calls(
                simulator, rate_per_s=line_rate, duration_s=None,
                seed=options.seed + index, dnis=dnis, anis=people.phones or None))
                for index, (dnis, line_rate) in enumerate(lines.items()) if line_rate > 0]
            await stop.wait()
            for task in calls:
                task.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
    except CallCenterError as exc:
        print(f"  voice traffic off: {exc.message}", file=sys.stderr, flush=True)
