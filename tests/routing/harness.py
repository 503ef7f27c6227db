"""Drives the engine and the reference router side by side on a fake clock."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from routing import (
    AgentLoggedIn,
    Command,
    ContactArrived,
    Event,
    OfferContact,
    QueueConfig,
    QueueConfigured,
    Router,
    RouterConfig,
    RoutingError,
    Tick,
    command_from_dict,
    command_to_dict,
    event_from_dict,
    event_to_dict,
)
from routing.model import effective_requirements
from routing.state import AgentRecord
from tests.routing.reference import ReferenceRouter, eligible, has_room

C = TypeVar("C")

T0 = 1_700_000_000.0


def of_type(commands: list[Command], kind: type[C]) -> list[C]:
    return [c for c in commands if isinstance(c, kind)]


def assert_invariants(router: Router) -> None:
    """DESIGN §3 invariants, checked from the definitions after every step."""
    router.check_invariants()
    now = router.now
    if now is None:
        return
    contacts = router._contacts
    agents = list(router._agents.values())
    # Each contact in exactly one place.
    places: dict[str, int] = {cid: 0 for cid in contacts}
    for q in router.queue_names():
        for cid in router.queue_snapshot(q).positions:
            places[cid] += 1
    for a in agents:
        for cid in a.contacts:
            places[cid] += 1
    for cid, c in contacts.items():
        expected = 1 if c.state in ("queued", "alerting", "connected", "wrap_up") else 0
        assert places[cid] == expected, (cid, c.state, places[cid])
    for a in agents:
        exclusive = [ch for ch in a.contacts.values() if ch in ("voice", "callback")]
        assert not exclusive or len(a.contacts) == 1, a.contacts
    for c in contacts.values():
        if c.state != "queued":
            continue
        q = router._queues[c.queue]
        relaxed = effective_requirements(q.config, c.extra_reqs, len(q.config.relaxation))
        for a in agents:
            # No eligible available agent while an eligible contact waits.
            assert not eligible(router, c, a, now), (c.contact_id, a.agent_id)
            # No contact waits forever while an agent who could take it is free:
            # whatever blocks the pair ends at a deadline the router holds.
            if _free_for(a, c.channel) and all(a.skills.get(s, 0) >= lv for s, lv in relaxed):
                assert c.timer_due is not None, (c.contact_id, a.agent_id)


def _free_for(a: AgentRecord, channel: str) -> bool:
    return a.presence == "available" and a.pending is None and has_room(a, channel)


class Sim:
    """A fake clock plus an engine and a reference router fed the same events."""

    def __init__(self, config: RouterConfig | None = None, reference: bool = True) -> None:
        self.t = T0
        self.router = Router(config)
        self.ref = ReferenceRouter(config) if reference else None
        self.log: list[Command] = []

    def send(self, event: Event) -> list[Command]:
        data = json.loads(json.dumps(event_to_dict(event)))
        assert event_from_dict(data) == event
        out = self.router.handle(event)
        if self.ref is not None:
            assert self.ref.handle(event) == out
            assert self.ref.next_deadline() == self.router.next_deadline()
        for command in out:
            assert command_from_dict(json.loads(json.dumps(command_to_dict(command)))) == command
            if isinstance(command, OfferContact):
                agent = self.router._agents[command.agent_id]
                load = sum(1 for ch in agent.contacts.values() if ch == command.channel)
                assert load <= agent.capacity.get(command.channel, 0)
        assert_invariants(self.router)
        self.log.extend(out)
        return out

    def refuse(self, event: Event) -> RoutingError:
        """Send an event that must be refused; both routers agree; nothing changes."""
        before = json.dumps(self.router.snapshot(), sort_keys=True)
        error: RoutingError | None = None
        try:
            self.router.handle(event)
        except RoutingError as exc:
            error = exc
        assert error is not None, f"{event} was accepted"
        if self.ref is not None:
            try:
                self.ref.handle(event)
            except RoutingError as exc:
                assert type(exc) is type(error) and exc.code == error.code
                assert exc.commands == error.commands
            else:
                raise AssertionError("the reference accepted the event")
        if not error.commands:
            assert json.dumps(self.router.snapshot(), sort_keys=True) == before
        assert_invariants(self.router)
        return error

    def after(self, seconds: float) -> list[Command]:
        self.t += seconds
        return self.send(Tick(self.t))

    def step(self, seconds: float) -> float:
        """Move the fake clock without sending anything; returns the new time."""
        self.t += seconds
        return self.t

    def queue(self, name: str, channel: str = "voice", **kw: Any) -> list[Command]:
        return self.send(QueueConfigured(self.t, QueueConfig(name, channel, **kw)))  # type: ignore[arg-type]

    def login(
        self,
        agent_id: str,
        skills: dict[str, int] | None = None,
        capacity: dict[str, int] | None = None,
        presence: str = "available",
    ) -> list[Command]:
        return self.send(
            AgentLoggedIn(self.t, agent_id, skills or {}, capacity, presence)  # type: ignore[arg-type]
        )

    def arrive(self, contact_id: str, queue: str, **kw: Any) -> list[Command]:
        return self.send(ContactArrived(self.t, contact_id, queue, **kw))

    def offers(self, commands: list[Command] | None = None) -> list[tuple[str, str]]:
        """(contact, agent) of each offer in `commands` (default: everything so far)."""
        source = self.log if commands is None else commands
        return [(c.contact_id, c.agent_id) for c in of_type(source, OfferContact)]

    def state(self, contact_id: str) -> str:
        return self.router.contact_snapshot(contact_id).state

    def presence(self, agent_id: str) -> tuple[str, str]:
        snap = self.router.agent_snapshot(agent_id)
        return snap.presence, snap.reason
