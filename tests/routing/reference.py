"""A brute-force router: the oracle for the engine's indexes, heaps and timers.

It shares the engine's event handlers (the state machine and the commands each
transition emits) but none of its data structures: on every event it scans all
contacts for due timers, and all (contact, agent) pairs for matches, computing
requirements, eligibility, positions and staffing from scratch. It follows the
documented order of DESIGN §3 and docs/routing.md:

- timers fire in (deadline, contact id) order; everything due at one instant
  is applied, then matching runs at that instant;
- matching: while some waiting contact has an eligible agent, the lowest-key
  such contact gets the best eligible agent by its queue's strategy.
"""

from __future__ import annotations

from typing import Any

from routing.model import EXCLUSIVE_CHANNELS, Requirements, effective_requirements
from routing.router import Router
from routing.state import AgentRecord, ContactRecord, QueueState


def steps_due(router: Router, c: ContactRecord, t: float) -> int:
    q = router._queues[c.queue]
    return sum(1 for step in q.config.relaxation if c.entered_at + step.after_s <= t)


def requirements_now(router: Router, c: ContactRecord, t: float) -> Requirements:
    q = router._queues[c.queue]
    return effective_requirements(q.config, c.extra_reqs, steps_due(router, c, t))


def has_room(a: AgentRecord, channel: str) -> bool:
    """Capacity left on `channel` and exclusivity respected (presence ignored)."""
    used = sum(1 for ch in a.contacts.values() if ch == channel)
    if used >= a.capacity.get(channel, 0):
        return False
    if channel in EXCLUSIVE_CHANNELS:
        return not a.contacts
    return not any(ch in EXCLUSIVE_CHANNELS for ch in a.contacts.values())


def eligible(
    router: Router,
    c: ContactRecord,
    a: AgentRecord,
    t: float,
    reqs: Requirements | None = None,
) -> bool:
    """DESIGN §3 eligibility, straight from the definitions."""
    if c.state != "queued":
        return False
    if a.presence != "available" or a.pending is not None:
        return False
    if not has_room(a, c.channel):
        return False
    if reqs is None:
        reqs = requirements_now(router, c, t)
    for skill, level in reqs:
        if a.skills.get(skill, 0) < level:
            return False
    if c.excluded and c.excluded.get(a.agent_id, float("-inf")) > t:
        return False
    return not (c.pref_until is not None and t < c.pref_until and a.agent_id not in c.preferred)


def idle_since(a: AgentRecord, channel: str) -> float:
    if not a.contacts:
        return a.idle_all
    return a.last_end.get(channel, a.logged_in_at)


def agent_order(router: Router, c: ContactRecord, a: AgentRecord, t: float) -> tuple[Any, ...]:
    q = router._queues[c.queue]
    strategy = q.config.strategy
    idle = idle_since(a, c.channel)
    if strategy == "most_skilled":
        reqs = requirements_now(router, c, t)
        return (-sum(a.skills.get(s, 0) for s, _ in reqs), idle, a.agent_id)
    if strategy == "least_occupied":
        occupancy = a.occupancy.occupancy(t, router.config.occupancy_window_s)
        return (occupancy, idle, a.agent_id)
    if strategy == "round_robin":
        last = q.rr_last
        return (0 if last is None or a.agent_id > last else 1, a.agent_id)
    return (idle, a.agent_id)


class ReferenceRouter(Router):
    """Scans everything on every event (see the module docstring)."""

    # No indexes: every lookup below is a scan.
    def _index_waiting(self, c: ContactRecord) -> None:
        c.heap_entry = (c.key, c)

    def _unindex_waiting(self, c: ContactRecord) -> None:
        c.heap_entry = None

    def _rank_insert(self, q: QueueState, c: ContactRecord) -> None:
        pass

    def _rank_remove(self, q: QueueState, c: ContactRecord) -> None:
        pass

    def _index_agent(self, a: AgentRecord) -> None:
        pass

    def _unindex_agent(self, a: AgentRecord) -> None:
        pass

    def _logged_index(self, a: AgentRecord, add: bool) -> None:
        pass

    def _reschedule(self, c: ContactRecord) -> None:
        pass

    def _mark_contact(self, c: ContactRecord) -> None:
        pass

    def _mark_agent(self, a: AgentRecord) -> None:
        pass

    def _waiting_in(self, q: QueueState) -> list[ContactRecord]:
        waiting = [
            c
            for c in self._contacts.values()
            if c.state == "queued" and c.queue == q.name and c.heap_entry is not None
        ]
        return sorted(waiting, key=lambda c: c.key)

    def _waiting_count(self, q: QueueState) -> int:
        return len(self._waiting_in(q))

    def _position(self, q: QueueState, c: ContactRecord) -> int:
        return 1 + sum(1 for x in self._waiting_in(q) if x.key < c.key)

    def _staffed_slots(self, q: QueueState) -> int:
        reqs = effective_requirements(q.config, (), 0)
        return sum(
            a.capacity.get(q.config.channel, 0)
            for a in self._agents.values()
            if a.presence != "offline" and all(a.skills.get(s, 0) >= lvl for s, lvl in reqs)
        )

    def _anyone_skilled(self, c: ContactRecord, q: QueueState) -> bool:
        reqs = effective_requirements(q.config, c.extra_reqs, len(q.config.relaxation))
        return any(
            a.presence != "offline"
            and a.capacity.get(c.channel, 0) > 0
            and all(a.skills.get(s, 0) >= lvl for s, lvl in reqs)
            for a in self._agents.values()
        )

    # Timers: every moment at which something can change, from the definitions.
    def _moments(self, c: ContactRecord) -> list[float]:
        if c.state in ("alerting", "wrap_up", "callback_scheduled"):
            return [c.state_deadline] if c.state_deadline is not None else []
        if c.state != "queued":
            return []
        q = self._queues[c.queue]
        moments = [c.entered_at + step.after_s for step in q.config.relaxation]
        if c.pref_until is not None:
            moments.append(c.pref_until)
        if c.excluded:
            moments.extend(c.excluded.values())
        rule = q.config.max_wait_rule()
        if rule is not None and c.channel != "callback":
            moments.append(c.entered_at + rule[0])
        return moments

    def _due(self, c: ContactRecord, after: float | None) -> float | None:
        future = [m for m in self._moments(c) if after is None or m > after]
        return min(future) if future else None

    def next_deadline(self) -> float | None:
        dues = [d for c in self._contacts.values() if (d := self._due(c, self._now)) is not None]
        return min(dues) if dues else None

    def _advance(self, t: float) -> None:
        while True:
            due = self.next_deadline()
            if due is None or due > t:
                return
            batch = sorted(
                (c for c in self._contacts.values() if self._due(c, self._now) == due),
                key=lambda c: c.contact_id,
            )
            self._now = due
            for c in batch:
                self._fire(c, due)
            self._match(due)

    def _match(self, t: float) -> None:
        while True:
            best: ContactRecord | None = None
            best_agents: list[AgentRecord] = []
            # Presence first, so the scan stays affordable with 10,000 waiting.
            free = [
                a
                for a in self._agents.values()
                if a.presence == "available"
                and a.pending is None
                and any(has_room(a, ch) for ch in ("voice", "chat", "email", "callback"))
            ]
            for c in self._contacts.values():
                if c.state != "queued" or not free:
                    continue
                reqs = requirements_now(self, c, t)
                agents = [a for a in free if eligible(self, c, a, t, reqs)]
                if agents and (best is None or c.key < best.key):
                    best, best_agents = c, agents
            if best is None:
                return
            chosen = min(best_agents, key=lambda a: agent_order(self, best, a, t))
            self._offer(best, chosen, len(best_agents), t)
