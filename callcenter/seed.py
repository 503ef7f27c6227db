"""Deterministic demo data: ``callcenter seed --customers N --seed S``.

The same options give the same rows, byte for byte, on SQLite and PostgreSQL:
every random choice comes from :class:`random.Random` seeded from ``--seed``
(one generator per customer, so a customer's data does not depend on chunking),
every id is explicit, and every time is derived from the data-set *anchor*
(``--anchor``, default 2026-11-01T00:00:00Z), never from the clock.

What is generated (docs/store.md has the details): skills, agents ``agent01``..
with skills and proficiencies and a login each (password ``demo``), the users
``supervisor``, ``admin`` and ``integration`` (password ``demo``), the queues
``voice_sales``, ``voice_support``, ``voice_vip``, ``chat_sales``,
``chat_support``, ``email_support`` and ``callback``, dispositions, customers
with phones/emails/chat ids, orders, tickets and complaints, past interactions
with legs, and surveys. RFM scores, segments, lifecycle and tiers are computed
with the same rules as ``recompute-segments``; a few tiers are locked by hand
(``silver``, ``strategic``) so every routing tier appears.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import math
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from callcenter.config import Config
from callcenter.errors import CallCenterError, ValidationFailed
from callcenter.passwords import hash_password
from callcenter.segments import CustomerActivity, analyse, resolve_tier
from callcenter.store.agents import DEFAULT_CAPACITY
from callcenter.store.orders import COUNTED_ORDER_STATUSES
from callcenter.store.progress import ProgressCallback, progress_reporter
from callcenter.store.queues import check_queue_config
from callcenter.store.tickets import sla_due

DEFAULT_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
DEMO_PASSWORD = "demo"
INTERACTION_DAYS = 180
CHUNK_CUSTOMERS = 2000
CHUNK_INTERACTIONS = 10_000
# Tables big enough that indexing after the load pays.
BULK_TABLES = ("customers", "customer_identities", "orders", "tickets", "interactions",
               "interaction_legs", "surveys")

SKILLS: dict[str, str] = {
    "sales": "pre-sales questions and orders",
    "support": "order status, delivery and account help",
    "returns": "returns, exchanges and refunds",
    "billing": "payments, invoices and coupons",
    "vip": "key accounts and account management",
    "mandarin": "speaks Mandarin",
    "english": "speaks English",
    "cantonese": "speaks Cantonese",
}

QUEUES: dict[str, tuple[str, int, dict[str, Any]]] = {
    "voice_sales": ("voice", 10, {
        "required_skills": [{"skill": "sales", "min_level": 3},
                            {"skill": "mandarin", "min_level": 5}],
        "sl_target_s": 20, "ring_timeout_s": 15, "wrap_up_s": 30, "strategy": "most_skilled",
        "relaxation": [{"after_s": 60, "skill": "sales", "min_level": 1}],
        "max_wait_s": 600, "max_attempts": 3,
        "exits": {"no_agents": {"action": "callback"}, "max_wait": {"action": "voicemail"}},
    }),
    "voice_support": ("voice", 10, {
        "required_skills": [{"skill": "support", "min_level": 3},
                            {"skill": "mandarin", "min_level": 5}],
        "sl_target_s": 20, "ring_timeout_s": 15, "wrap_up_s": 45, "strategy": "longest_idle",
        "relaxation": [{"after_s": 45, "skill": "support", "min_level": 1}],
        "max_wait_s": 900, "max_attempts": 3,
        "exits": {"no_agents": {"action": "callback"}, "max_wait": {"action": "voicemail"}},
    }),
    "voice_vip": ("voice", 50, {
        "required_skills": [{"skill": "vip", "min_level": 5},
                            {"skill": "mandarin", "min_level": 5}],
        "sl_target_s": 10, "ring_timeout_s": 12, "wrap_up_s": 60, "strategy": "most_skilled",
        "relaxation": [{"after_s": 30, "skill": "vip", "min_level": 3}],
        "overflow": {"after_s": 90, "queue": "voice_support"},
        "max_wait_s": 600, "max_attempts": 3,
        "exits": {"no_agents": {"action": "overflow", "queue": "voice_support"}},
    }),
    "chat_sales": ("chat", 5, {
        "required_skills": [{"skill": "sales", "min_level": 2}],
        "sl_target_s": 30, "ring_timeout_s": 20, "wrap_up_s": 15, "strategy": "least_occupied",
        "max_wait_s": 300, "max_attempts": 3,
        "exits": {"no_agents": {"action": "auto_reply"}, "max_wait": {"action": "auto_reply"}},
    }),
    "chat_support": ("chat", 5, {
        "required_skills": [{"skill": "support", "min_level": 2}],
        "sl_target_s": 30, "ring_timeout_s": 20, "wrap_up_s": 20, "strategy": "least_occupied",
        "max_wait_s": 300, "max_attempts": 3,
        "exits": {"no_agents": {"action": "auto_reply"}, "max_wait": {"action": "auto_reply"}},
    }),
    "email_support": ("email", 0, {
        "required_skills": [{"skill": "support", "min_level": 2}],
        "sl_target_s": 14_400, "ring_timeout_s": 60, "wrap_up_s": 60,
        "strategy": "longest_idle", "max_attempts": 5,
    }),
    "callback": ("callback", 5, {
        "required_skills": [{"skill": "support", "min_level": 3}],
        "sl_target_s": 3600, "ring_timeout_s": 20, "wrap_up_s": 30, "strategy": "round_robin",
        "max_attempts": 3, "exits": {"max_attempts": {"action": "voicemail"}},
    }),
}

DISPOSITIONS: tuple[tuple[str, str, bool], ...] = (
    ("resolved", "Resolved", False),
    ("follow_up", "Follow-up needed", False),
    ("escalated", "Escalated to back office", False),
    ("sale", "Sale made", False),
    ("no_sale", "No sale", False),
    ("refund_issued", "Refund issued", False),
    ("complaint_logged", "Complaint logged", False),
    ("wrong_number", "Wrong number", False),
    ("no_disposition", "No disposition (wrap-up timed out)", True),
)

SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
            "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo", "Zheng", "Liang")
GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong", "Yan",
         "Jie", "Juan", "Tao", "Ming", "Chao", "Xiuying", "Hui", "Hong", "Xin", "Yu", "Hao",
         "Ting", "Lan", "Bo", "Ping", "Gang", "Dan", "Xiaoling")
FOREIGN_FIRST = ("Emma", "Olivia", "James", "Liam", "Sophia", "Noah", "Mia", "Lucas", "Ava",
                 "Ethan", "Chloe", "Daniel")
FOREIGN_LAST = ("Smith", "Brown", "Taylor", "Wilson", "Martin", "Garcia", "Johnson", "Lee",
                "Walker", "Clark", "Evans", "Turner")
CITIES = (("Shanghai", 16), ("Beijing", 14), ("Guangzhou", 9), ("Shenzhen", 9), ("Hangzhou", 7),
          ("Chengdu", 7), ("Wuhan", 5), ("Nanjing", 5), ("Xi'an", 4), ("Chongqing", 5),
          ("Suzhou", 4), ("Tianjin", 4), ("Hong Kong", 4), ("Xiamen", 3), ("Qingdao", 4))
MOBILE_PREFIXES = ("138", "139", "135", "137", "150", "151", "158", "159", "186", "188", "187",
                   "177", "199", "136")
TICKET_SUBJECTS = {
    "service": ("Where is my order {order}?", "Change the delivery address of order {order}",
                "Invoice request for order {order}", "Coupon not applied to order {order}",
                "Exchange size for order {order}", "How do I return an item from order {order}?"),
    "complaint": ("Late delivery of order {order}", "Damaged item in order {order}",
                  "Wrong item received in order {order}", "Refund for order {order} not received",
                  "Courier was rude (order {order})", "Charged twice for order {order}"),
}
NOTES = ("Customer asked about delivery time; gave tracking link.",
         "Explained the return policy.", "Applied a 20 CNY coupon as goodwill.",
         "Escalated to the warehouse team.", "Customer will call back after checking.",
         "Updated the delivery address.", "Refund approved, 3-5 working days.",
         "Recommended the larger size.", "Resent the invoice by email.")
# (outcome, weight) per channel
OUTCOMES = {
    "voice": (("answered", 78), ("abandoned", 7), ("short_abandon", 3), ("contained", 6),
              ("voicemail", 2), ("callback", 2), ("transferred", 2)),
    "chat": (("answered", 86), ("abandoned", 8), ("short_abandon", 3), ("transferred", 3)),
    "email": (("answered", 97), ("transferred", 3)),
    "callback": (("answered", 85), ("abandoned", 10), ("transferred", 5)),
}
CHANNEL_WEIGHTS = (("voice", 50), ("chat", 25), ("email", 15), ("callback", 10))
DISPOSITION_WEIGHTS = (("resolved", 55), ("follow_up", 12), ("escalated", 5), ("sale", 10),
                       ("no_sale", 6), ("refund_issued", 6), ("complaint_logged", 5),
                       ("wrong_number", 1))
IVR_MENUS = (["main", "1:orders", "1:where_is_my_order"], ["main", "1:orders", "2:returns"],
             ["main", "2:sales"], ["main", "3:billing"], ["main", "0:agent"])


class StoreNotEmpty(CallCenterError):
    code = "store.not_empty"
    status = 409


@dataclass(frozen=True, slots=True)
class SeedOptions:
    """What to generate; ``interactions`` None means five per customer."""

    customers: int = 10_000
    seed: int = 1
    interactions: int | None = None
    agents: int = 24
    anchor: datetime = DEFAULT_ANCHOR

    @property
    def interaction_count(self) -> int:
        return 5 * self.customers if self.interactions is None else self.interactions

    def check(self) -> None:
        """Raise ``request.validation`` for impossible sizes."""
        if not 0 <= self.customers <= 10_000_000:
            raise ValidationFailed("--customers must be between 0 and 10,000,000")
        if not 1 <= self.agents <= 999:
            raise ValidationFailed("--agents must be between 1 and 999")
        if self.interaction_count < 0:
            raise ValidationFailed("--interactions must not be negative")
        if self.anchor.tzinfo is None:
            raise ValidationFailed("--anchor must be a UTC time")


@dataclass(slots=True)
class SeedSummary:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# --------------------------------------------------------------------------- helpers


class Weighted:
    """A fixed weighted choice, drawn with one ``random()`` and a bisect (hot path)."""

    __slots__ = ("cumulative", "total", "values")

    def __init__(self, pairs: tuple[tuple[str, int], ...]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> str:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def _seconds(value: float) -> float:
    return round(max(0.0, value), 1)


def _time(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def _uuid7(epoch_s: float, rng: random.Random) -> str:
    """A time-ordered UUID (version 7 layout): ids of past contacts sort by arrival."""
    value = (int(epoch_s * 1000) << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64)
    value |= (0b10 << 62) | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


ORDER_STATUS_OLD = Weighted((("delivered", 88), ("cancelled", 5), ("returned", 4),
                             ("refunded", 3)))
TICKET_PRIORITY = Weighted((("low", 15), ("normal", 60), ("high", 20), ("urgent", 5)))
TICKET_STATUS_OLD = Weighted((("closed", 70), ("resolved", 27), ("pending", 3)))
TICKET_STATUS_RECENT = Weighted((("open", 45), ("pending", 25), ("resolved", 30)))
CHANNEL = Weighted(CHANNEL_WEIGHTS)
OUTCOME = {channel: Weighted(pairs) for channel, pairs in OUTCOMES.items()}
DISPOSITION = Weighted(DISPOSITION_WEIGHTS)
CSAT = Weighted((("5", 45), ("4", 30), ("3", 12), ("2", 7), ("1", 6)))
MEAN_WAIT_S = {"voice": 25.0, "chat": 20.0, "email": 5400.0, "callback": 900.0}
MEAN_TALK_S = {"voice": 240.0, "chat": 420.0, "email": 300.0, "callback": 200.0}
TRANSFER_QUEUE = {"voice": "voice_support", "callback": "voice_support", "chat": "chat_support",
                  "email": "email_support"}
SURVEY_COMMENTS = (None, None, "Quick and friendly.", "Had to explain twice.",
                   "Great help, thanks!")
DAY_S = 86400.0


# --------------------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True)
class DemoAgent:
    id: str
    name: str
    skills: dict[str, int]
    account_manager: bool


def demo_agents(count: int, seed: int) -> list[DemoAgent]:
    """Agents in three teams (sales, support, mixed), every queue covered; first 1/6 VIP."""
    rng = random.Random(f"agents:{seed}")
    managers = max(1, count // 6)
    agents = []
    used_names: set[str] = set()
    for i in range(1, count + 1):
        name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
        while name in used_names:
            name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
        used_names.add(name)
        skills = {"mandarin": rng.randint(6, 10)}
        team = i % 3
        if team == 0:
            skills |= {"sales": rng.randint(5, 9), "returns": rng.randint(2, 6)}
        elif team == 1:
            skills |= {"support": rng.randint(5, 9), "returns": rng.randint(4, 8),
                       "billing": rng.randint(3, 7)}
        else:
            skills |= {"sales": rng.randint(3, 6), "support": rng.randint(3, 6),
                       "billing": rng.randint(2, 5)}
        if rng.random() < 0.5:
            skills["english"] = rng.randint(3, 9)
        if rng.random() < 0.2:
            skills["cantonese"] = rng.randint(4, 9)
        manager = i <= managers
        if manager:
            skills |= {"vip": rng.randint(7, 10), "sales": max(skills.get("sales", 0), 6),
                       "support": max(skills.get("support", 0), 6)}
        elif rng.random() < 0.15:
            skills["vip"] = rng.randint(5, 7)
        agents.append(DemoAgent(id=f"agent{i:02d}", name=name, skills=dict(sorted(skills.items())),
                                account_manager=manager))
    return agents


# --------------------------------------------------------------------------- customers


@dataclass(slots=True)
class CustomerPlan:
    """Everything generated for one customer, before analytics."""

    row: dict[str, Any]
    identities: list[tuple[str, str]]
    orders: list[dict[str, Any]]
    tickets: list[dict[str, Any]]
    activity: CustomerActivity
    weight: float


class CustomerFactory:
    """Builds customer ``cid`` from its own generator, so any customer can be rebuilt alone."""

    def __init__(self, options: SeedOptions) -> None:
        self.options = options
        self.anchor = options.anchor
        self.anchor_s = options.anchor.timestamp()
        mix = random.Random(f"phones:{options.seed}")
        # An odd multiplier not divisible by 5 makes (cid -> suffix) a bijection mod 10^8.
        multiplier = mix.randrange(1, 10**8) | 1
        if multiplier % 5 == 0:
            multiplier += 2
        self.multiplier = multiplier
        self.cities = Weighted(CITIES)

    def phone(self, cid: int, prefix: str) -> str:
        suffix = ((cid - 1) * self.multiplier + 1) % 10**8
        return f"+86{prefix}{suffix:08d}"

    def build(self, cid: int, first_order_id: int, first_ticket_id: int) -> CustomerPlan:
        rng = random.Random(self.options.seed * 1_000_003 + cid)
        random_ = rng.random
        anchor_s = self.anchor_s
        hero = cid == 1
        foreign = not hero and random_() < 0.06
        if hero:
            first, last, city = "Wei", "Li", "Shanghai"
        elif foreign:
            first, last = rng.choice(FOREIGN_FIRST), rng.choice(FOREIGN_LAST)
            city = rng.choice(("Shanghai", "Beijing", "Shenzhen", "Hong Kong"))
        else:
            first, last = rng.choice(GIVEN), rng.choice(SURNAMES)
            city = self.cities.pick(rng)
        name = f"{first} {last}" if foreign else f"{last} {first}"
        language = "en" if foreign else ("yue" if city == "Hong Kong" and random_() < 0.7
                                         else "zh")
        phone = self.phone(cid, "138" if hero else rng.choice(MOBILE_PREFIXES))
        identities = [("phone", phone)]
        email = ("li.wei@example.com" if hero
                 else f"{first}.{last}.{cid}@example.com".lower())
        has_email = hero or random_() < 0.85
        if has_email:
            identities.append(("email", email))
        if not hero and random_() < 0.05:
            identities.append(("phone", f"+8621{((cid - 1) * self.multiplier + 7) % 10**8:08d}"))
        if hero or random_() < 0.3:
            identities.append(("chat", f"visitor-{cid}"))
        created_s = anchor_s - int((30 + random_() * 1470) * DAY_S)

        # A latent value drives how often and how much the customer buys.
        value = 6.0 if hero else rng.lognormvariate(0, 0.9)
        buyer = hero or random_() >= 0.12
        lapsed = not hero and random_() < 0.25
        orders: list[dict[str, Any]] = []
        counted = 0
        spent = 0
        first_counted_s = last_counted_s = 0.0
        if buyer:
            count = 24 if hero else 1 + min(60, int(rng.expovariate(1 / (3.0 * value))))
            start_s = max(created_s, anchor_s - 1100 * DAY_S)
            end_s = anchor_s - (200 + random_() * 500) * DAY_S if lapsed else anchor_s
            span = max(DAY_S, end_s - start_s)
            mean_total = math.log(180 * value ** 0.5)
            offsets = sorted(random_() * span for _ in range(count))
            for n, offset in enumerate(offsets):
                placed_s = float(int(start_s + offset))
                age_days = (anchor_s - placed_s) / DAY_S
                if age_days < 2:
                    status = "paid" if random_() < 0.5 else "pending"
                elif age_days < 8:
                    status = "shipped"
                else:
                    status = ORDER_STATUS_OLD.pick(rng)
                total = max(100, int(rng.lognormvariate(mean_total, 0.7) * 100))
                order_id = first_order_id + n
                orders.append({
                    "id": order_id, "customer_id": cid, "number": str(100000 + order_id),
                    "placed_at": _time(placed_s), "total_cents": total, "currency": "CNY",
                    "status": status, "item_count": 1 + int(random_() * 6),
                })
                if status in COUNTED_ORDER_STATUSES:
                    counted += 1
                    spent += total
                    first_counted_s = first_counted_s or placed_s
                    last_counted_s = placed_s
        points = int(spent / 100 * (0.6 + random_() * 0.8)) if counted else 0

        tickets: list[dict[str, Any]] = []
        if orders and (hero or random_() < 0.22):
            for n in range(2 if hero else 1):
                order = orders[-1] if hero else rng.choice(orders)
                kind = "complaint" if hero or random_() < 0.3 else "service"
                opened_s = order["placed_at"].timestamp() + int((2 + random_() * 334) * 3600)
                opened_s = min(opened_s, anchor_s - int((1 + random_() * 47) * 3600))
                opened = _time(opened_s)
                priority = TICKET_PRIORITY.pick(rng)
                if hero:
                    status = "open"
                elif anchor_s - opened_s > 14 * DAY_S:
                    status = TICKET_STATUS_OLD.pick(rng)
                else:
                    status = TICKET_STATUS_RECENT.pick(rng)
                resolved = None
                if status in ("resolved", "closed"):
                    resolved = _time(min(anchor_s, opened_s + int((1 + random_() * 95) * 3600)))
                subject = rng.choice(TICKET_SUBJECTS[kind]).format(order=order["number"])
                tickets.append({
                    "id": first_ticket_id + n, "customer_id": cid, "kind": kind,
                    "subject": subject, "status": status, "priority": priority,
                    "order_number": order["number"], "contact_id": None, "opened_at": opened,
                    "sla_due_at": sla_due(kind, priority, opened), "resolved_at": resolved,
                    "updated_at": resolved or opened,
                })
        row = {
            "id": cid, "name": name, "phone": phone, "email": email if has_email else None,
            "city": city, "language": language, "tier": "standard", "tier_locked": False,
            "account_manager_id": None, "loyalty_points": points,
            "consent_marketing": random_() < 0.6, "consent_recording": random_() < 0.96,
            "notes": "Demo key account: prefers WeChat follow-ups." if hero else None,
            "created_at": _time(created_s), "updated_at": self.anchor,
            "segments_computed_at": self.anchor,
        }
        activity = CustomerActivity(
            customer_id=cid, order_count=counted, spent_cents=spent,
            first_order_at=_time(first_counted_s) if counted else None,
            last_order_at=_time(last_counted_s) if counted else None,
            loyalty_points=points,
        )
        weight = (0.3 if lapsed else 1.0) * (0.5 + min(value, 4.0)) * (1.0 if buyer else 0.3)
        return CustomerPlan(row=row, identities=identities, orders=orders, tickets=tickets,
                            activity=activity, weight=weight)


# --------------------------------------------------------------------------- the generator


@dataclass(slots=True)
class CustomerIndex:
    """What interaction generation needs to know about each customer (compact)."""

    tiers: list[str] = field(default_factory=list)
    cum_weights: list[float] = field(default_factory=list)


class DemoData:
    """Generates the demo rows table by table, in chunks, deterministically."""

    def __init__(self, options: SeedOptions) -> None:
        options.check()
        self.options = options
        self.factory = CustomerFactory(options)
        self.agents = demo_agents(options.agents, options.seed)
        self.index = CustomerIndex()
        self.activities: list[CustomerActivity] = []

    # -- fixed tables

    def admin_rows(self) -> dict[str, list[dict[str, Any]]]:
        """Skills, queues, dispositions, agents with skills, and the logins."""
        anchor = self.options.anchor
        rng = random.Random(f"users:{self.options.seed}")
        created = anchor - timedelta(days=400)
        rows: dict[str, list[dict[str, Any]]] = {
            "skills": [{"name": n, "description": d} for n, d in SKILLS.items()],
            "queues": [
                {"name": name, "channel": channel, "base_priority": priority,
                 "config": check_queue_config(config), "created_at": created,
                 "updated_at": created}
                for name, (channel, priority, config) in QUEUES.items()
            ],
            "dispositions": [{"code": c, "label": label, "is_default": d}
                             for c, label, d in DISPOSITIONS],
            "agents": [], "agent_skills": [], "users": [],
        }
        for n, agent in enumerate(self.agents):
            rows["agents"].append({
                "id": agent.id, "name": agent.name, "extension": str(7001 + n),
                "capacity": dict(DEFAULT_CAPACITY), "account_manager": agent.account_manager,
                "active": True, "created_at": created, "updated_at": created,
            })
            rows["agent_skills"].extend({"agent_id": agent.id, "skill": s, "level": lvl}
                                        for s, lvl in agent.skills.items())
        logins: list[tuple[str, str, str | None]] = [(a.id, "agent", a.id) for a in self.agents]
        logins += [("supervisor", "supervisor", None), ("admin", "admin", None),
                   ("integration", "integration", None)]
        for user_id, (username, role, agent_id) in enumerate(logins, start=1):
            rows["users"].append({
                "id": user_id, "username": username, "role": role, "agent_id": agent_id,
                "password_hash": hash_password(DEMO_PASSWORD, salt=rng.randbytes(16)),
                "active": True, "created_at": created, "updated_at": created,
            })
        return rows

    # -- customers (analytics need the whole population, so they are written after)

    def customer_chunks(self) -> Iterator[tuple[int, dict[str, list[dict[str, Any]]]]]:
        """Customers (analytics still blank), identities, orders and tickets, by chunk.

        Also collects each customer's activity for :meth:`analytics_rows`.
        """
        total = self.options.customers
        identity_id = next_order = next_ticket = 1
        cumulative = 0.0
        for start in range(1, total + 1, CHUNK_CUSTOMERS):
            rows: dict[str, list[dict[str, Any]]] = {
                "customers": [], "customer_identities": [], "orders": [], "tickets": [],
            }
            end = min(total, start + CHUNK_CUSTOMERS - 1)
            for cid in range(start, end + 1):
                plan = self.factory.build(cid, next_order, next_ticket)
                next_order += len(plan.orders)
                next_ticket += len(plan.tickets)
                self.activities.append(plan.activity)
                cumulative += plan.weight
                self.index.cum_weights.append(cumulative)
                rows["customers"].append(plan.row)
                for kind, value in plan.identities:
                    rows["customer_identities"].append({
                        "id": identity_id, "customer_id": cid, "kind": kind, "value": value,
                        "verified": kind == "phone", "created_at": plan.row["created_at"],
                    })
                    identity_id += 1
                rows["orders"].extend(plan.orders)
                rows["tickets"].extend(plan.tickets)
            yield end, rows

    def analytics_rows(self) -> list[dict[str, Any]]:
        """RFM, segment, lifecycle, loyalty and tier of every customer (after the chunks)."""
        results = analyse(self.activities, self.options.anchor)
        rng = random.Random(f"tiers:{self.options.seed}")
        managers = [a.id for a in self.agents if a.account_manager]
        key_accounts = 0
        rows = []
        for result in results:
            tier = resolve_tier("standard", False, result.segment)
            locked = False
            # A few hand-set tiers, as account managers would: strategic partners among
            # key accounts (and the demo's hero customer), silver for loyal general ones.
            hero = result.customer_id == 1
            if hero or (result.segment == "key_account" and rng.random() < 0.05):
                tier, locked = "strategic", True
            elif (result.segment == "general" and result.loyalty_level != "bronze"
                  and rng.random() < 0.25):
                tier, locked = "silver", True
            manager = None
            if tier in ("key", "strategic"):
                manager = managers[key_accounts % len(managers)]
                key_accounts += 1
            self.index.tiers.append(tier)
            rows.append({
                "id": result.customer_id, "tier": tier, "tier_locked": locked,
                "account_manager_id": manager, "rfm_r": result.rfm_r, "rfm_f": result.rfm_f,
                "rfm_m": result.rfm_m, "segment": result.segment,
                "lifecycle": result.lifecycle, "loyalty_level": result.loyalty_level,
                "lifetime_value_cents": result.lifetime_value_cents,
                "order_count": result.order_count, "first_order_at": result.first_order_at,
                "last_order_at": result.last_order_at,
            })
        return rows

    # -- interactions

    def daily_counts(self) -> list[int]:
        """Contacts per day over the last 180 days, oldest first (weekends quieter)."""
        total = self.options.interaction_count
        first_day = self.options.anchor - timedelta(days=INTERACTION_DAYS)
        weights = [0.75 if (first_day + timedelta(days=d)).weekday() >= 5 else 1.0
                   for d in range(INTERACTION_DAYS)]
        scale = total / sum(weights)
        counts = [int(w * scale) for w in weights]
        for d in range(total - sum(counts)):
            counts[d % INTERACTION_DAYS] += 1
        return counts

    def interaction_chunks(self) -> Iterator[tuple[int, dict[str, list[dict[str, Any]]]]]:
        """Past contacts over the last 180 days in arrival order, with legs and surveys."""
        options = self.options
        rng = random.Random(f"interactions:{options.seed}")
        random_ = rng.random
        by_queue = self._agents_by_queue()
        total = options.interaction_count
        cum = self.index.cum_weights
        tiers = self.index.tiers
        population = len(cum)
        first_day_s = options.anchor.timestamp() - INTERACTION_DAYS * DAY_S
        iid = leg_id = survey_id = 1
        rows: dict[str, list[dict[str, Any]]] = {"interactions": [], "interaction_legs": [],
                                                 "surveys": []}
        for day, count in enumerate(self.daily_counts()):
            # Opening hours 08:00-22:00 Shanghai time = 00:00-14:00 UTC.
            day_s = first_day_s + day * DAY_S
            for offset in sorted(rng.randrange(14 * 3600) for _ in range(count)):
                arrived_s = day_s + offset
                customer_id: int | None = None
                if population and random_() >= 0.06:
                    customer_id = min(population,
                                      bisect.bisect_left(cum, random_() * cum[-1]) + 1)
                tier = tiers[customer_id - 1] if customer_id else "standard"
                channel = CHANNEL.pick(rng)
                row, legs = self._contact(rng, iid, arrived_s, channel, tier, customer_id,
                                          by_queue)
                for leg in legs:
                    leg["id"] = leg_id
                    leg_id += 1
                rows["interactions"].append(row)
                rows["interaction_legs"].extend(legs)
                if row["csat"] is not None:
                    nps = min(10, max(0, row["csat"] * 2 + int(random_() * 4) - 2))
                    rows["surveys"].append({
                        "id": survey_id, "customer_id": customer_id,
                        "contact_id": row["contact_id"],
                        "at": row["wrap_up_ended_at"] + timedelta(minutes=2), "csat": row["csat"],
                        "nps": nps if random_() < 0.5 else None,
                        "comment": rng.choice(SURVEY_COMMENTS),
                    })
                    survey_id += 1
                if iid % CHUNK_INTERACTIONS == 0 or iid == total:
                    yield iid, rows
                    rows = {"interactions": [], "interaction_legs": [], "surveys": []}
                iid += 1

    def _agents_by_queue(self) -> dict[str, list[str]]:
        eligible: dict[str, list[str]] = {}
        for name, (_, _, config) in QUEUES.items():
            needs = {r["skill"]: r["min_level"] for r in config["required_skills"]}
            found = [a.id for a in self.agents
                     if all(a.skills.get(s, 0) >= lvl for s, lvl in needs.items())]
            eligible[name] = found or [a.id for a in self.agents]
        return eligible

    @staticmethod
    def _queue_for(rng: random.Random, channel: str, tier: str) -> str:
        if channel == "voice":
            if tier in ("key", "strategic") and rng.random() < 0.8:
                return "voice_vip"
            return "voice_sales" if rng.random() < 0.35 else "voice_support"
        if channel == "chat":
            return "chat_sales" if rng.random() < 0.4 else "chat_support"
        if channel == "email":
            return "email_support"
        return "callback"

    def _contact(
        self, rng: random.Random, iid: int, arrived_s: float, channel: str, tier: str,
        customer_id: int | None, by_queue: dict[str, list[str]],
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        random_ = rng.random
        queue = self._queue_for(rng, channel, tier)
        outcome = OUTCOME[channel].pick(rng)
        contact_id = _uuid7(arrived_s, rng)
        row: dict[str, Any] = {
            "id": iid, "contact_id": contact_id, "channel": channel,
            "direction": "outbound" if channel == "callback" else "inbound",
            "customer_id": customer_id, "first_queue": queue, "last_queue": queue,
            "agent_id": None, "arrived_at": _time(arrived_s), "ivr_left_at": None,
            "queued_at": None, "alerting_at": None, "answered_at": None, "ended_at": None,
            "wrap_up_ended_at": None, "wait_s": 0.0, "talk_s": 0.0, "hold_s": 0.0,
            "wrap_up_s": 0.0, "handle_s": 0.0, "outcome": outcome, "disposition": None,
            "notes": None, "ivr_path": [], "csat": None, "transfers": 0, "overflows": 0,
        }
        queued_s = arrived_s
        if channel == "voice":
            row["ivr_path"] = rng.choice(IVR_MENUS)
            queued_s = arrived_s + 8 + int(random_() * 52)
            row["ivr_left_at"] = _time(queued_s)
        if outcome == "contained":
            row["ended_at"] = row["ivr_left_at"]
            return row, []
        row["queued_at"] = _time(queued_s)
        mean_wait = 8.0 if queue == "voice_vip" else MEAN_WAIT_S[channel]
        wait = _seconds(rng.expovariate(1 / mean_wait))
        if outcome in ("abandoned", "short_abandon", "voicemail", "callback"):
            if outcome == "short_abandon":
                wait = _seconds(0.5 + random_() * 4.4)
            elif outcome == "abandoned":
                wait = _seconds(5 + rng.expovariate(1 / 60))
            row["wait_s"] = wait
            row["ended_at"] = _time(queued_s + wait)
            return row, []
        queues = [queue]
        if outcome == "transferred":
            queues.append(TRANSFER_QUEUE[channel])
        answered_s = float(int(queued_s + wait))
        phone_like = channel in ("voice", "callback")
        ring = 2 + int(random_() * 6) if phone_like else 1 + int(random_() * 4)
        moment_s = answered_s
        legs: list[dict[str, Any]] = []
        talk_total = hold_total = wrap_total = 0.0
        mean_talk = math.log(MEAN_TALK_S[channel])
        for n, leg_queue in enumerate(queues, start=1):
            agent = rng.choice(by_queue[leg_queue])
            talk = _seconds(rng.lognormvariate(mean_talk, 0.6))
            hold = _seconds(10 + random_() * 110) if channel == "voice" and random_() < 0.2 \
                else 0.0
            wrap = _seconds(5 + random_() * (QUEUES[leg_queue][2]["wrap_up_s"] - 5))
            leg_answered_s = moment_s if n == 1 else moment_s + 5 + int(random_() * 25)
            leg_ended_s = float(int(leg_answered_s + talk + hold))
            legs.append({
                "interaction_id": iid, "leg_no": n, "agent_id": agent, "queue": leg_queue,
                "alerting_at": _time(leg_answered_s - (ring if n == 1 else 3)),
                "answered_at": _time(leg_answered_s), "ended_at": _time(leg_ended_s),
                "talk_s": talk, "hold_s": hold, "wrap_up_s": wrap,
            })
            moment_s = leg_ended_s
            talk_total += talk
            hold_total += hold
            wrap_total += wrap
        csat = int(CSAT.pick(rng)) if random_() < 0.25 else None
        row.update(
            last_queue=queues[-1], agent_id=legs[-1]["agent_id"],
            alerting_at=legs[0]["alerting_at"], answered_at=legs[0]["answered_at"],
            ended_at=_time(moment_s), wrap_up_ended_at=_time(moment_s + int(wrap_total)),
            wait_s=wait, talk_s=_seconds(talk_total), hold_s=_seconds(hold_total),
            wrap_up_s=_seconds(wrap_total),
            handle_s=_seconds(talk_total + hold_total + wrap_total),
            disposition=DISPOSITION.pick(rng),
            notes=rng.choice(NOTES) if random_() < 0.3 else None, csat=csat,
            transfers=len(queues) - 1,
        )
        return row, legs


# --------------------------------------------------------------------------- loading


async def seed_store(
    url: str, options: SeedOptions, *, reset: bool = False,
    progress: ProgressCallback | None = None,
) -> SeedSummary:
    """Migrate the store at ``url`` to head and fill it with the demo data.

    Refuses a store that holds any row (``store.not_empty``) unless ``reset``,
    which empties every table first.
    """
    from callcenter.store.bulk import (
        clear_store,
        insert_rows,
        is_empty,
        reset_id_sequences,
        secondary_indexes_deferred,
        table_counts,
        update_rows,
    )
    from callcenter.store.engine import make_engine
    from callcenter.store.migrate import upgrade

    report: ProgressCallback = progress or (lambda step, done, total: None)
    started = time.perf_counter()
    data = DemoData(options)
    await upgrade(url)
    engine = make_engine(url, bulk_load=True)
    try:
        async with engine.begin() as connection:
            if not await is_empty(connection):
                if not reset:
                    raise StoreNotEmpty("the store already holds data; use --reset to replace "
                                        "it (every table is emptied)")
                await clear_store(connection)
            for table, rows in data.admin_rows().items():
                await insert_rows(connection, table, rows)
        async with secondary_indexes_deferred(engine, BULK_TABLES):
            await _load(engine, data.customer_chunks(), options.customers,
                        "loading customers", report)
            report("computing segments", 0, 1)
            async with engine.begin() as connection:
                await update_rows(connection, "customers", data.analytics_rows())
            report("computing segments", 1, 1)
            await _load(engine, data.interaction_chunks(), options.interaction_count,
                        "loading interactions", report)
            report("building indexes", 0, 1)
        report("building indexes", 1, 1)
        async with engine.begin() as connection:
            await reset_id_sequences(connection)
            counts = await table_counts(connection)
    finally:
        await engine.dispose()
    return SeedSummary(counts=counts, seconds=time.perf_counter() - started)


async def _load(
    engine: Any, chunks: Iterator[tuple[int, dict[str, list[dict[str, Any]]]]], total: int,
    step: str, report: Callable[[str, int, int], None],
) -> None:
    """Insert generated chunks, generating the next one in a thread meanwhile.

    The database driver does its work outside the GIL, so generating chunk n+1
    while chunk n is written keeps both cores busy.
    """
    from callcenter.store.bulk import insert_rows

    report(step, 0, total)
    upcoming = asyncio.create_task(asyncio.to_thread(next, chunks, None))
    try:
        while (item := await upcoming) is not None:
            upcoming = asyncio.create_task(asyncio.to_thread(next, chunks, None))
            done, rows = item
            # One transaction per chunk: bounded WAL size, visible progress.
            async with engine.begin() as connection:
                for table, table_rows in rows.items():
                    await insert_rows(connection, table, table_rows)
            report(step, done, total)
    finally:
        # On failure, let the generating thread finish its chunk before unwinding.
        with contextlib.suppress(Exception):
            await upcoming


# --------------------------------------------------------------------------- CLI


def _parse_anchor(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``callcenter seed``."""
    parser.add_argument("--customers", type=int, default=10_000,
                        help="number of customers (default: 10000)")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed; the same seed gives the same data (default: 1)")
    parser.add_argument("--interactions", type=int, default=None,
                        help="past interactions (default: 5 per customer)")
    parser.add_argument("--agents", type=int, default=24, help="number of agents (default: 24)")
    parser.add_argument("--anchor", type=_parse_anchor, default=DEFAULT_ANCHOR,
                        help="data-set anchor date, UTC; history ends here "
                             "(default: 2026-11-01)")
    parser.add_argument("--url", help="store URL (default: store.url of the configuration)")
    parser.add_argument("--reset", action="store_true",
                        help="empty a store that already holds data instead of refusing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, config: Config) -> int:
    """Run ``callcenter seed``."""
    options = SeedOptions(customers=args.customers, seed=args.seed,
                          interactions=args.interactions, agents=args.agents, anchor=args.anchor)
    options.check()
    url = args.url or config.store.url
    with progress_reporter(f"seeding {url}", enabled=not args.no_progress) as report:
        summary = asyncio.run(seed_store(url, options, reset=args.reset, progress=report))
    listed = ", ".join(f"{name} {count}" for name, count in summary.counts.items() if count)
    print(f"seeded in {summary.seconds:.1f} s (seed {options.seed}, anchor "
          f"{options.anchor.date().isoformat()}): {listed}", file=sys.stdout)
    print(f"logins (password {DEMO_PASSWORD!r}): agent01..agent{options.agents:02d}, "
          "supervisor, admin, integration", file=sys.stdout)
    return 0
