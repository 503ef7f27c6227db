"""Inbound traffic for the simulator: arrival rate, arrival times, caller numbers.

Arrival times come from their own seeded generator, so the same seed gives the
same calls at the same offsets whatever the server does with them.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from callcenter.errors import CallCenterError
from callcenter.pbx_sim.model import CallerScript, CollectAnswer
from callcenter.pbx_sim.simulator import PbxSimulator

Arrivals = Literal["poisson", "even"]

_RATE = re.compile(r"^\s*(?P<count>\d+(?:\.\d+)?)\s*(?:/\s*(?P<unit>s|sec|m|min|h|hour))?\s*$")
_PER_SECOND = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 1 / 60, "min": 1 / 60,
               "h": 1 / 3600, "hour": 1 / 3600}
_ANI = re.compile(r"^\+?[0-9]{3,20}$")


class TrafficError(CallCenterError):
    """A traffic option (rate, ANI file) is not usable."""

    code = "pbx_sim.invalid_traffic"
    status = 500


def parse_rate(text: str) -> float:
    """Calls per second from ``"2/s"``, ``"90/min"``, ``"3000/h"`` or a plain number (per s)."""
    match = _RATE.match(text)
    if match is None:
        raise TrafficError(f"rate {text!r}: expected N/s, N/min, N/h or a number of calls per "
                           "second, e.g. 2/s", code="pbx_sim.invalid_rate")
    return float(match["count"]) * _PER_SECOND[match["unit"]]


def arrival_offsets(rate_per_s: float, duration_s: float | None, rng: random.Random,
                    arrivals: Arrivals = "poisson") -> Iterator[float]:
    """Seconds from the start at which calls arrive, up to ``duration_s`` (None: forever).

    ``poisson``: exponential gaps (a Poisson process, what Erlang C assumes);
    ``even``: one call every ``1/rate`` seconds.
    """
    if rate_per_s <= 0:
        return
    at = 0.0
    while True:
        at += rng.expovariate(rate_per_s) if arrivals == "poisson" else 1.0 / rate_per_s
        if duration_s is not None and at >= duration_s:
            return
        yield at


def load_anis(path: Path) -> list[str]:
    """Caller numbers, one per line (``#`` comments and blank lines skipped).

    Export them from the CRM (customer identities) so calls pop known customers.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TrafficError(f"ANI file {path}: {exc.strerror or exc}",
                           code="pbx_sim.ani_file_unreadable") from None
    anis: list[str] = []
    for number, line in enumerate(lines, start=1):
        ani = line.split("#", 1)[0].strip()
        if not ani:
            continue
        if not _ANI.match(ani):
            raise TrafficError(f"ANI file {path}:{number}: {ani!r} is not a phone number "
                               "(+ and 3-20 digits)", code="pbx_sim.invalid_ani")
        anis.append(ani)
    if not anis:
        raise TrafficError(f"ANI file {path}: no numbers in it", code="pbx_sim.empty_ani_file")
    return anis


def random_ani(rng: random.Random) -> str:
    """A random mainland-China mobile number (+86 1xx xxxx xxxx), unlikely to be in the CRM."""
    return f"+861{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def keys_randomly(rng: random.Random) -> CollectAnswer:
    """A caller who answers every ``collect`` with random digits of an allowed length."""

    def answer(prompt: str, min_digits: int, max_digits: int) -> str:
        del prompt  # any menu: this caller does not listen
        length = rng.randint(max(1, min_digits), max(1, max_digits))
        return "".join(rng.choice("123456789") for _ in range(length))

    return answer


async def generate_calls(
    simulator: PbxSimulator,
    *,
    rate_per_s: float,
    duration_s: float | None,
    seed: int | None = None,
    arrivals: Arrivals = "poisson",
    anis: Sequence[str] | None = None,
    dnis: str = "4008001234",
    caller_script: Callable[[random.Random], CallerScript | None] | None = None,
) -> int:
    """Place calls on ``simulator`` at ``rate_per_s`` for ``duration_s``; return how many.

    The arrival times are ``arrival_offsets(rate_per_s, duration_s, Random(seed), arrivals)``.

    ANIs are drawn from ``anis`` (with repeats) or random. ``caller_script`` makes
    each caller's script from a per-call generator (default: random keys).
    """
    arrivals_rng = random.Random(seed)
    # Callers draw from their own generator, so arrival times depend only on
    # (rate, duration, seed, arrivals), whatever the callers are like.
    callers_rng = random.Random(None if seed is None else f"{seed}/callers")
    loop = asyncio.get_running_loop()
    started = loop.time()
    placed = 0
    make_script = caller_script or keys_randomly
    for offset in arrival_offsets(rate_per_s, duration_s, arrivals_rng, arrivals):
        # Sleeping to an absolute offset keeps the rate right however long placing takes.
        delay = started + offset - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        ani = callers_rng.choice(anis) if anis else random_ani(callers_rng)
        caller_rng = random.Random(callers_rng.getrandbits(64))
        await simulator.place_call(ani, dnis, caller_script=make_script(caller_rng))
        placed += 1
    return placed

