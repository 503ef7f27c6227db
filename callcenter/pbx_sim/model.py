"""The simulator's model: call states and their transition table, agent phones, callers.

No I/O here. :mod:`callcenter.pbx_sim.simulator` drives these pieces from MQTT
commands and asyncio timers.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Literal

from callcenter.errors import CallCenterError


class SimulatorSettingsError(CallCenterError):
    """A simulator setting is out of range (raised when the settings are built)."""

    code = "pbx_sim.invalid_settings"
    status = 500


# --------------------------------------------------------------------------- delays


DelayKind = Literal["fixed", "uniform", "exponential"]


@dataclass(frozen=True, slots=True)
class Delay:
    """A random duration in seconds.

    ``fixed``: always ``mean_s``. ``uniform``: evenly in ``mean_s ± spread_s``
    (never below 0). ``exponential``: memoryless with mean ``mean_s`` (the
    patience and handle-time model Erlang A and C assume). ``mean_s=inf`` with
    ``fixed`` means "never" (an endlessly patient caller).
    """

    mean_s: float
    kind: DelayKind = "fixed"
    spread_s: float = 0.0

    def __post_init__(self) -> None:
        if math.isnan(self.mean_s) or self.mean_s < 0:
            raise SimulatorSettingsError(f"delay mean_s must be >= 0, got {self.mean_s}")
        if self.kind not in ("fixed", "uniform", "exponential"):
            raise SimulatorSettingsError(f"delay kind must be fixed, uniform or exponential, "
                                         f"got {self.kind!r}")
        if self.spread_s < 0 or math.isnan(self.spread_s):
            raise SimulatorSettingsError(f"delay spread_s must be >= 0, got {self.spread_s}")
        if math.isinf(self.mean_s) and self.kind != "fixed":
            raise SimulatorSettingsError("an infinite delay must be of kind fixed")

    def sample(self, rng: random.Random) -> float:
        """Draw one duration (seconds)."""
        if self.kind == "uniform":
            return max(0.0, rng.uniform(self.mean_s - self.spread_s, self.mean_s + self.spread_s))
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.mean_s) if self.mean_s > 0 else 0.0
        return self.mean_s


NEVER: Final = Delay(math.inf)


# --------------------------------------------------------------------------- agent phones


@dataclass(frozen=True, slots=True)
class PhoneProfile:
    """How one agent phone behaves when it rings.

    ``answer_delay``: time from ringing to the agent picking up. ``no_answer_rate``:
    probability that the agent does not pick up at all (the PBX then reports
    ``no_answer`` when the command's ring timeout expires). An answer delay longer
    than the ring timeout also ends in ``no_answer``.
    """

    answer_delay: Delay = Delay(2.0)
    no_answer_rate: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.no_answer_rate <= 1.0:
            raise SimulatorSettingsError(
                f"no_answer_rate must be between 0 and 1, got {self.no_answer_rate}")


# --------------------------------------------------------------------------- callers

CollectAnswer = Callable[[str, int, int], "str | None"]
"""``(prompt, min_digits, max_digits) -> digits`` (``None``: the caller presses nothing)."""

CallerScript = Sequence["str | None"] | CollectAnswer
"""What a caller keys in: one entry per ``collect`` in order (``None`` or running out of
entries: nothing is pressed and the collect times out), or a function asked at each
``collect``."""


# --------------------------------------------------------------------------- settings

DEFAULT_EXTENSION_PATTERN: Final = r"^[0-9]{2,10}$"


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """Every knob of the simulated PBX, its agent phones and its callers.

    Durations are seconds of asyncio time; tests use small values (0.01 - 0.1 s).
    """

    phone: PhoneProfile = field(default_factory=PhoneProfile)
    """The default agent phone."""
    phones: Mapping[str, PhoneProfile] = field(default_factory=dict)
    """Per-extension overrides of :attr:`phone`."""
    busy_extensions: frozenset[str] = frozenset()
    """Extensions that always answer ``route`` with ``route_failed`` cause ``busy``
    (besides any extension already on a call, which is busy too)."""
    unreachable_extensions: frozenset[str] = frozenset()
    """Extensions whose phone is offline: ``route_failed`` cause ``unreachable``."""
    extension_pattern: str = DEFAULT_EXTENSION_PATTERN
    """Extensions not matching this regex fail with cause ``invalid``."""
    talk: Delay = Delay(30.0)
    """Caller's talk time once connected (hold time does not count); then the caller
    hangs up (``call_ended`` by ``caller``)."""
    patience: Delay = Delay(60.0)
    """How long a caller waits for an agent (IVR, queue and ringing, from the offer
    or from a transfer) before hanging up."""
    prompt: Delay = Delay(0.5)
    """How long a prompt plays before ``prompt_done`` (or before the caller keys)."""
    keying: Delay = Delay(0.5)
    """Time the caller takes to key digits after a ``collect`` prompt ends."""
    customer_answer: Delay = Delay(3.0)
    """Callback (``dial``): time the customer takes to pick up."""
    customer_no_answer_rate: float = 0.0
    """Callback (``dial``): probability that the customer does not pick up."""
    default_ring_timeout_s: float = 20.0
    """Ring timeout for ``transfer`` and ``dial`` when the command gives none."""
    seed: int | None = None
    """Seed of every random draw (``None``: from the OS)."""
    ended_calls_kept: int = 10_000
    """Ended calls remembered, so a late command says ``invalid_state`` not ``unknown_call``."""
    command_ids_kept: int = 10_000
    """Command ids remembered to drop redelivered duplicates (QoS 1 is at least once)."""
    persistent_session: bool = True
    """MQTT clean_session=False with a fixed client id: commands published while the
    simulator is disconnected are delivered when it is back."""
    client_id: str | None = None
    """MQTT client id (default ``callcenter-pbx-sim-{pbx}``)."""
    keepalive_s: int = 30
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 10.0

    def __post_init__(self) -> None:
        try:
            re.compile(self.extension_pattern)
        except re.error as exc:
            raise SimulatorSettingsError(f"extension_pattern is not a regex: {exc}") from None
        if not 0.0 <= self.customer_no_answer_rate <= 1.0:
            raise SimulatorSettingsError("customer_no_answer_rate must be between 0 and 1, "
                                         f"got {self.customer_no_answer_rate}")
        if not self.default_ring_timeout_s > 0:
            raise SimulatorSettingsError("default_ring_timeout_s must be > 0")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise SimulatorSettingsError("need 0 < reconnect_min_s <= reconnect_max_s")
        if self.ended_calls_kept < 0 or self.command_ids_kept < 0:
            raise SimulatorSettingsError("ended_calls_kept and command_ids_kept must be >= 0")

    def phone_for(self, extension: str) -> PhoneProfile:
        """The profile of ``extension``'s phone."""
        return self.phones.get(extension, self.phone)


# --------------------------------------------------------------------------- call states


class CallState(StrEnum):
    """Where a call is, as the PBX sees it."""

    WAITING = "waiting"
    """Inbound, no agent leg: the caller is in the IVR or queued (the server knows which)."""
    RINGING = "ringing"
    """An agent extension rings for the caller."""
    CONNECTED = "connected"
    """Caller and agent talk."""
    HELD = "held"
    """Connected, the caller on hold."""
    DIALING_AGENT = "dialing_agent"
    """Outbound callback: the agent's phone rings."""
    DIALING_CUSTOMER = "dialing_customer"
    """Outbound callback: the agent answered, the customer's phone rings."""
    ENDED = "ended"


class Trigger(StrEnum):
    """What moves a call: a command from the server or something the simulated people do."""

    # commands
    ROUTE = "route"
    CANCEL_ROUTE = "cancel_route"
    ANSWER = "answer"
    HOLD = "hold"
    RETRIEVE = "retrieve"
    TRANSFER_TO_EXTENSION = "transfer_to_extension"
    TRANSFER_TO_QUEUE = "transfer_to_queue"
    PLAY = "play"
    COLLECT = "collect"
    HANGUP = "hangup"
    # the simulated world
    AGENT_ANSWERED = "agent_answered"
    AGENT_NOT_REACHED = "agent_not_reached"  # busy, unreachable, invalid extension
    RING_TIMEOUT = "ring_timeout"
    CUSTOMER_ANSWERED = "customer_answered"
    CUSTOMER_RING_TIMEOUT = "customer_ring_timeout"
    CALLER_HUNG_UP = "caller_hung_up"


S = CallState
T = Trigger

TRANSITIONS: Final[Mapping[tuple[CallState, Trigger], CallState]] = {
    (S.WAITING, T.ROUTE): S.RINGING,
    (S.WAITING, T.PLAY): S.WAITING,
    (S.WAITING, T.COLLECT): S.WAITING,
    (S.WAITING, T.HANGUP): S.ENDED,
    (S.WAITING, T.CALLER_HUNG_UP): S.ENDED,

    (S.RINGING, T.CANCEL_ROUTE): S.WAITING,
    (S.RINGING, T.ANSWER): S.CONNECTED,
    (S.RINGING, T.AGENT_ANSWERED): S.CONNECTED,
    (S.RINGING, T.AGENT_NOT_REACHED): S.WAITING,
    (S.RINGING, T.RING_TIMEOUT): S.WAITING,
    (S.RINGING, T.HANGUP): S.ENDED,
    (S.RINGING, T.CALLER_HUNG_UP): S.ENDED,

    (S.CONNECTED, T.HOLD): S.HELD,
    (S.CONNECTED, T.TRANSFER_TO_EXTENSION): S.RINGING,
    (S.CONNECTED, T.TRANSFER_TO_QUEUE): S.WAITING,
    (S.CONNECTED, T.HANGUP): S.ENDED,
    (S.CONNECTED, T.CALLER_HUNG_UP): S.ENDED,

    (S.HELD, T.RETRIEVE): S.CONNECTED,
    (S.HELD, T.TRANSFER_TO_EXTENSION): S.RINGING,
    (S.HELD, T.TRANSFER_TO_QUEUE): S.WAITING,
    (S.HELD, T.HANGUP): S.ENDED,
    (S.HELD, T.CALLER_HUNG_UP): S.ENDED,

    (S.DIALING_AGENT, T.ANSWER): S.DIALING_CUSTOMER,
    (S.DIALING_AGENT, T.AGENT_ANSWERED): S.DIALING_CUSTOMER,
    (S.DIALING_AGENT, T.AGENT_NOT_REACHED): S.ENDED,
    (S.DIALING_AGENT, T.RING_TIMEOUT): S.ENDED,
    (S.DIALING_AGENT, T.CANCEL_ROUTE): S.ENDED,
    (S.DIALING_AGENT, T.HANGUP): S.ENDED,

    (S.DIALING_CUSTOMER, T.CUSTOMER_ANSWERED): S.CONNECTED,
    (S.DIALING_CUSTOMER, T.CUSTOMER_RING_TIMEOUT): S.ENDED,
    (S.DIALING_CUSTOMER, T.CANCEL_ROUTE): S.ENDED,
    (S.DIALING_CUSTOMER, T.HANGUP): S.ENDED,
}
"""``(state, trigger) -> next state``. A pair not in the table is an invalid transition:
for a command the PBX answers ``command_rejected``; for a simulated happening it is a
bug in the simulator."""

del S, T

LIVE_EXTENSION_STATES: Final = frozenset({CallState.RINGING, CallState.CONNECTED,
                                          CallState.HELD, CallState.DIALING_AGENT,
                                          CallState.DIALING_CUSTOMER})
"""States in which the call occupies an agent extension."""


class InvalidCallTransition(CallCenterError):
    """``trigger`` is not allowed in ``state`` (see :data:`TRANSITIONS`)."""

    code = "pbx_sim.invalid_transition"
    status = 409

    def __init__(self, state: CallState, trigger: Trigger) -> None:
        super().__init__(f"{trigger.value} is not allowed while the call is {state.value}")
        self.state = state
        self.trigger = trigger


def next_state(state: CallState, trigger: Trigger) -> CallState:
    """The state after ``trigger``; raise :class:`InvalidCallTransition` if not allowed."""
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise InvalidCallTransition(state, trigger) from None


def allowed_triggers(state: CallState) -> frozenset[Trigger]:
    """Triggers the table allows in ``state`` (for error messages and docs)."""
    return frozenset(t for (s, t) in TRANSITIONS if s is state)
