"""State tables, refusals with stable codes, queries, codec, snapshot/restore."""

from __future__ import annotations

import json
from typing import Any

import pytest

from routing import (
    COMMAND_TYPES,
    CONTACT_TRANSITIONS,
    EVENT_TYPES,
    PRESENCE_TRANSITIONS,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUpdated,
    CallbackRequested,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    ContactTransferred,
    Event,
    InvalidEvent,
    InvalidSnapshot,
    InvalidTransition,
    OfferAccepted,
    OfferRejected,
    OfferTimedOut,
    PresenceRequested,
    QueueConfig,
    QueueConfigured,
    RequiredSkill,
    RouteFailed,
    Router,
    Tick,
    WrapUpEnded,
    command_from_dict,
    command_to_dict,
    event_from_dict,
    event_to_dict,
)
from tests.routing.harness import Sim


def _contact_in(state: str) -> Sim:
    """A sim with contact c1 in `state` (agent a1 involved where needed)."""
    sim = Sim()
    sim.queue("q", max_wait_s=50, exits=_callback_exit())
    if state in ("alerting", "connected", "wrap_up"):
        sim.login("a1")
    sim.arrive("c1", "q")
    if state in ("connected", "wrap_up"):
        sim.send(OfferAccepted(sim.t, "c1", "a1"))
    if state == "wrap_up":
        sim.send(ContactEnded(sim.t, "c1"))
    if state == "callback_offered":
        sim.after(50)
    if state == "callback_scheduled":
        sim.send(CallbackRequested(sim.t, "c1", sim.t + 100))
    assert sim.state("c1") == state
    return sim


def _callback_exit() -> Any:
    from routing import Exit, QueueExits

    return QueueExits(max_wait=Exit("callback"))


_TRIGGER_EVENTS: dict[str, Any] = {
    "accept": lambda t: OfferAccepted(t, "c1", "a1"),
    "reject": lambda t: OfferRejected(t, "c1", "a1"),
    "ring_timeout": lambda t: OfferTimedOut(t, "c1", "a1"),
    "route_failed": lambda t: RouteFailed(t, "c1", "a1"),
    "abandon": lambda t: ContactAbandoned(t, "c1"),
    "end": lambda t: ContactEnded(t, "c1"),
    "wrap_up_end": lambda t: WrapUpEnded(t, "c1", "x"),
    "transfer": lambda t: ContactTransferred(t, "c1", to_queue="q"),
    "callback_now": lambda t: CallbackRequested(t, "c1"),
    "callback_later": lambda t: CallbackRequested(t, "c1", t + 10),
}
_STATES = ["queued", "alerting", "connected", "wrap_up", "callback_offered", "callback_scheduled"]


@pytest.mark.parametrize("state", _STATES)
@pytest.mark.parametrize("trigger", sorted(_TRIGGER_EVENTS))
def test_contact_transition_table_is_enforced(state: str, trigger: str) -> None:
    sim = _contact_in(state)
    event = _TRIGGER_EVENTS[trigger](sim.t)
    if (state, trigger) in CONTACT_TRANSITIONS:
        sim.send(event)
    else:
        error = sim.refuse(event)
        assert isinstance(error, InvalidTransition)
        assert error.code == "contact.invalid_transition"
        assert (error.state, error.trigger) == (state, trigger)


def test_invalid_transition_raises_stable_code_and_leaves_state_untouched() -> None:
    sim = _contact_in("queued")
    before = sim.router.snapshot()
    with pytest.raises(InvalidTransition) as info:
        sim.router.handle(ContactEnded(sim.t, "c1"))
    assert info.value.code == "contact.invalid_transition"
    assert sim.router.snapshot() == before


def test_refused_event_returns_commands_of_timers_that_fired_first() -> None:
    sim = _contact_in("alerting")
    error = sim.refuse(ContactEnded(sim.t + 25, "c1"))  # ring timeout (20 s) first
    assert [type(c).__name__ for c in error.commands] == ["CancelOffer", "PresenceSet"]


def test_presence_transition_table_is_enforced() -> None:
    sim = Sim()
    sim.login("a1")
    assert sim.refuse(AgentLoggedIn(sim.t, "a1")).code == "agent.invalid_transition"
    sim.send(AgentLoggedOut(sim.t, "a1"))
    for event in (
        AgentLoggedOut(sim.t, "a1"),
        PresenceRequested(sim.t, "a1", "available"),
        PresenceRequested(sim.t, "a1", "not_ready", "x"),
    ):
        assert sim.refuse(event).code == "agent.invalid_transition"
    assert ("offline", "log_in_available") in PRESENCE_TRANSITIONS


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (ContactAbandoned(0, "nobody"), "contact.not_found"),
        (PresenceRequested(0, "ghost", "available"), "agent.not_found"),
        (ContactArrived(0, "c9", "no_such_queue"), "queue.not_found"),
        (ContactArrived(0, "c1", "q"), "contact.duplicate"),
        (ContactArrived(0, "c9", "q", channel="chat"), "routing.invalid_event"),
        (AgentUpdated(0, "a1", skills={"x": 11}), "routing.invalid_event"),
        (
            QueueConfigured(0, QueueConfig("bad", "voice", ring_timeout_s=0)),
            "routing.invalid_event",
        ),
        (ContactTransferred(0, "c1"), "routing.invalid_event"),
    ],
)
def test_errors_have_stable_codes(event: Event, code: str) -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("a1", presence="not_ready")
    sim.arrive("c1", "q")
    assert sim.refuse(event).code == code


def test_queue_snapshot_positions_and_longest_wait() -> None:
    sim = Sim()
    sim.queue("q")
    sim.arrive("c1", "q")
    sim.step(20)
    sim.arrive("c2", "q", tier="key")
    sim.step(5)
    sim.send(Tick(sim.t))
    snap = sim.router.queue_snapshot("q")
    assert snap.waiting == 2
    assert snap.positions == ("c2", "c1")
    assert snap.longest_wait_s == 25.0
    assert sim.router.contact_position("c1") == 2
    assert sim.router.queue_snapshot("q", limit=1).positions == ("c2",)


def test_estimated_wait_uses_handle_times_and_staffed_agents() -> None:
    sim = Sim()
    sim.queue("q", wrap_up_s=30)
    assert sim.router.queue_estimated_wait("q") is None  # nobody staffed
    sim.login("a1")
    sim.login("a2", presence="not_ready")  # logged in counts as staffed
    assert sim.router.queue_estimated_wait("q") == 1 * 180.0 / 2  # default AHT
    sim.arrive("c1", "q")
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    sim.step(110)
    sim.send(ContactEnded(sim.t, "c1"))
    sim.step(10)
    sim.send(WrapUpEnded(sim.t, "c1"))  # handle time 120 s
    sim.send(PresenceRequested(sim.t, "a1", "not_ready", "x"))
    sim.arrive("c2", "q")
    sim.arrive("c3", "q")
    assert sim.router.estimated_wait("c3") == 2 * 120.0 / 2
    assert sim.router.contact_snapshot("c3").estimated_wait_s == 120.0


def test_agent_snapshot_reports_contacts_and_occupancy() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("a1")
    sim.step(30)
    sim.arrive("c1", "q")
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    sim.step(30)
    sim.send(Tick(sim.t))
    snap = sim.router.agent_snapshot("a1")
    assert snap.contacts == (("c1", "voice", "connected"),)
    assert snap.occupancy == 0.5
    assert snap.idle_since is None


def test_next_deadline_is_the_earliest_timer() -> None:
    sim = Sim()
    sim.queue("q", ring_timeout_s=12)
    assert sim.router.next_deadline() is None
    sim.login("a1")
    sim.arrive("c1", "q")
    assert sim.router.next_deadline() == sim.t + 12
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    assert sim.router.next_deadline() is None


def _one_of_each_event() -> list[Event]:
    from routing import Exit, Overflow, QueueClosed, QueueExits, QueueOpened, Relaxation

    config = QueueConfig(
        "q",
        "voice",
        required_skills=(RequiredSkill("de", 3),),
        relaxation=(Relaxation(10, "de", None), Relaxation(5, "de", 2)),
        overflow=Overflow(30, "other"),
        exits=QueueExits(closed=Exit("voicemail"), max_attempts=Exit("overflow", "other")),
    )
    return [
        AgentLoggedIn(1.5, "a1", {"de": 3}, {"voice": 1}, "not_ready", "login"),
        AgentLoggedOut(2, "a1"),
        PresenceRequested(3, "a1", "not_ready", "lunch"),
        AgentUpdated(4, "a1", None, {"chat": 2}),
        QueueConfigured(5, config),
        QueueOpened(6, "q"),
        QueueClosed(7, "q"),
        ContactArrived(
            8,
            "c1",
            "q",
            "callback",
            "key",
            (RequiredSkill("x", 1),),
            ("a1", "a2"),
            5.0,
            "ext-1",
            "cust-1",
            1.0,
        ),
        ContactAbandoned(9, "c1"),
        OfferAccepted(10, "c1", "a1"),
        OfferRejected(11, "c1", "a1", "busy"),
        OfferTimedOut(12, "c1", "a1"),
        RouteFailed(13, "c1", "a1", "unreachable"),
        ContactEnded(14, "c1", "customer"),
        WrapUpEnded(15, "c1", "sold"),
        ContactTransferred(16, "c1", to_agent="a2"),
        CallbackRequested(17, "c1", 99.0),
        Tick(18),
    ]


def test_every_event_kind_round_trips_through_json() -> None:
    events = _one_of_each_event()
    assert {type(e) for e in events} == set(EVENT_TYPES)
    for event in events:
        data = json.loads(json.dumps(event_to_dict(event)))
        assert data["kind"] == type(event).__name__
        assert event_from_dict(data) == event


def test_every_command_kind_round_trips_through_json() -> None:
    sim = Sim()
    for event in [
        QueueConfigured(0, QueueConfig("other", "voice")),
        *(e for e in _one_of_each_event() if isinstance(e, QueueConfigured)),
    ]:
        sim.send(event)
    # The differential harness round-trips every command it sees; make sure
    # a session produces every kind at least once.
    from tests.routing.test_rules import (
        test_abandon_while_alerting_cancels_offer_and_frees_agent,
        test_closed_queue_overflows,
        test_not_ready_while_busy_is_pending_until_last_contact_ends,
        test_scheduled_callback_due_then_offered_with_original_key,
        test_wrap_up_timeout_closes_with_default_disposition,
    )

    seen: set[type[Any]] = set()
    original_send = Sim.send

    def spy(self: Sim, event: Event) -> list[Any]:
        out = original_send(self, event)
        for command in out:
            seen.add(type(command))
            data = json.loads(json.dumps(command_to_dict(command)))
            assert command_from_dict(data) == command
        return out

    Sim.send = spy  # type: ignore[method-assign]
    try:
        test_abandon_while_alerting_cancels_offer_and_frees_agent()
        test_closed_queue_overflows()
        test_not_ready_while_busy_is_pending_until_last_contact_ends()
        test_scheduled_callback_due_then_offered_with_original_key()
        test_wrap_up_timeout_closes_with_default_disposition()
    finally:
        Sim.send = original_send  # type: ignore[method-assign]
    assert seen == set(COMMAND_TYPES)


def test_codec_rejects_what_does_not_fit() -> None:
    with pytest.raises(InvalidEvent):
        event_from_dict({"kind": "Nope", "at": 1})
    with pytest.raises(InvalidEvent):
        event_from_dict({"kind": "Tick", "at": "soon"})
    with pytest.raises(InvalidEvent):
        event_from_dict({"kind": "ContactAbandoned", "at": 1})
    with pytest.raises(InvalidEvent):
        event_from_dict({"kind": "PresenceRequested", "at": 1, "agent_id": "a", "presence": "x"})


def test_snapshot_is_plain_json_and_restores_the_same_behaviour() -> None:
    sim = Sim()
    sim.queue("q", ring_timeout_s=10)
    sim.login("a1")
    sim.arrive("c1", "q", tier="gold", preferred_agents=("a2",))
    sim.arrive("c2", "q")
    snapshot = json.loads(json.dumps(sim.router.snapshot()))
    restored = Router.restore(snapshot)
    for event in [
        Tick(sim.t + 5),
        AgentLoggedIn(sim.t + 6, "a2"),
        OfferAccepted(sim.t + 7, "c1", "a2"),
        Tick(sim.t + 40),
    ]:
        assert restored.handle(event) == sim.router.handle(event)
        restored.check_invariants()
    assert restored.snapshot() == sim.router.snapshot()


def test_restore_refuses_a_foreign_snapshot() -> None:
    with pytest.raises(InvalidSnapshot):
        Router.restore({"version": 99})
    with pytest.raises(InvalidSnapshot):
        Router.restore({"version": 1, "config": {}})
