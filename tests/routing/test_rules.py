"""One named test per rule of DESIGN §3 (and issue 4).

Every step also runs through the reference router (identical commands) and the
invariant checks (see `harness.Sim.send`). The clock is fake: `sim.after(s)`
sends a Tick `s` seconds later; nothing sleeps.
"""

from __future__ import annotations

from routing import (
    AgentLoggedOut,
    AgentUpdated,
    CallbackDue,
    CallbackRequested,
    CancelOffer,
    ContactAbandoned,
    ContactAbandonedRecorded,
    ContactCompleted,
    ContactConnected,
    ContactEnded,
    ContactExited,
    ContactOverflowed,
    ContactQueued,
    ContactTransferred,
    Exit,
    OfferAccepted,
    OfferContact,
    OfferRejected,
    OfferTimedOut,
    Overflow,
    PresenceRequested,
    PresenceSet,
    QueueClosed,
    QueueExits,
    Relaxation,
    RequiredSkill,
    RouteFailed,
    RouterConfig,
    StartWrapUp,
    WrapUpEnded,
)
from tests.routing.harness import Sim, of_type

# ---------------------------------------------------------------- ordering


def _queue_then_free_agent(sim: Sim, arrivals: list[tuple[str, str, float]]) -> list[str]:
    """Contacts (id, tier, seconds after the previous) wait; one agent frees
    up at a time; returns the order in which they were offered."""
    sim.queue("q", ring_timeout_s=1000)
    for cid, tier, gap in arrivals:
        sim.step(gap)
        sim.arrive(cid, "q", tier=tier)
    order: list[str] = []
    for n in range(len(arrivals)):
        sim.step(1)
        out = sim.login(f"a{n}")
        order += [c for c, _ in sim.offers(out)]
    return order


def test_key_account_overtakes_standard_within_head_start() -> None:
    sim = Sim()
    # The standard customer arrived 59 s before the key account (head start 60 s).
    order = _queue_then_free_agent(sim, [("std", "standard", 0), ("key", "key", 59)])
    assert order == ["key", "std"]


def test_standard_contact_waiting_longer_than_head_start_goes_first() -> None:
    sim = Sim()
    order = _queue_then_free_agent(sim, [("std", "standard", 0), ("key", "key", 61)])
    assert order == ["std", "key"]


def test_equal_virtual_arrival_ties_on_arrival_sequence() -> None:
    sim = Sim()
    # silver (15 s) arriving 15 s after standard has the same virtual arrival.
    order = _queue_then_free_agent(sim, [("std", "standard", 0), ("silver", "silver", 15)])
    assert order == ["std", "silver"]


def test_tier_head_starts_rank_strategic_over_gold() -> None:
    sim = Sim()
    order = _queue_then_free_agent(
        sim, [("gold", "gold", 0), ("strategic", "strategic", 80), ("std", "standard", 0)]
    )
    assert order == ["strategic", "gold", "std"]


def test_queue_head_start_adds_to_tier_head_start() -> None:
    sim = Sim()
    sim.queue("plain", ring_timeout_s=1000)
    sim.queue("vip", ring_timeout_s=1000, head_start_s=30)
    sim.arrive("plain1", "plain")
    sim.step(29)
    sim.arrive("vip1", "vip")
    sim.step(1)
    first = sim.offers(sim.login("a1"))
    assert first == [("vip1", "a1")]
    reason = of_type(sim.log, OfferContact)[0].reason
    assert reason.key == (0, sim.t - 1 - 30, 1)


def test_priority_class_is_strict() -> None:
    sim = Sim()
    sim.queue("normal", ring_timeout_s=1000)
    sim.queue("emergency", ring_timeout_s=1000, priority_class=-1)
    sim.arrive("k", "normal", tier="strategic")
    sim.step(600)
    sim.arrive("e", "emergency")
    assert sim.offers(sim.login("a1")) == [("e", "a1")]


def test_order_never_changes_while_contacts_wait() -> None:
    sim = Sim()
    sim.queue("q", ring_timeout_s=1000)
    sim.arrive("c1", "q", tier="gold")
    sim.step(10)
    sim.arrive("c2", "q")
    keys = {cid: sim.router.contact_snapshot(cid).key for cid in ("c1", "c2")}
    sim.after(3600)
    assert sim.router.queue_snapshot("q").positions == ("c1", "c2")
    assert {cid: sim.router.contact_snapshot(cid).key for cid in ("c1", "c2")} == keys


# ----------------------------------------------------- presence and capacity


def test_presence_is_separate_from_contact_state() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    assert sim.presence("a1") == ("available", "")
    assert sim.router.agent_snapshot("a1").contacts == (("c1", "voice", "connected"),)


def test_not_ready_while_busy_is_pending_until_last_contact_ends() -> None:
    sim = Sim()
    sim.queue("chat", "chat", wrap_up_s=10)
    sim.login("a1", capacity={"chat": 2})
    sim.arrive("c1", "chat")
    sim.arrive("c2", "chat")
    out = sim.send(PresenceRequested(sim.t, "a1", "not_ready", "lunch"))
    assert out == [PresenceSet(sim.t, "a1", "not_ready", "lunch", pending=True)]
    assert sim.router.agent_snapshot("a1").pending_reason == "lunch"
    for cid in ("c1", "c2"):
        sim.send(OfferAccepted(sim.t, cid, "a1"))
        sim.send(ContactEnded(sim.t, cid))
    sim.step(1)
    assert of_type(sim.send(WrapUpEnded(sim.t, "c1", "ok")), PresenceSet) == []
    out = sim.send(WrapUpEnded(sim.t, "c2", "ok"))
    assert of_type(out, PresenceSet) == [PresenceSet(sim.t, "a1", "not_ready", "lunch")]


def test_pending_not_ready_blocks_new_offers() -> None:
    sim = Sim()
    sim.queue("chat", "chat")
    sim.login("a1", capacity={"chat": 3})
    sim.arrive("c1", "chat")
    sim.send(PresenceRequested(sim.t, "a1", "not_ready", "break"))
    assert sim.offers(sim.arrive("c2", "chat")) == []


def test_available_cancels_pending_not_ready() -> None:
    sim = Sim()
    sim.queue("chat", "chat")
    sim.login("a1", capacity={"chat": 3})
    sim.arrive("c1", "chat")
    sim.arrive("c2", "chat")
    sim.send(PresenceRequested(sim.t, "a1", "not_ready", "break"))
    out = sim.send(PresenceRequested(sim.t, "a1", "available"))
    assert sim.router.agent_snapshot("a1").pending_reason is None
    assert sim.offers(out) == []  # both chats were already offered to a1
    assert sim.offers(sim.arrive("c3", "chat")) == [("c3", "a1")]


def test_chat_capacity_allows_three_concurrent_chats() -> None:
    sim = Sim()
    sim.queue("chat", "chat")
    for n in range(4):
        sim.arrive(f"c{n}", "chat")
    out = sim.login("a1")  # default chat capacity 3
    assert sim.offers(out) == [("c0", "a1"), ("c1", "a1"), ("c2", "a1")]
    assert sim.router.contact_position("c3") == 1


def test_voice_is_exclusive_with_other_channels() -> None:
    sim = Sim()
    sim.queue("voice")
    sim.queue("chat", "chat")
    sim.login("a1")
    sim.arrive("chat1", "chat")
    assert sim.offers(sim.arrive("call1", "voice")) == []  # a chat is open
    sim.send(OfferAccepted(sim.t, "chat1", "a1"))
    sim.send(ContactEnded(sim.t, "chat1"))
    out = sim.send(WrapUpEnded(sim.t, "chat1"))
    assert sim.offers(out) == [("call1", "a1")]
    assert sim.offers(sim.arrive("chat2", "chat")) == []  # a call is open


def test_callback_is_exclusive_like_voice() -> None:
    sim = Sim()
    sim.queue("voice")
    sim.queue("email", "email")
    sim.login("a1")
    sim.arrive("cb", "voice", channel="callback")
    assert sim.offers(sim.arrive("mail", "email")) == []


def test_idle_since_is_when_last_contact_ended() -> None:
    sim = Sim()
    sim.queue("q", wrap_up_s=0)
    sim.login("a1")
    sim.login("a2")
    sim.arrive("c1", "q")  # a1 (tie on idle, then id)
    sim.arrive("c2", "q")  # a2
    sim.step(5)
    sim.send(OfferAccepted(sim.t, "c2", "a2"))
    sim.send(ContactEnded(sim.t, "c2"))  # a2 idle since now
    sim.step(5)
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    sim.send(ContactEnded(sim.t, "c1"))  # a1 idle since now (later)
    sim.step(5)
    assert sim.offers(sim.arrive("c3", "q")) == [("c3", "a2")]


def test_idle_since_per_channel_for_partly_busy_agent() -> None:
    sim = Sim()
    sim.queue("chat", "chat", wrap_up_s=0)
    sim.login("a1", capacity={"chat": 2})
    sim.step(1)
    sim.login("a2", capacity={"chat": 2})
    for cid in ("x1", "x2", "x3"):
        sim.arrive(cid, "chat")
    assert sim.offers() == [("x1", "a1"), ("x2", "a1"), ("x3", "a2")]
    for cid, agent in (("x1", "a1"), ("x2", "a1"), ("x3", "a2")):
        sim.send(OfferAccepted(sim.t, cid, agent))
    sim.step(10)
    sim.send(ContactEnded(sim.t, "x2"))  # a1 keeps x1; its last chat ended now
    # a2 (partly busy, no chat ended since login) has idled longer on chat.
    assert sim.offers(sim.arrive("x4", "chat")) == [("x4", "a2")]
    sim.send(OfferAccepted(sim.t, "x4", "a2"))
    sim.step(10)
    sim.send(ContactEnded(sim.t, "x3"))
    sim.send(ContactEnded(sim.t, "x4"))  # a2 free of everything since now
    assert sim.offers(sim.arrive("x5", "chat")) == [("x5", "a1")]


# ----------------------------------------------------------------- eligibility


def test_agent_below_min_level_is_not_eligible() -> None:
    sim = Sim()
    sim.queue("q", required_skills=(RequiredSkill("de", 5),))
    sim.login("weak", {"de": 4})
    assert sim.offers(sim.arrive("c1", "q")) == []
    assert sim.offers(sim.login("strong", {"de": 5})) == [("c1", "strong")]


def test_contact_required_skills_add_to_the_queue() -> None:
    sim = Sim()
    sim.queue("q", required_skills=(RequiredSkill("de", 2),))
    sim.login("a1", {"de": 9})
    sim.login("a2", {"de": 3, "returns": 4})
    out = sim.arrive("c1", "q", required_skills=(RequiredSkill("returns", 3),))
    assert sim.offers(out) == [("c1", "a2")]


def test_relaxation_lowers_min_level_after_wait() -> None:
    sim = Sim()
    sim.queue("q", required_skills=(RequiredSkill("de", 5),), relaxation=(Relaxation(30, "de", 2),))
    sim.login("a1", {"de": 3})
    sim.arrive("c1", "q")
    assert sim.offers(sim.after(29.9)) == []
    out = sim.after(1)
    assert sim.offers(out) == [("c1", "a1")]
    offer = of_type(out, OfferContact)[0]
    assert offer.at == sim.t - 0.9  # at the relaxation deadline, not at the tick
    assert offer.reason.relaxation_step == 1


def test_relaxation_drops_skill_after_wait() -> None:
    sim = Sim()
    sim.queue(
        "q",
        required_skills=(RequiredSkill("de", 5), RequiredSkill("billing", 1)),
        relaxation=(Relaxation(10, "billing", None),),
    )
    sim.login("a1", {"de": 6})
    sim.arrive("c1", "q")
    assert sim.router.next_deadline() == sim.t + 10
    assert sim.offers(sim.after(10)) == [("c1", "a1")]


def test_preferred_agent_only_until_fallback() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("manager")
    sim.send(PresenceRequested(sim.t, "manager", "not_ready", "meeting"))
    sim.login("other")
    out = sim.arrive("c1", "q", tier="key", preferred_agents=("manager",), preferred_fallback_s=20)
    assert sim.offers(out) == []
    out = sim.after(20)
    assert sim.offers(out) == [("c1", "other")]
    assert of_type(out, OfferContact)[0].reason.preferred_phase is False


def test_preferred_agent_gets_contact_when_free() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("other")
    sim.login("last_agent")
    sim.send(PresenceRequested(sim.t, "last_agent", "not_ready", "busy"))
    sim.arrive("c1", "q", preferred_agents=("last_agent",), preferred_fallback_s=60)
    sim.step(5)
    out = sim.send(PresenceRequested(sim.t, "last_agent", "available"))
    assert sim.offers(out) == [("c1", "last_agent")]
    assert of_type(out, OfferContact)[0].reason.preferred_phase is True


# ------------------------------------------------------------------ strategies


def test_longest_idle_picks_longest_idle_agent() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("b")
    sim.step(5)
    sim.login("a")
    assert sim.offers(sim.arrive("c1", "q")) == [("c1", "b")]


def test_most_skilled_picks_highest_summed_level() -> None:
    sim = Sim()
    sim.queue(
        "q",
        strategy="most_skilled",
        required_skills=(RequiredSkill("de", 1), RequiredSkill("tv", 1)),
    )
    sim.login("idle_longest", {"de": 5, "tv": 5, "fr": 10})
    sim.step(1)
    sim.login("expert", {"de": 9, "tv": 2})
    out = sim.arrive("c1", "q")
    assert sim.offers(out) == [("c1", "expert")]
    assert of_type(out, OfferContact)[0].reason.candidates == 2


def test_least_occupied_picks_lowest_occupancy() -> None:
    sim = Sim()
    sim.queue("work", wrap_up_s=0)
    sim.queue("q", strategy="least_occupied")
    sim.login("busy_one")
    sim.login("quiet_one")
    sim.arrive("w1", "work")  # busy_one (tie on idle, id order)
    sim.send(OfferAccepted(sim.t, "w1", "busy_one"))
    sim.step(600)
    sim.send(ContactEnded(sim.t, "w1"))  # busy_one now idle longest? no: just freed
    sim.step(1)
    # quiet_one idles longest too, so put busy_one first on idle time:
    sim.send(PresenceRequested(sim.t, "quiet_one", "not_ready", "x"))
    sim.send(PresenceRequested(sim.t, "quiet_one", "available"))
    assert sim.router.agent_snapshot("busy_one").occupancy > 0.9
    assert sim.offers(sim.arrive("c1", "q")) == [("c1", "quiet_one")]


def test_round_robin_cycles_agents_in_id_order() -> None:
    sim = Sim()
    sim.queue("q", "chat", strategy="round_robin", wrap_up_s=0)
    for agent in ("a3", "a1", "a2"):
        sim.login(agent, capacity={"chat": 5})
    got = [sim.offers(sim.arrive(f"c{n}", "q"))[0][1] for n in range(5)]
    assert got == ["a1", "a2", "a3", "a1", "a2"]


def test_ties_end_on_agent_id() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("zed")
    sim.login("amy")  # same idle_since
    assert sim.offers(sim.arrive("c1", "q")) == [("c1", "amy")]


def test_agent_freeing_up_takes_lowest_key_contact_across_its_queues() -> None:
    sim = Sim()
    sim.queue("sales", required_skills=(RequiredSkill("sales", 1),))
    sim.queue("support", required_skills=(RequiredSkill("support", 1),))
    sim.arrive("s1", "sales")
    sim.step(1)
    sim.arrive("k1", "support", tier="key")  # virtual arrival 59 s earlier
    sim.step(1)
    out = sim.login("a1", {"sales": 1, "support": 1})
    assert sim.offers(out) == [("k1", "a1")]


def test_many_matches_at_once_take_contacts_in_key_order() -> None:
    sim = Sim()
    sim.queue("chat_a", "chat")
    sim.queue("chat_b", "chat", strategy="most_skilled", required_skills=(RequiredSkill("x", 1),))
    sim.arrive("b1", "chat_b")
    sim.step(1)
    sim.arrive("a1", "chat_a")
    sim.step(1)
    sim.arrive("b2", "chat_b", tier="gold")
    sim.step(1)
    sim.arrive("a2", "chat_a")
    sim.login("low", {"x": 1}, capacity={"chat": 2}, presence="not_ready")
    sim.login("high", {"x": 9}, capacity={"chat": 2}, presence="not_ready")
    sim.step(1)
    # One event, many matches: "high" (capacity 2) takes the lowest keys it is
    # eligible for across its queues: b2 (gold head start), then b1.
    out = sim.send(PresenceRequested(sim.t, "high", "available"))
    assert sim.offers(out) == [("b2", "high"), ("b1", "high")]
    out = sim.send(PresenceRequested(sim.t, "low", "available"))
    assert sim.offers(out) == [("a1", "low"), ("a2", "low")]


def test_relaxation_batch_matches_in_key_order() -> None:
    sim = Sim()
    sim.queue("q", required_skills=(RequiredSkill("de", 5),), relaxation=(Relaxation(30, "de", 1),))
    sim.queue(
        "q2", required_skills=(RequiredSkill("de", 5),), relaxation=(Relaxation(30, "de", 1),)
    )
    sim.arrive("std", "q2")
    sim.arrive("gold", "q", tier="gold")  # same instant, lower key
    sim.login("a1", {"de": 1})
    out = sim.after(30)
    assert sim.offers(out) == [("gold", "a1")]


# ---------------------------------------------------------------------- offers


def test_accept_connects() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.step(4)
    out = sim.send(OfferAccepted(sim.t, "c1", "a1"))
    assert out == [ContactConnected(sim.t, "c1", "a1", "q", 4.0)]
    assert sim.state("c1") == "connected"


def test_reject_puts_contact_back_with_key_unchanged() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("a1")
    sim.arrive("c1", "q", tier="gold")
    sim.step(1)
    sim.arrive("c2", "q")
    key = sim.router.contact_snapshot("c1").key
    out = sim.send(OfferRejected(sim.t, "c1", "a1"))
    assert of_type(out, CancelOffer) == [CancelOffer(sim.t, "c1", "a1", "rejected")]
    # a1 is excluded for c1, so it takes c2; c1 keeps its key and place.
    assert sim.offers(out) == [("c2", "a1")]
    assert sim.router.contact_snapshot("c1").key == key
    assert sim.router.contact_position("c1") == 1


def test_rejecting_agent_is_excluded_until_expiry() -> None:
    sim = Sim(RouterConfig(reject_exclusion_s=60))
    sim.queue("q", max_attempts=5)
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.send(OfferRejected(sim.t, "c1", "a1"))
    assert sim.router.next_deadline() == sim.t + 60
    assert sim.offers(sim.after(59.5)) == []
    out = sim.after(0.5)
    assert sim.offers(out) == [("c1", "a1")]
    assert of_type(out, OfferContact)[0].attempt == 2


def test_ring_timeout_cancels_offer_and_puts_contact_back() -> None:
    sim = Sim()
    sim.queue("q", ring_timeout_s=15)
    sim.login("a1")
    sim.login("a2")
    sim.arrive("c1", "q")
    assert sim.router.next_deadline() == sim.t + 15
    out = sim.after(20)
    assert out[:2] == [
        CancelOffer(sim.t - 5, "c1", "a1", "timeout"),
        PresenceSet(sim.t - 5, "a1", "not_ready", "missed"),
    ]
    assert sim.offers(out) == [("c1", "a2")]


def test_missed_offer_puts_agent_not_ready() -> None:
    sim = Sim()
    sim.queue("q", ring_timeout_s=10)
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.after(10)
    assert sim.presence("a1") == ("not_ready", "missed")
    assert sim.state("c1") == "queued"


def test_explicit_timeout_from_pbx_has_the_same_effect() -> None:
    sim = Sim()
    sim.queue("q", ring_timeout_s=30)
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.step(3)
    out = sim.send(OfferTimedOut(sim.t, "c1", "a1"))
    assert out == [
        CancelOffer(sim.t, "c1", "a1", "timeout"),
        PresenceSet(sim.t, "a1", "not_ready", "missed"),
    ]


def test_late_duplicate_timeout_is_refused_harmlessly() -> None:
    sim = Sim()
    sim.queue("q", ring_timeout_s=10)
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.after(10)  # the router timed the offer out itself
    error = sim.refuse(OfferTimedOut(sim.t, "c1", "a1"))
    assert error.code == "contact.invalid_transition"


def test_route_failure_puts_contact_back_and_agent_not_ready() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("a1")
    sim.login("a2")
    sim.arrive("c1", "q")
    key = sim.router.contact_snapshot("c1").key
    out = sim.send(RouteFailed(sim.t, "c1", "a1", "unreachable"))
    assert out[:2] == [
        CancelOffer(sim.t, "c1", "a1", "route_failed"),
        PresenceSet(sim.t, "a1", "not_ready", "route_failed"),
    ]
    assert sim.offers(out) == [("c1", "a2")]
    assert of_type(out, OfferContact)[0].reason.key == key


def test_only_skilled_agent_rejects_then_exit_after_max_attempts() -> None:
    sim = Sim(RouterConfig(reject_exclusion_s=30))
    sim.queue(
        "q",
        required_skills=(RequiredSkill("jp", 3),),
        max_attempts=3,
        exits=QueueExits(max_attempts=Exit("voicemail")),
    )
    sim.login("only", {"jp": 5})
    sim.arrive("c1", "q")
    for attempt in (1, 2):
        assert of_type(sim.log, OfferContact)[-1].attempt == attempt
        sim.send(OfferRejected(sim.t, "c1", "only"))
        sim.after(30)
    assert of_type(sim.log, OfferContact)[-1].attempt == 3
    out = sim.send(OfferRejected(sim.t, "c1", "only"))
    assert of_type(out, ContactExited) == [
        ContactExited(sim.t, "c1", "q", "voicemail", "max_attempts", 60.0)
    ]
    assert "c1" not in sim.router.contact_ids()


def test_logout_recalls_alerting_offer_without_penalty() -> None:
    sim = Sim()
    sim.queue("q", max_attempts=1, exits=QueueExits(max_attempts=Exit("voicemail")))
    sim.login("a1")
    sim.login("a2")
    sim.send(PresenceRequested(sim.t, "a2", "not_ready", "x"))
    sim.arrive("c1", "q")
    out = sim.send(AgentLoggedOut(sim.t, "a1"))
    assert out[0] == CancelOffer(sim.t, "c1", "a1", "logged_out")
    out = sim.send(PresenceRequested(sim.t, "a2", "available"))
    assert of_type(out, OfferContact)[0].attempt == 1


def test_logout_refused_while_connected() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    assert sim.refuse(AgentLoggedOut(sim.t, "a1")).code == "agent.invalid_transition"


# ----------------------------------------------------------------------- exits


def test_no_skilled_agent_logged_in_takes_no_agents_exit() -> None:
    sim = Sim()
    sim.queue(
        "q",
        required_skills=(RequiredSkill("ko", 1),),
        exits=QueueExits(no_agents=Exit("voicemail")),
    )
    sim.login("a1", {"en": 9})
    out = sim.arrive("c1", "q")
    assert out == [ContactExited(sim.t, "c1", "q", "voicemail", "no_agents", 0.0)]
    sim.login("a2", {"ko": 1})
    sim.send(PresenceRequested(sim.t, "a2", "not_ready", "x"))  # logged in counts
    assert of_type(sim.arrive("c2", "q"), ContactQueued)


def test_max_wait_exit_to_voicemail() -> None:
    sim = Sim()
    sim.queue("q", max_wait_s=120, exits=QueueExits(max_wait=Exit("voicemail")))
    sim.arrive("c1", "q")
    assert sim.router.next_deadline() == sim.t + 120
    out = sim.after(500)
    assert out == [ContactExited(sim.t - 380, "c1", "q", "voicemail", "max_wait", 120.0)]


def test_queue_full_exit_auto_reply() -> None:
    sim = Sim()
    sim.queue("mail", "email", max_size=2, exits=QueueExits(queue_full=Exit("auto_reply")))
    sim.arrive("m1", "mail")
    sim.arrive("m2", "mail")
    out = sim.arrive("m3", "mail")
    assert out == [ContactExited(sim.t, "m3", "mail", "auto_reply", "queue_full", 0.0)]


def test_closed_queue_overflows() -> None:
    sim = Sim()
    sim.queue("night")
    sim.queue("day", exits=QueueExits(closed=Exit("overflow", "night")))
    sim.send(QueueClosed(sim.t, "day"))
    out = sim.arrive("c1", "day")
    assert out == [
        ContactExited(sim.t, "c1", "day", "overflow", "closed", 0.0, "night"),
        ContactOverflowed(sim.t, "c1", "day", "night", "closed"),
        ContactQueued(sim.t, "c1", "night", 1, None),
    ]


def test_overflow_after_keeps_arrived_at() -> None:
    sim = Sim()
    sim.queue("backup")
    sim.queue("main", overflow=Overflow(45, "backup"))
    sim.arrive("old", "main")
    sim.step(10)
    sim.arrive("young", "backup")
    out = sim.after(40)
    assert of_type(out, ContactOverflowed) == [
        ContactOverflowed(sim.t - 5, "old", "main", "backup", "max_wait")
    ]
    assert sim.router.queue_snapshot("backup").positions == ("old", "young")
    assert sim.router.contact_snapshot("old").arrived_at == sim.t - 50


def test_callback_exit_then_callback_request_keeps_key() -> None:
    sim = Sim()
    sim.queue("q", max_wait_s=60, exits=QueueExits(max_wait=Exit("callback")))
    sim.arrive("c1", "q")
    key = sim.router.contact_snapshot("c1").key
    sim.after(60)
    assert sim.state("c1") == "callback_offered"
    sim.step(5)
    sim.arrive("c2", "q")
    out = sim.send(CallbackRequested(sim.t, "c1"))
    assert of_type(out, ContactQueued) == [ContactQueued(sim.t, "c1", "q", 1, None)]
    assert sim.router.contact_snapshot("c1").key == key
    assert sim.router.contact_snapshot("c1").channel == "callback"


def test_overflow_chain_stops_after_max_hops() -> None:
    sim = Sim(RouterConfig(max_overflow_hops=2))
    sim.queue("c")
    sim.queue("b", exits=QueueExits(closed=Exit("overflow", "c")))
    sim.queue("a", exits=QueueExits(closed=Exit("overflow", "b")))
    sim.queue("c", exits=QueueExits(closed=Exit("overflow", "a")))
    for q in ("a", "b", "c"):
        sim.send(QueueClosed(sim.t, q))
    out = sim.arrive("x", "a")
    assert [o.to_queue for o in of_type(out, ContactOverflowed)] == ["b", "c"]
    assert of_type(out, ContactQueued) == [ContactQueued(sim.t, "x", "c", 1, None)]


# --------------------------------------------------------------------- abandon


def test_abandon_while_queued_records_wait() -> None:
    sim = Sim()
    sim.queue("q")
    sim.arrive("c1", "q")
    sim.step(42)
    out = sim.send(ContactAbandoned(sim.t, "c1"))
    assert out == [ContactAbandonedRecorded(sim.t, "c1", "q", 42.0, False)]
    assert sim.router.queue_snapshot("q").waiting == 0


def test_short_abandon_flagged() -> None:
    sim = Sim(RouterConfig(short_abandon_s=5))
    sim.queue("q")
    sim.arrive("c1", "q")
    sim.step(4.9)
    out = sim.send(ContactAbandoned(sim.t, "c1"))
    assert of_type(out, ContactAbandonedRecorded)[0].short is True


def test_abandon_while_alerting_cancels_offer_and_frees_agent() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.arrive("c2", "q")
    sim.step(7)
    out = sim.send(ContactAbandoned(sim.t, "c1"))
    assert out[:2] == [
        CancelOffer(sim.t, "c1", "a1", "abandoned"),
        ContactAbandonedRecorded(sim.t, "c1", "q", 7.0, False, "a1"),
    ]
    assert sim.offers(out) == [("c2", "a1")]


# ------------------------------------------------------------------- callbacks


def test_callback_keeps_key() -> None:
    sim = Sim()
    sim.queue("q")
    sim.arrive("c1", "q")
    sim.step(30)
    sim.arrive("c2", "q")
    key = sim.router.contact_snapshot("c1").key
    out = sim.send(CallbackRequested(sim.t, "c1"))
    assert out == []
    assert sim.router.contact_snapshot("c1").key == key
    assert sim.router.queue_snapshot("q").positions == ("c1", "c2")
    out = sim.login("a1")
    assert sim.offers(out) == [("c1", "a1")]
    assert of_type(out, OfferContact)[0].channel == "callback"


def test_scheduled_callback_due_then_offered_with_original_key() -> None:
    sim = Sim()
    sim.queue("q")
    sim.arrive("c1", "q")
    key = sim.router.contact_snapshot("c1").key
    sim.send(CallbackRequested(sim.t, "c1", due_at=sim.t + 600))
    assert sim.state("c1") == "callback_scheduled"
    sim.step(100)
    sim.arrive("c2", "q")
    sim.login("a1")
    sim.send(OfferAccepted(sim.t, "c2", "a1"))
    assert sim.router.next_deadline() == sim.t + 500
    out = sim.after(500)
    assert out[:2] == [CallbackDue(sim.t, "c1", "q"), ContactQueued(sim.t, "c1", "q", 1, 180.0)]
    assert sim.router.contact_snapshot("c1").key == key


# --------------------------------------------------------------------- wrap-up


def test_wrap_up_timeout_closes_with_default_disposition() -> None:
    sim = Sim()
    sim.queue("q", wrap_up_s=30)
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    sim.step(100)
    out = sim.send(ContactEnded(sim.t, "c1"))
    assert out == [StartWrapUp(sim.t, "c1", "a1", 30.0)]
    out = sim.after(45)
    assert out == [ContactCompleted(sim.t - 15, "c1", "a1", "q", "no_disposition", True, 130.0)]


def test_wrap_up_done_frees_capacity() -> None:
    sim = Sim()
    sim.queue("q", wrap_up_s=60)
    sim.login("a1")
    sim.arrive("c1", "q")
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    sim.send(ContactEnded(sim.t, "c1"))
    assert sim.offers(sim.arrive("c2", "q")) == []  # wrap-up holds the line
    out = sim.send(WrapUpEnded(sim.t, "c1", "sold"))
    assert of_type(out, ContactCompleted)[0].disposition == "sold"
    assert sim.offers(out) == [("c2", "a1")]


# ------------------------------------------------------------------- transfers


def test_transfer_to_queue_keeps_arrived_at() -> None:
    sim = Sim()
    sim.queue("first")
    sim.queue("second", required_skills=(RequiredSkill("tech", 1),))
    sim.login("a1")
    sim.arrive("c1", "first")
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    sim.step(100)
    sim.arrive("c2", "second")
    sim.step(1)
    out = sim.send(ContactTransferred(sim.t, "c1", to_queue="second"))
    assert of_type(out, ContactQueued) == [ContactQueued(sim.t, "c1", "second", 1, None)]
    snap = sim.router.contact_snapshot("c1")
    assert snap.arrived_at == sim.t - 101
    assert sim.router.queue_snapshot("second").positions == ("c1", "c2")


def test_transfer_to_agent_waits_for_that_agent() -> None:
    sim = Sim()
    sim.queue("q")
    sim.login("a1")
    sim.login("expert")
    sim.login("bystander")
    sim.send(PresenceRequested(sim.t, "expert", "not_ready", "call"))
    sim.arrive("c1", "q")
    sim.send(OfferAccepted(sim.t, "c1", "a1"))
    out = sim.send(ContactTransferred(sim.t, "c1", to_agent="expert"))
    assert sim.offers(out) == []  # bystander is free but not the named agent
    out = sim.send(PresenceRequested(sim.t, "expert", "available"))
    assert sim.offers(out) == [("c1", "expert")]


def test_agent_updated_skills_take_effect_at_run_time() -> None:
    sim = Sim()
    sim.queue("q", required_skills=(RequiredSkill("fr", 2),))
    sim.login("a1", {"fr": 1})
    sim.arrive("c1", "q")
    out = sim.send(AgentUpdated(sim.t, "a1", skills={"fr": 2}))
    assert sim.offers(out) == [("c1", "a1")]


def test_agent_updated_capacity_takes_effect_at_run_time() -> None:
    sim = Sim()
    sim.queue("chat", "chat")
    sim.login("a1", capacity={"chat": 1})
    sim.arrive("c1", "chat")
    sim.arrive("c2", "chat")
    out = sim.send(AgentUpdated(sim.t, "a1", capacity={"chat": 2}))
    assert sim.offers(out) == [("c2", "a1")]
