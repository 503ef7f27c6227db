"""Deterministic contact traffic for reconciliation tests.

Each generated contact becomes an interaction record (with legs, as the
write-back stores them) and the sequence of live notifications the server would
have sent to :class:`callcenter.metrics.LiveMetrics` for it. The traffic is aimed
at the hard cases: contacts entering just before an interval boundary or local
midnight, in both passes of the repeated hour of the October DST change,
overflows, transfers (to another queue, to the same queue, then abandoned),
callbacks, short abandons, waits exactly at the service-level threshold, IVR
containment, surveys.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.store.interactions import InteractionRecord, LegRecord

TZ_NAME = "Europe/Berlin"
TZ = ZoneInfo(TZ_NAME)
# 2026-10-25 is the last Sunday of October: 03:00 CEST becomes 02:00 CET at 01:00 UTC.
PERIOD_START = datetime(2026, 10, 24, tzinfo=TZ)
PERIOD_END = datetime(2026, 10, 27, tzinfo=TZ)
DST_REPEATED_HOUR_UTC = (datetime(2026, 10, 25, 0, tzinfo=UTC),
                         datetime(2026, 10, 25, 2, tzinfo=UTC))
# queue -> (channel, SL target seconds)
QUEUES: dict[str, tuple[str, float]] = {
    "voice_sales": ("voice", 20.0),
    "voice_support": ("voice", 30.0),
    "chat_support": ("chat", 60.0),
    "callbacks": ("callback", 120.0),
}
SL_TARGETS = {name: target for name, (_, target) in QUEUES.items()}
AGENTS = ("a1", "a2", "a3", "a4", "a5", "a6")
SHORT_ABANDON_S = 5.0


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class Traffic:
    records: list[InteractionRecord] = field(default_factory=list)
    surveys: list[dict[str, Any]] = field(default_factory=list)
    #: (at, seq, method name, args) in time order.
    events: list[tuple[float, int, str, tuple[Any, ...]]] = field(default_factory=list)
    shapes: dict[str, int] = field(default_factory=dict)


class _Builder:
    def __init__(self, rng: random.Random, traffic: Traffic) -> None:
        self.rng = rng
        self.traffic = traffic
        self.seq = 0

    def event(self, at: float, method: str, *args: Any) -> None:
        self.seq += 1
        self.traffic.events.append((at, self.seq, method, args))

    def wait_for(self, queue: str) -> int:
        target = int(QUEUES[queue][1])
        return self.rng.choice([0, 2, target, target, target + 1, self.rng.randint(0, 3 * target)])

    def queued_at(self) -> int:
        rng = self.rng
        start, end = int(PERIOD_START.timestamp()), int(PERIOD_END.timestamp()) - 4 * 3600
        pick = rng.random()
        if pick < 0.35:
            return rng.randint(start, end)
        if pick < 0.6:  # just before a half-hour boundary (whole hours offset in Berlin)
            boundary = rng.randint(start // 1800 + 1, end // 1800) * 1800
            return boundary - rng.randint(1, 45)
        if pick < 0.8:  # just before local midnight
            day = PERIOD_START + timedelta(days=rng.randint(1, 2))
            return int(day.timestamp()) - rng.randint(1, 90)
        lo, hi = (int(x.timestamp()) for x in DST_REPEATED_HOUR_UTC)
        return rng.randint(lo, hi - 1)


def _leg(agent: str, queue: str, alerting: float, answered: float, ended: float,
         wrap: float) -> LegRecord:
    return LegRecord(leg_no=0, agent_id=agent, queue=queue, alerting_at=utc(alerting),
                     answered_at=utc(answered), ended_at=utc(ended), talk_s=ended - answered,
                     wrap_up_s=wrap)


def generate(seed: int = 2026, contacts: int = 420) -> Traffic:
    """Records, surveys and live notifications of ``contacts`` generated contacts."""
    rng = random.Random(seed)
    traffic = Traffic()
    b = _Builder(rng, traffic)
    for n in range(contacts):
        cid = f"c{n:04d}"
        shape = rng.choices(
            ["answered", "abandoned", "short", "overflow_answered", "overflow_abandoned",
             "transfer", "transfer_same_queue", "transfer_abandoned", "callback", "voicemail",
             "ivr_contained"],
            weights=[30, 8, 6, 6, 3, 6, 3, 3, 6, 3, 4],
        )[0]
        traffic.shapes[shape] = traffic.shapes.get(shape, 0) + 1
        q_at = b.queued_at()
        ivr_s = rng.choice([0, 0, 12, 40])
        ivr_path = ("menu", "orders") if ivr_s else ()
        if shape == "ivr_contained":
            arrived = q_at - 30
            traffic.records.append(InteractionRecord(
                contact_id=cid, channel="voice", outcome="contained", arrived_at=utc(arrived),
                ivr_left_at=utc(q_at), ended_at=utc(q_at), ivr_path=("menu", "order_status"),
            ))
            continue
        if shape == "callback":
            queue = "callbacks"
        else:
            queue = rng.choice(["voice_sales", "voice_support", "chat_support"])
        channel = QUEUES[queue][0]
        other = rng.choice([q for q in ("voice_sales", "voice_support", "chat_support")
                            if q != queue and QUEUES[q][0] == channel] or [queue])
        common: dict[str, Any] = {
            "contact_id": cid, "channel": channel, "arrived_at": utc(q_at - ivr_s),
            "ivr_left_at": utc(q_at), "queued_at": utc(q_at), "ivr_path": ivr_path,
            "customer_id": None, "first_queue": queue,
        }
        b.event(q_at, "contact_queued", cid, queue, channel)
        legs: list[LegRecord] = []
        if shape in ("abandoned", "short", "voicemail", "overflow_abandoned"):
            wait = rng.randint(0, 4) if shape == "short" else rng.randint(5, 300)
            end = q_at + wait
            last = queue
            overflows = 0
            if shape == "overflow_abandoned":
                wait = rng.randint(20, 300)
                end = q_at + wait
                b.event(q_at + rng.randint(1, wait - 1), "contact_queued", cid, other, channel)
                last, overflows = other, 1
            if shape == "voicemail":
                outcome = "voicemail"
                b.event(end, "contact_exited", cid, "voicemail")
            else:
                outcome = "short_abandon" if wait < SHORT_ABANDON_S else "abandoned"
                b.event(end, "contact_abandoned", cid)
            traffic.records.append(InteractionRecord(
                **common, outcome=outcome, last_queue=last, ended_at=utc(end), wait_s=wait,
                overflows=overflows,
            ))
            continue
        # Answered in some way.
        answer_queue = queue
        overflows = 0
        if shape == "overflow_answered":
            answer_queue = other
            overflows = 1
        wait = b.wait_for(answer_queue) if shape != "callback" else rng.randint(30, 900)
        if shape == "overflow_answered":
            wait = max(wait, 2)
            b.event(q_at + rng.randint(1, wait - 1) if wait > 1 else q_at, "contact_queued",
                    cid, answer_queue, channel)
        answered = q_at + wait
        ring = min(wait, rng.randint(0, 8))
        agent = rng.choice(AGENTS)
        b.event(answered - ring, "contact_offered", cid, agent)
        b.event(answered, "contact_answered", cid, agent)
        talk = rng.randint(20, 900)
        ended = answered + talk
        last_queue = answer_queue
        transfers = 0
        if shape in ("transfer", "transfer_same_queue", "transfer_abandoned"):
            transfers = 1
            to_queue = answer_queue if shape == "transfer_same_queue" else rng.choice(
                [q for q in ("voice_sales", "voice_support", "chat_support")
                 if QUEUES[q][0] == channel])
            legs.append(_leg(agent, answer_queue, answered - ring, answered, ended, 0.0))
            b.event(ended, "contact_queued", cid, to_queue, channel)
            last_queue = to_queue
            wait2 = b.wait_for(to_queue) if shape != "transfer_abandoned" else rng.randint(5, 200)
            if shape == "transfer_abandoned":
                end = ended + wait2
                b.event(end, "contact_abandoned", cid)
                traffic.records.append(InteractionRecord(
                    **common, outcome="abandoned", last_queue=last_queue, ended_at=utc(end),
                    alerting_at=utc(answered - ring), answered_at=utc(answered), wait_s=wait,
                    talk_s=talk, transfers=1, legs=_numbered(legs),
                ))
                continue
            agent2 = rng.choice([a for a in AGENTS if a != agent])
            ans2 = ended + wait2
            ring2 = min(wait2, rng.randint(0, 8))
            b.event(ans2 - ring2, "contact_offered", cid, agent2)
            b.event(ans2, "contact_answered", cid, agent2)
            talk2 = rng.randint(20, 600)
            wrap2 = rng.randint(0, 120)
            end2 = ans2 + talk2
            legs.append(_leg(agent2, to_queue, ans2 - ring2, ans2, end2, wrap2))
            b.event(end2, "contact_ended", cid)
            b.event(end2 + wrap2, "contact_completed", cid)
            final_end, final_wrap_end = end2, end2 + wrap2
        else:
            wrap = rng.randint(0, 180)
            legs.append(_leg(agent, answer_queue, answered - ring, answered, ended, wrap))
            b.event(ended, "contact_ended", cid)
            b.event(ended + wrap, "contact_completed", cid)
            final_end, final_wrap_end = ended, ended + wrap
        csat = rng.choice([None, None, 1, 2, 3, 4, 5, 5])
        traffic.records.append(InteractionRecord(
            **common, outcome="answered", last_queue=last_queue,
            alerting_at=utc(answered - ring), answered_at=utc(answered),
            ended_at=utc(final_end), wrap_up_ended_at=utc(final_wrap_end), wait_s=wait,
            talk_s=sum(leg.talk_s for leg in legs), wrap_up_s=sum(leg.wrap_up_s for leg in legs),
            transfers=transfers, overflows=overflows, legs=_numbered(legs),
            csat=csat if rng.random() < 0.5 else None,
        ))
        if rng.random() < 0.4:
            traffic.surveys.append({
                "contact_id": cid, "at": utc(final_wrap_end + 60),
                "csat": rng.choice([None, 1, 2, 3, 4, 5]), "nps": rng.randint(0, 10),
                "comment": "thanks" if rng.random() < 0.5 else None,
            })
    traffic.events.sort(key=lambda e: (e[0], e[1]))
    return traffic


def _numbered(legs: list[LegRecord]) -> tuple[LegRecord, ...]:
    return tuple(
        LegRecord(leg_no=i, agent_id=leg.agent_id, queue=leg.queue, alerting_at=leg.alerting_at,
                  answered_at=leg.answered_at, ended_at=leg.ended_at, talk_s=leg.talk_s,
                  hold_s=leg.hold_s, wrap_up_s=leg.wrap_up_s)
        for i, leg in enumerate(legs, start=1)
    )
