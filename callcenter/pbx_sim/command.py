"""``callcenter pbx-sim``: run the PBX simulator as its own process.

It places inbound calls at ``--rate`` for ``--duration`` seconds, obeys CTI
commands for as long as it runs, then waits up to ``--drain-s`` for calls in
progress to end and prints a JSON summary of its counters on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from callcenter.config import Config
from callcenter.logs import configure_logging, get_logger
from callcenter.pbx_sim.model import Delay, DelayKind, PhoneProfile, SimulatorSettings
from callcenter.pbx_sim.simulator import PbxSimulator
from callcenter.pbx_sim.traffic import (
    TrafficError,
    generate_calls,
    load_anis,
    parse_rate,
)

log = get_logger("callcenter.pbx_sim")


def _rate(text: str) -> float:
    try:
        return parse_rate(text)
    except TrafficError as exc:
        raise argparse.ArgumentTypeError(f"[{exc.code}] {exc.message}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if math.isnan(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds must be >= 0")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: a probability is between 0 and 1")
    return value


def _extensions(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``callcenter pbx-sim``."""
    parser.epilog = ("Durations are seconds. Distributions: fixed, uniform (± the spread), "
                     "exponential (mean). Example: callcenter pbx-sim --rate 2/s "
                     "--duration 60 --random-ani --answer-delay-s 2 --no-answer-rate 0.05 "
                     "--talk-s 30 --patience-s 60 --seed 7")
    mqtt = parser.add_argument_group("MQTT (defaults from the [mqtt] configuration)")
    mqtt.add_argument("--mqtt-host", help="broker host")
    mqtt.add_argument("--mqtt-port", type=int, help="broker port")
    mqtt.add_argument("--prefix", help="topic prefix")
    mqtt.add_argument("--pbx", help="PBX name (topic level and event_id prefix)")
    mqtt.add_argument("--client-id", help="MQTT client id (default callcenter-pbx-sim-PBX)")
    mqtt.add_argument("--clean-session", action="store_true",
                      help="do not keep a persistent session (commands sent while "
                           "disconnected are lost)")

    traffic = parser.add_argument_group("inbound traffic")
    traffic.add_argument("--rate", type=_rate, default=1.0,
                         help="arrival rate: N/s, N/min, N/h (0: place no calls; default 1/s)")
    traffic.add_argument("--arrivals", choices=("poisson", "even"), default="poisson",
                         help="exponential gaps (default) or one call every 1/rate s")
    traffic.add_argument("--duration", type=_seconds, default=None,
                         help="seconds to place calls for (default: until interrupted)")
    anis = traffic.add_mutually_exclusive_group()
    anis.add_argument("--ani-file", type=Path,
                      help="caller numbers, one per line (e.g. exported from the CRM)")
    anis.add_argument("--random-ani", action="store_true",
                      help="random caller numbers (the default)")
    traffic.add_argument("--dnis", default="4008001234", help="the number callers dial")
    traffic.add_argument("--ivr-digits", type=_extensions, default=None, metavar="D1,D2,...",
                         help="what every caller keys, one entry per collect "
                              "(default: random digits)")
    traffic.add_argument("--drain-s", type=_seconds, default=120.0,
                         help="after the duration, wait this long for calls to end")

    phones = parser.add_argument_group("agent phones")
    phones.add_argument("--answer-delay-s", type=_seconds, default=2.0,
                        help="mean time from ringing to answer")
    phones.add_argument("--answer-delay-spread-s", type=_seconds, default=0.0,
                        help="uniform spread around the answer delay")
    phones.add_argument("--no-answer-rate", type=_probability, default=0.0,
                        help="probability an agent does not answer (no_answer)")
    phones.add_argument("--busy-extensions", type=_extensions, action="append", default=[],
                        metavar="EXT,...", help="extensions that are always busy")
    phones.add_argument("--unreachable-extensions", type=_extensions, action="append",
                        default=[], metavar="EXT,...", help="extensions that are offline")
    phones.add_argument("--extension-pattern", default=None,
                        help="regex a valid extension matches (default 2-10 digits)")

    callers = parser.add_argument_group("callers")
    callers.add_argument("--talk-s", type=_seconds, default=30.0, help="mean talk time")
    callers.add_argument("--talk-dist", choices=("fixed", "uniform", "exponential"),
                         default="exponential")
    callers.add_argument("--patience-s", type=_seconds, default=60.0,
                         help="mean patience while waiting for an agent (inf: never hang up)")
    callers.add_argument("--patience-dist", choices=("fixed", "uniform", "exponential"),
                         default="exponential")
    callers.add_argument("--prompt-s", type=_seconds, default=2.0, help="prompt length")
    callers.add_argument("--keying-s", type=_seconds, default=1.5,
                         help="time a caller takes to key digits")
    callers.add_argument("--customer-answer-s", type=_seconds, default=5.0,
                         help="callback: time the customer takes to answer")
    callers.add_argument("--customer-no-answer-rate", type=_probability, default=0.1,
                         help="callback: probability the customer does not answer")
    parser.add_argument("--seed", type=int, default=None, help="seed for every random draw")


def _delay(mean_s: float, kind: DelayKind) -> Delay:
    if math.isinf(mean_s):
        return Delay(mean_s)
    if kind == "uniform":
        return Delay(mean_s, "uniform", spread_s=mean_s / 2)
    return Delay(mean_s, kind)


def settings_from_args(args: argparse.Namespace, config: Config) -> SimulatorSettings:
    """The simulator settings the command line asks for."""
    answer_kind: DelayKind = "uniform" if args.answer_delay_spread_s else "fixed"
    extra: dict[str, object] = {}
    if args.extension_pattern:
        extra["extension_pattern"] = args.extension_pattern
    return SimulatorSettings(
        phone=PhoneProfile(Delay(args.answer_delay_s, answer_kind, args.answer_delay_spread_s),
                           no_answer_rate=args.no_answer_rate),
        busy_extensions=frozenset(e for group in args.busy_extensions for e in group),
        unreachable_extensions=frozenset(e for group in args.unreachable_extensions
                                         for e in group),
        talk=_delay(args.talk_s, args.talk_dist),
        patience=_delay(args.patience_s, args.patience_dist),
        prompt=Delay(args.prompt_s),
        keying=Delay(args.keying_s),
        customer_answer=Delay(args.customer_answer_s),
        customer_no_answer_rate=args.customer_no_answer_rate,
        seed=args.seed,
        persistent_session=not args.clean_session,
        client_id=args.client_id,
        keepalive_s=config.mqtt.keepalive_s,
        **extra,  # type: ignore[arg-type]
    )


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the simulator until the traffic is done and drained, or until interrupted."""
    configure_logging(config.log.level, json=config.log.json)
    settings = settings_from_args(args, config)
    anis = load_anis(args.ani_file) if args.ani_file else None
    return asyncio.run(_simulate(args, config, settings, anis))


async def _simulate(args: argparse.Namespace, config: Config, settings: SimulatorSettings,
                    anis: list[str] | None) -> int:
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(signum, interrupted.set)
    fixed_digits = args.ivr_digits
    simulator = PbxSimulator(
        settings,
        mqtt_host=args.mqtt_host or config.mqtt.host,
        mqtt_port=args.mqtt_port or config.mqtt.port,
        prefix=args.prefix or config.mqtt.prefix,
        pbx=args.pbx or config.mqtt.pbx,
    )
    async with simulator:
        traffic = generate_calls(
            simulator, rate_per_s=args.rate, duration_s=args.duration, seed=args.seed,
            arrivals=args.arrivals, anis=anis, dnis=args.dnis,
            caller_script=(lambda _rng: list(fixed_digits)) if fixed_digits else None,
        )
        finished = await _until_interrupted(_traffic_window(traffic, args.duration),
                                            interrupted)
        if finished:
            log.info("pbx_sim.draining", live_calls=len(simulator.live_calls()),
                     drain_s=args.drain_s)
            try:
                await _until_interrupted(_drain(simulator, args.drain_s), interrupted)
            except TimeoutError:
                log.warning("pbx_sim.drain_timeout", live_calls=len(simulator.live_calls()))
    summary = dataclasses.asdict(simulator.stats)
    summary["live_calls"] = len(simulator.live_calls())
    print(json.dumps(summary, sort_keys=True), file=sys.stdout, flush=True)
    return 0


async def _traffic_window(traffic: Coroutine[Any, Any, int], duration_s: float | None) -> None:
    """Place the calls, and keep serving commands until ``duration_s`` (None: forever)."""
    if duration_s is None:
        await traffic
        await asyncio.Event().wait()  # only an interruption ends an open-ended run
    else:
        await asyncio.gather(traffic, asyncio.sleep(duration_s))


async def _until_interrupted(work: Coroutine[Any, Any, None], interrupted: asyncio.Event) -> bool:
    """Run ``work``; True if it finished, False if ``interrupted`` was set first."""
    task = asyncio.create_task(work)
    stop = asyncio.create_task(interrupted.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stop):
            pending.cancel()
        await asyncio.gather(task, stop, return_exceptions=True)
    if task.cancelled():
        return False
    error = task.exception()
    if error is not None:
        raise error
    return True


async def _drain(simulator: PbxSimulator, drain_s: float) -> None:
    async with asyncio.timeout(drain_s):
        await simulator.wait_until(lambda: not simulator.live_calls())
