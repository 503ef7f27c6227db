"""The simulator's model without I/O: the transition table, delays, settings."""

from __future__ import annotations

import math
import random

import pytest

from callcenter.pbx_sim import (
    TRANSITIONS,
    CallState,
    Delay,
    InvalidCallTransition,
    PhoneProfile,
    SimulatorSettings,
    SimulatorSettingsError,
    Trigger,
    next_state,
)


def test_an_inbound_call_walks_from_waiting_to_ended() -> None:
    state = CallState.WAITING
    for trigger, expected in [
        (Trigger.PLAY, CallState.WAITING),
        (Trigger.ROUTE, CallState.RINGING),
        (Trigger.RING_TIMEOUT, CallState.WAITING),
        (Trigger.ROUTE, CallState.RINGING),
        (Trigger.AGENT_ANSWERED, CallState.CONNECTED),
        (Trigger.HOLD, CallState.HELD),
        (Trigger.RETRIEVE, CallState.CONNECTED),
        (Trigger.TRANSFER_TO_QUEUE, CallState.WAITING),
        (Trigger.CALLER_HUNG_UP, CallState.ENDED),
    ]:
        state = next_state(state, trigger)
        assert state is expected


@pytest.mark.parametrize(("state", "trigger"), [
    (CallState.RINGING, Trigger.HOLD),
    (CallState.WAITING, Trigger.ANSWER),
    (CallState.RINGING, Trigger.ROUTE),
    (CallState.CONNECTED, Trigger.RETRIEVE),
    (CallState.HELD, Trigger.HOLD),
    (CallState.WAITING, Trigger.CANCEL_ROUTE),
    (CallState.CONNECTED, Trigger.PLAY),
    (CallState.DIALING_CUSTOMER, Trigger.ANSWER),
])
def test_nonsense_transitions_raise_a_named_error(state: CallState, trigger: Trigger) -> None:
    with pytest.raises(InvalidCallTransition) as raised:
        next_state(state, trigger)
    assert raised.value.code == "pbx_sim.invalid_transition"
    assert state.value in raised.value.message


def test_an_ended_call_accepts_nothing() -> None:
    assert not [t for (s, t) in TRANSITIONS if s is CallState.ENDED]


def test_every_live_state_can_end() -> None:
    for state in CallState:
        if state is CallState.ENDED:
            continue
        assert TRANSITIONS.get((state, Trigger.HANGUP)) is CallState.ENDED, state


def test_delays_sample_their_distribution() -> None:
    rng = random.Random(3)
    assert Delay(2.0).sample(rng) == 2.0
    uniform = [Delay(1.0, "uniform", 0.5).sample(rng) for _ in range(1000)]
    assert min(uniform) >= 0.5
    assert max(uniform) <= 1.5
    exponential = [Delay(2.0, "exponential").sample(rng) for _ in range(20_000)]
    assert 1.9 < sum(exponential) / len(exponential) < 2.1
    assert Delay(math.inf).sample(rng) == math.inf


@pytest.mark.parametrize("build", [
    lambda: Delay(-1.0),
    lambda: Delay(1.0, "gaussian"),  # type: ignore[arg-type]
    lambda: Delay(1.0, "uniform", -0.5),
    lambda: Delay(math.inf, "exponential"),
    lambda: PhoneProfile(no_answer_rate=1.5),
    lambda: SimulatorSettings(extension_pattern="[unclosed"),
    lambda: SimulatorSettings(customer_no_answer_rate=-0.1),
    lambda: SimulatorSettings(default_ring_timeout_s=0),
    lambda: SimulatorSettings(reconnect_min_s=5, reconnect_max_s=1),
])
def test_bad_settings_fail_with_a_stable_code(build: object) -> None:
    assert callable(build)
    with pytest.raises(SimulatorSettingsError) as raised:
        build()
    assert raised.value.code == "pbx_sim.invalid_settings"


def test_per_extension_phone_overrides_the_default() -> None:
    slow = PhoneProfile(answer_delay=Delay(9.0))
    settings = SimulatorSettings(phones={"1001": slow})
    assert settings.phone_for("1001") is slow
    assert settings.phone_for("1002") == PhoneProfile()
