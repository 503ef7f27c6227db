"""Hypothesis: random event sequences through the engine and the reference router.

Both must emit identical commands (and refuse the same events with the same
codes); the invariants of DESIGN §3 hold after every step; a snapshot taken at
any point and restored gives the same commands for the rest of the sequence.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUpdated,
    CallbackRequested,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    ContactTransferred,
    Event,
    Exit,
    OfferAccepted,
    OfferRejected,
    OfferTimedOut,
    Overflow,
    PresenceRequested,
    QueueClosed,
    QueueConfig,
    QueueConfigured,
    QueueExits,
    QueueOpened,
    Relaxation,
    RequiredSkill,
    RouteFailed,
    Router,
    RouterConfig,
    RoutingError,
    Tick,
    WrapUpEnded,
)
from tests.routing.harness import T0, assert_invariants
from tests.routing.reference import ReferenceRouter

CONFIG = RouterConfig(reject_exclusion_s=30.0, preferred_fallback_s=12.0, transfer_fallback_s=9.0)

QUEUES = (
    QueueConfig(
        "voice_sales",
        "voice",
        required_skills=(RequiredSkill("s1", 3),),
        relaxation=(Relaxation(20.0, "s1", 1),),
        ring_timeout_s=10.0,
        wrap_up_s=5.0,
        max_wait_s=150.0,
        max_attempts=2,
        exits=QueueExits(max_wait=Exit("voicemail"), max_attempts=Exit("callback")),
    ),
    QueueConfig(
        "chat_support",
        "chat",
        strategy="most_skilled",
        required_skills=(RequiredSkill("s2", 2),),
        relaxation=(Relaxation(15.0, "s2", None),),
        ring_timeout_s=8.0,
        wrap_up_s=0.0,
    ),
    QueueConfig(
        "email",
        "email",
        strategy="least_occupied",
        max_size=3,
        ring_timeout_s=30.0,
        wrap_up_s=10.0,
        exits=QueueExits(queue_full=Exit("auto_reply")),
    ),
    QueueConfig(
        "voice_vip",
        "voice",
        strategy="round_robin",
        head_start_s=10.0,
        required_skills=(RequiredSkill("s3", 2),),
        overflow=Overflow(40.0, "voice_sales"),
        ring_timeout_s=10.0,
        wrap_up_s=3.0,
        exits=QueueExits(closed=Exit("overflow", "voice_sales"), no_agents=Exit("voicemail")),
    ),
)
QUEUE_NAMES = [q.name for q in QUEUES]
AGENTS = ["a1", "a2", "a3", "a4", "a5"]
TIERS = ["standard", "silver", "gold", "key", "strategic"]
SKILLS = ["s1", "s2", "s3"]
STEPS = [0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 12.0, 20.0, 45.0]

skills_st = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=3)
capacity_st = st.sampled_from(
    [
        None,
        {"voice": 1, "chat": 2, "email": 1, "callback": 1},
        {"chat": 3, "email": 2},
        {"voice": 1, "callback": 1},
        {"voice": 1, "chat": 1, "email": 0, "callback": 0},
    ]
)

_ACTION_PARAMS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "arrive": st.tuples(
        st.just("arrive"),
        st.sampled_from(QUEUE_NAMES),
        st.sampled_from(TIERS),
        st.lists(st.sampled_from(SKILLS), max_size=1),
        st.lists(st.sampled_from(AGENTS), max_size=2),
    ),
    "login": st.tuples(
        st.just("login"), st.sampled_from(AGENTS), skills_st, capacity_st, st.booleans()
    ),
    "logout": st.tuples(st.just("logout"), st.sampled_from(AGENTS)),
    "presence": st.tuples(
        st.just("presence"), st.sampled_from(AGENTS), st.sampled_from([True, True, False])
    ),
    "update": st.tuples(st.just("update"), st.sampled_from(AGENTS), skills_st, capacity_st),
    "transfer": st.tuples(
        st.just("transfer"), st.integers(0, 20), st.sampled_from([*QUEUE_NAMES, *AGENTS])
    ),
    "callback": st.tuples(
        st.just("callback"), st.integers(0, 20), st.sampled_from([None, 5.0, 30.0])
    ),
    "open": st.tuples(st.sampled_from(["open", "close"]), st.sampled_from(QUEUE_NAMES)),
    "tick": st.tuples(st.just("tick")),
}
for _kind in ("abandon", "accept", "reject", "timeout", "route_failed", "end", "wrap"):
    _ACTION_PARAMS[_kind] = st.tuples(st.just(_kind), st.integers(0, 20))

# Weights: lifecycle steps often enough that contacts get connected and wrapped up.
_KINDS = (
    ["arrive"] * 5
    + ["accept"] * 4
    + ["end"] * 3
    + ["wrap"] * 3
    + ["tick"] * 2
    + ["presence"] * 2
    + ["login", "logout", "update", "transfer", "callback", "open"]
    + ["abandon", "reject", "timeout", "route_failed"]
)
action_st = st.sampled_from(_KINDS).flatmap(lambda kind: _ACTION_PARAMS[kind])
plan_st = st.lists(st.tuples(st.sampled_from(STEPS), action_st), min_size=15, max_size=80)

_WANTED_STATE = {
    "accept": "alerting",
    "reject": "alerting",
    "timeout": "alerting",
    "route_failed": "alerting",
    "end": "connected",
    "wrap": "wrap_up",
}


def setup_events() -> list[Event]:
    """Queues, and a staffed floor so that routing happens from the first arrival."""
    return [
        *(QueueConfigured(T0, q) for q in QUEUES),
        AgentLoggedIn(T0, "a1", {"s1": 4, "s3": 2}),
        AgentLoggedIn(T0, "a2", {"s1": 2, "s2": 3}, {"voice": 1, "chat": 2, "email": 1}),
        AgentLoggedIn(T0, "a3", {"s2": 5, "s3": 3}, {"chat": 3, "email": 2}),
        AgentLoggedIn(T0, "a4", {"s1": 3, "s2": 2, "s3": 4}),
    ]


def build_event(router: Router, t: float, action: tuple[Any, ...], serial: int) -> Event:
    """Turn an abstract action into a concrete event, aimed using the router's state."""
    kind = action[0]
    contacts = sorted(router.contact_ids())
    if kind == "arrive":
        _, queue, tier, *rest = action
        extra = tuple(RequiredSkill(s, 2) for s in rest[0]) if rest else ()
        preferred = tuple(rest[1]) if rest else ()
        return ContactArrived(
            t, f"c{serial}", queue, tier=tier, required_skills=extra, preferred_agents=preferred
        )
    if kind == "login":
        _, agent, skills, capacity, available = action
        return AgentLoggedIn(
            t, agent, skills, capacity, "available" if available else "not_ready", "login"
        )
    if kind == "logout":
        return AgentLoggedOut(t, action[1])
    if kind == "presence":
        return PresenceRequested(
            t, action[1], "available" if action[2] else "not_ready", "" if action[2] else "break"
        )
    if kind == "update":
        return AgentUpdated(t, action[1], action[2], action[3])
    if kind in ("open", "close"):
        return (QueueOpened if kind == "open" else QueueClosed)(t, action[1])
    if kind == "tick" or not contacts:
        return Tick(t)
    index = action[1]
    wanted = _WANTED_STATE.get(kind)
    if wanted is not None:
        # Mostly aim at a contact in the right state; sometimes not (refusals).
        matching = [c for c in contacts if router.contact_snapshot(c).state == wanted]
        if matching and index % 7 != 6:
            contacts = matching
    cid = contacts[index % len(contacts)]
    snap = router.contact_snapshot(cid)
    agent = snap.agent_id or AGENTS[index % len(AGENTS)]
    if kind == "abandon":
        return ContactAbandoned(t, cid)
    if kind == "accept":
        return OfferAccepted(t, cid, agent)
    if kind == "reject":
        return OfferRejected(t, cid, agent, "busy")
    if kind == "timeout":
        return OfferTimedOut(t, cid, agent)
    if kind == "route_failed":
        return RouteFailed(t, cid, agent, "unreachable")
    if kind == "end":
        return ContactEnded(t, cid, "customer")
    if kind == "wrap":
        return WrapUpEnded(t, cid, "resolved")
    if kind == "transfer":
        target = action[2]
        if target in QUEUE_NAMES:
            return ContactTransferred(t, cid, to_queue=target)
        return ContactTransferred(t, cid, to_agent=target)
    if kind == "callback":
        due = None if action[2] is None else t + action[2]
        return CallbackRequested(t, cid, due)
    raise AssertionError(kind)


def outcome(router: Router, event: Event) -> tuple[str, Any]:
    try:
        return ("ok", router.handle(event))
    except RoutingError as exc:
        return (exc.code, exc.commands)


def run_plan(plan: list[tuple[float, tuple[Any, ...]]]) -> list[Event]:
    """Play `plan` on both routers, comparing at every step. Returns the events."""
    engine = Router(CONFIG)
    reference = ReferenceRouter(CONFIG)
    events: list[Event] = []
    for event in setup_events():
        assert engine.handle(event) == reference.handle(event)
        events.append(event)
    t = T0
    for serial, (dt, action) in enumerate(plan):
        t += dt
        event = build_event(engine, t, action, serial)
        events.append(event)
        got = outcome(engine, event)
        want = outcome(reference, event)
        assert got == want, (event, got, want)
        assert engine.next_deadline() == reference.next_deadline()
        assert_invariants(engine)
    return events


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_st)
def test_engine_and_reference_emit_identical_commands(
    plan: list[tuple[float, tuple[Any, ...]]],
) -> None:
    run_plan(plan)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_st, st.integers(0, 60))
def test_restore_then_same_events_gives_same_commands(
    plan: list[tuple[float, tuple[Any, ...]]], cut: int
) -> None:
    events = run_plan(plan)
    cut = min(cut + len(setup_events()), len(events))
    original = Router(CONFIG)
    for event in events[:cut]:
        outcome(original, event)
    snapshot = json.loads(json.dumps(original.snapshot()))
    restored = Router.restore(snapshot)
    assert json.dumps(restored.snapshot(), sort_keys=True) == json.dumps(snapshot, sort_keys=True)
    for event in events[cut:]:
        assert outcome(restored, event) == outcome(original, event)
        restored.check_invariants()
    assert restored.snapshot() == original.snapshot()
