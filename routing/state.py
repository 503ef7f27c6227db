"""Mutable records the router keeps per agent, contact and queue.

Internal to `routing/`: the outside world sees them only through events,
commands, queries and snapshots. Hot classes use `__slots__` (a waiting contact
must stay under ~1.5 KB).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from heapq import heapify, heappush
from typing import Any

from routing.model import (
    EXCLUSIVE_CHANNELS,
    Channel,
    Exit,
    QueueConfig,
    Relaxation,
    RequiredSkill,
    Requirements,
    SortKey,
    effective_requirements,
)
from routing.occupancy import OccupancyLog

#: A heap entry: (sort key, contact). The contact's `heap_entry` points at its
#: one live entry; any other entry for it is stale (lazy deletion).
HeapEntry = tuple[SortKey, "ContactRecord"]


#: An agent's place in the pools of one channel: (idle_since on that channel,
#: agent id, agent). A new tuple whenever the agent (re)enters the channel's
#: pools or its idle_since changes; pool heaps drop entries that are no longer
#: the agent's current one (lazy deletion).
AgentEntry = tuple[float, str, "AgentRecord"]
#: most_skilled order: (-sum of levels on the group's skills, idle_since, agent id, entry).
SkillEntry = tuple[int, float, str, AgentEntry]


class Group:
    """Waiting contacts with identical (channel, requirements), a heap on the key,
    and the pool of agents who could take them now.

    `members` is exactly the set of agents that can take the channel now
    (`AgentRecord.can_take`) and hold the requirements, each with its current
    `AgentEntry`; the router keeps it up to date on every agent change. The
    orders the strategies need are built on first use and kept from then on:
    `by_idle` (heap on idle_since, id), `by_skill` (heap on -level sum,
    idle_since, id) and `ids` (sorted agent ids, round robin).
    """

    __slots__ = ("by_idle", "by_skill", "channel", "heap", "ids", "live", "members", "reqs")

    def __init__(self, channel: str, reqs: Requirements) -> None:
        self.channel = channel
        self.reqs = reqs
        self.heap: list[HeapEntry] = []
        self.live = 0
        self.members: dict[AgentRecord, AgentEntry] = {}
        self.by_idle: list[AgentEntry] | None = None
        self.by_skill: list[SkillEntry] | None = None
        self.ids: list[str] | None = None

    # The pool of agents -------------------------------------------------

    def put(self, a: AgentRecord, entry: AgentEntry) -> None:
        """`a` is in the pool with `entry` (new member, or its idle_since changed)."""
        members = self.members
        previous = members.get(a)
        if previous is entry:
            return
        members[a] = entry
        by_idle = self.by_idle
        if by_idle is not None:
            heappush(by_idle, entry)
            if len(by_idle) > 2 * len(members) + 32:
                self.by_idle = None
                self.idle_heap()
        by_skill = self.by_skill
        if by_skill is not None:
            heappush(by_skill, self._skill_entry(entry))
            if len(by_skill) > 2 * len(members) + 32:
                self.by_skill = None
                self.skill_heap()
        if previous is None and self.ids is not None:
            insort(self.ids, a.agent_id)

    def remove(self, a: AgentRecord) -> None:
        """`a` left the pool (heap entries go stale and are dropped lazily)."""
        if self.members.pop(a, None) is not None:
            ids = self.ids
            if ids is not None:
                del ids[bisect_left(ids, a.agent_id)]

    def _skill_entry(self, entry: AgentEntry) -> SkillEntry:
        skills = entry[2].skills
        total = 0
        for skill, _ in self.reqs:
            total += skills[skill]
        return (-total, entry[0], entry[1], entry)

    def idle_heap(self) -> list[AgentEntry]:
        heap = self.by_idle
        if heap is None:
            heap = self.by_idle = list(self.members.values())
            heapify(heap)
        return heap

    def skill_heap(self) -> list[SkillEntry]:
        heap = self.by_skill
        if heap is None:
            heap = self.by_skill = [self._skill_entry(e) for e in self.members.values()]
            heapify(heap)
        return heap

    def id_list(self) -> list[str]:
        ids = self.ids
        if ids is None:
            ids = self.ids = sorted(a.agent_id for a in self.members)
        return ids


#: Marks a contact whose live heap entry sits in its preferred agents' heaps.
PREFERRED = Group("", ())


class ContactRecord:
    __slots__ = (
        "agent_id",
        "arrived_at",
        "attempts",
        "channel",
        "contact_id",
        "customer_id",
        "entered_at",
        "excluded",
        "external_id",
        "extra_reqs",
        "heap_entry",
        "heap_group",
        "key",
        "pref_until",
        "preferred",
        "queue",
        "relax_step",
        "reqs",
        "seq",
        "state",
        "state_deadline",
        "state_since",
        "tier",
        "timer_due",
        "timer_token",
    )

    def __init__(
        self,
        contact_id: str,
        queue: str,
        channel: Channel,
        tier: str,
        arrived_at: float,
        seq: int,
        extra_reqs: tuple[RequiredSkill, ...],
    ) -> None:
        self.contact_id = contact_id
        self.queue = queue
        self.channel: Channel = channel
        self.tier = tier
        self.customer_id: str | None = None
        self.external_id: str | None = None
        self.arrived_at = arrived_at
        self.entered_at = arrived_at
        self.seq = seq
        self.key: SortKey = (0, arrived_at, seq)
        self.extra_reqs = extra_reqs
        self.reqs: Requirements = ()
        self.relax_step = 0
        self.state = "new"
        self.agent_id: str | None = None
        self.attempts = 0
        #: agent_id -> time the exclusion ends (None when empty, to save memory).
        self.excluded: dict[str, float] | None = None
        self.preferred: tuple[str, ...] = ()
        #: End of the preferred-agent phase (None: not in that phase).
        self.pref_until: float | None = None
        #: Offer time while alerting; connect time while connected / in wrap-up.
        self.state_since = arrived_at
        #: Ring timeout, wrap-up timeout or callback due time, by state.
        self.state_deadline: float | None = None
        self.heap_entry: HeapEntry | None = None
        self.heap_group: Group | None = None
        self.timer_due: float | None = None
        self.timer_token = 0

    def __lt__(self, other: ContactRecord) -> bool:
        # Only reached when two heap entries of one contact carry the same key.
        return self.seq < other.seq

    def is_excluding(self, agent_id: str, now: float) -> bool:
        excluded = self.excluded
        return excluded is not None and excluded.get(agent_id, now) > now


class AgentRecord:
    __slots__ = (
        "agent_id",
        "capacity",
        "contacts",
        "entries",
        "exclusive_open",
        "groups",
        "idle_all",
        "indexed",
        "last_end",
        "load",
        "logged_in_at",
        "occupancy",
        "pending",
        "presence",
        "reason",
        "skills",
    )

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.skills: dict[str, int] = {}
        self.capacity: dict[str, int] = {}
        self.presence = "offline"
        self.reason = ""
        #: Reason of a not_ready asked for while busy (None: nothing pending).
        self.pending: str | None = None
        #: contact_id -> channel of every contact holding capacity.
        self.contacts: dict[str, str] = {}
        self.load: dict[str, int] = {}
        self.exclusive_open = 0
        #: When the agent last became free of every contact.
        self.idle_all = 0.0
        #: channel -> when the last contact on that channel ended.
        self.last_end: dict[str, float] = {}
        self.logged_in_at = 0.0
        self.occupancy = OccupancyLog()
        #: Channels on which the agent can take a contact now (index membership).
        self.indexed: tuple[str, ...] = ()
        #: channel -> the agent's current entry in that channel's group pools
        #: (exactly the channels in `indexed`).
        self.entries: dict[str, AgentEntry] = {}
        #: Groups this agent holds the requirements of, per channel (kept while
        #: logged in: rebuilt at login and on a skill change, extended as groups
        #: appear).
        self.groups: dict[str, list[Group]] = {}

    def can_take(self, channel: str) -> bool:
        """Available presence, nothing pending, capacity left, exclusivity respected."""
        if self.presence != "available" or self.pending is not None:
            return False
        if self.load.get(channel, 0) >= self.capacity.get(channel, 0):
            return False
        if channel in EXCLUSIVE_CHANNELS:
            return not self.contacts
        return self.exclusive_open == 0

    def idle_since(self, channel: str) -> float:
        """DESIGN §3: when the agent last had no contact at all; for a partly
        busy agent, when the last contact on that channel ended."""
        if not self.contacts:
            return self.idle_all
        return self.last_end.get(channel, self.logged_in_at)

    def has_skills(self, reqs: Requirements) -> bool:
        skills = self.skills
        for skill, level in reqs:  # noqa: SIM110 (a plain loop is faster on this hot path)
            if skills.get(skill, 0) < level:
                return False
        return True


class QueueState:
    __slots__ = (
        "config",
        "handle_times",
        "is_open",
        "max_wait_rule",
        "ranks",
        "reqs_cache",
        "rr_last",
        "staffed",
        "staffed_version",
        "steps",
    )

    def __init__(self, config: QueueConfig, handle_time_samples: int) -> None:
        self.config = config
        self.steps: tuple[Relaxation, ...] = config.sorted_relaxation()
        self.max_wait_rule: tuple[float, Exit] | None = config.max_wait_rule()
        self.is_open = config.is_open
        #: Last agent chosen in this queue (round robin).
        self.rr_last: str | None = None
        self.handle_times: deque[float] = deque(maxlen=handle_time_samples)
        #: Waiting contacts of this queue in key order: (key, contact).
        self.ranks: list[Any] = []
        self.staffed = 0
        self.staffed_version = -1
        self.reqs_cache: dict[tuple[tuple[RequiredSkill, ...], int], Requirements] = {}

    def requirements(self, extra: tuple[RequiredSkill, ...], steps: int) -> Requirements:
        """`effective_requirements` for this queue, cached (few distinct inputs)."""
        key = (extra, steps)
        reqs = self.reqs_cache.get(key)
        if reqs is None:
            if len(self.reqs_cache) > 4096:
                self.reqs_cache.clear()
            reqs = self.reqs_cache[key] = effective_requirements(self.config, extra, steps)
        return reqs

    def reconfigure(self, config: QueueConfig) -> None:
        self.reqs_cache = {}
        self.config = config
        self.steps = config.sorted_relaxation()
        self.max_wait_rule = config.max_wait_rule()
        self.is_open = config.is_open

    @property
    def name(self) -> str:
        return self.config.name
