"""The agent pools of requirement groups on a larger floor than hypothesis builds.

The hypothesis differential test drives 4 agents, so pools stay tiny. Here a
seeded random floor (60 agents, every strategy, relaxation, per-contact skills,
preferred agents, rejects and timeouts that exclude agents, skill and presence
changes, log-outs) runs against the brute-force reference router: identical
commands and refusals on every event, and the engine's invariants (pool
membership, live heap entries, sorted ids) checked along the way.
"""

from __future__ import annotations

import random

from routing import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUpdated,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    Event,
    OfferAccepted,
    OfferContact,
    OfferRejected,
    OfferTimedOut,
    PresenceRequested,
    QueueConfig,
    QueueConfigured,
    Relaxation,
    RequiredSkill,
    Router,
    RouterConfig,
    Tick,
    WrapUpEnded,
)
from routing.model import STRATEGIES
from tests.routing.harness import T0
from tests.routing.reference import ReferenceRouter
from tests.routing.test_differential import outcome

SKILLS = [f"k{n}" for n in range(8)]
CHANNELS = ("voice", "chat", "email")


def _queues(rng: random.Random) -> list[QueueConfig]:
    queues = []
    for n in range(12):
        needed = rng.sample(SKILLS, rng.choice([0, 1, 1, 2]))
        reqs = tuple(RequiredSkill(s, rng.randint(1, 6)) for s in needed)
        relax = (Relaxation(15.0, needed[0], 1),) if needed and n % 3 == 0 else ()
        queues.append(
            QueueConfig(
                f"q{n}",
                CHANNELS[n % 3],
                required_skills=reqs,
                relaxation=relax,
                strategy=STRATEGIES[n % 4],
                ring_timeout_s=8.0,
                wrap_up_s=3.0,
            )
        )
    return queues


def _login(rng: random.Random, t: float, agent_id: str) -> AgentLoggedIn:
    skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(1, 4))}
    kind = rng.random()
    if kind < 0.4:
        capacity = {"voice": 1, "callback": 1}
    elif kind < 0.7:
        capacity = {"chat": 3, "email": 2}
    else:
        capacity = {"voice": 1, "chat": 2, "email": 1, "callback": 1}
    return AgentLoggedIn(t, agent_id, skills, capacity)


def test_large_floor_matches_reference() -> None:
    rng = random.Random(20240611)
    config = RouterConfig(reject_exclusion_s=20.0, preferred_fallback_s=6.0)
    engine = Router(config)
    reference = ReferenceRouter(config)
    t = T0
    queues = _queues(rng)
    agent_ids = [f"a{n:02d}" for n in range(60)]
    offers: dict[str, str] = {}  # contact -> agent, ringing
    connected: list[str] = []
    waiting: set[str] = set()
    serial = 0
    chose_among = [0, 0]  # offers, offers with more than one candidate

    def send(event: Event) -> None:
        got = outcome(engine, event)
        want = outcome(reference, event)
        assert got == want, (event, got, want)
        if got[0] != "ok":
            return
        for command in got[1]:
            if isinstance(command, OfferContact):
                offers[command.contact_id] = command.agent_id
                waiting.discard(command.contact_id)
                chose_among[0] += 1
                chose_among[1] += command.reason.candidates > 1

    for q in queues:
        send(QueueConfigured(t, q))
    for agent_id in agent_ids:
        send(_login(rng, t, agent_id))
    for step in range(1500):
        t += rng.choice([0.0, 0.3, 1.0, 2.5])
        roll = rng.random()
        if roll < 0.3:
            serial += 1
            cid = f"c{serial}"
            q = rng.choice(queues)
            extra = (
                (RequiredSkill(rng.choice(SKILLS), rng.randint(1, 4)),)
                if rng.random() < 0.2
                else ()
            )
            preferred = tuple(rng.sample(agent_ids, 2)) if rng.random() < 0.1 else ()
            waiting.add(cid)
            send(ContactArrived(t, cid, q.name, required_skills=extra, preferred_agents=preferred))
        elif roll < 0.6 and offers:
            cid = rng.choice(sorted(offers))
            agent_id = offers.pop(cid)
            kind = rng.random()
            if kind < 0.7:
                send(OfferAccepted(t, cid, agent_id))
                connected.append(cid)
            elif kind < 0.9:
                send(OfferRejected(t, cid, agent_id, "busy"))
                waiting.add(cid)
            else:
                send(OfferTimedOut(t, cid, agent_id))
                waiting.add(cid)
                send(PresenceRequested(t, agent_id, "available"))
        elif roll < 0.8 and connected:
            cid = connected.pop(rng.randrange(len(connected)))
            send(ContactEnded(t, cid, "customer"))
            if rng.random() < 0.8:
                send(WrapUpEnded(t, cid, "done"))
        elif roll < 0.83 and waiting:
            cid = rng.choice(sorted(waiting))
            waiting.discard(cid)
            send(ContactAbandoned(t, cid))
        elif roll < 0.85:
            agent_id = rng.choice(agent_ids)
            presence = rng.choice(["available", "available", "not_ready"])
            send(PresenceRequested(t, agent_id, presence, "break"))
        elif roll < 0.88:
            agent_id = rng.choice(agent_ids)
            skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(1, 4))}
            send(AgentUpdated(t, agent_id, skills=skills))
        elif roll < 0.9:
            agent_id = rng.choice(agent_ids)
            send(AgentLoggedOut(t, agent_id))
            for cid in [c for c, a in offers.items() if a == agent_id]:
                del offers[cid]
                waiting.add(cid)
            send(_login(rng, t, agent_id))
        else:
            send(Tick(t))
        # Offers the router timed out or withdrew itself are no longer ringing.
        states = {cid: engine.contact_snapshot(cid).state for cid in engine.contact_ids()}
        for cid in [c for c in offers if states.get(c) != "alerting"]:
            del offers[cid]
        waiting = {cid for cid, state in states.items() if state == "queued"}
        if step % 25 == 0:
            engine.check_invariants()
    engine.check_invariants()
    # The floor really exercised selection among several agents.
    assert chose_among[0] > 300 and chose_among[1] > 150, chose_among
