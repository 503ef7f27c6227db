"""The router task: the single owner of the routing engine, with durable acks.

Everything that changes routing state (a contact arriving, an agent accepting, a
timer firing) reaches the router as a :class:`Submission` on one asyncio queue.
One task drains that queue in batches (group commit, up to ``store.group_commit_max``)
and for each batch:

1. looks up the batch's ``external_id`` s (idempotency: a repeat, also one inside
   the same batch, resolves to the existing contact and applies nothing);
2. applies the events to the :class:`~routing.router.Router` in order, stamping
   each with the server clock (never going backwards) and following the commands
   with the write-back tracker;
3. writes, in ONE transaction: the new contact rows and first messages, the
   journal entries, contact state changes, presence and decision logs, and the
   interaction records of contacts that finished - then commits;
4. only then releases the waiting callers (HTTP 202, websocket ack) and publishes
   the commands on the bus (offers pushed to agents, supervisor deltas, ...).

Apply-then-commit means a refused event (an invalid transition) is answered
without ever being journaled, and that nobody hears about an effect before it is
durable. If the commit fails, the callers get ``store.unavailable`` and the router
is rebuilt from the store (snapshot + journal), so memory never runs ahead of disk.

Timers: after each batch one ``loop.call_later`` is armed for
``router.next_deadline()``; it enqueues a ``Tick``. Nothing polls.

Crash points for tests: with ``CC_TEST_MODE=1``, ``CC_TEST_CRASH_POINT`` names a
point (``mid_batch``, ``after_commit_before_ack``, ``after_offer_before_push``)
where the process dies with ``os._exit(137)``, on the ``CC_TEST_CRASH_AFTER``-th
time it is reached (default 1). Outside test mode the variables are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.bus import Bus, Routed
from callcenter.errors import CallCenterError
from callcenter.journal import (
    decode_entry,
    entries_after,
    journal_entry,
    restore_state,
    snapshot_payload,
)
from callcenter.logs import get_logger
from callcenter.store.interactions import write_interactions
from callcenter.store.journal import (
    NewJournalEntry,
    append_journal_many,
    prune_journal,
    save_snapshot,
)
from callcenter.store.models import (
    AgentPresenceLog,
    AuditEntry,
    Contact,
    ContactMessage,
    Customer,
    CustomerIdentity,
    RoutingDecision,
)
from callcenter.writeback import ContactTracker, WriteBack, utc
from routing.commands import Command, OfferContact
from routing.config import RouterConfig
from routing.errors import RoutingError
from routing.events import ContactArrived, Event, Tick
from routing.model import QueueConfig
from routing.router import Router

log = get_logger(__name__)

CRASH_POINTS = ("mid_batch", "after_commit_before_ack", "after_offer_before_push")
PROVISIONAL_NOTE = "[provisional] created from a contact by an unknown customer"
_RECENT_LIMIT = 50_000

#: A function run inside the router task that decides, from the router's current
#: state, which events to apply (atomically with respect to other submissions).
Intent = Callable[[Router], Sequence[tuple[Event, dict[str, Any]]]]


class StoreUnavailable(CallCenterError):
    code = "store.unavailable"
    status = 503


class Draining(CallCenterError):
    code = "server.draining"
    status = 503


@dataclass(slots=True)
class NewCustomer:
    """A provisional customer to create for a contact from someone unknown."""

    name: str
    #: (kind, normalised value) pairs; an existing owner of any of them is used instead.
    identities: list[tuple[str, str]] = field(default_factory=list)
    notes: str = PROVISIONAL_NOTE


@dataclass(slots=True)
class ContactEffect:
    """Rows a ``ContactArrived`` implies, written in the transaction that journals it.

    With ``new_customer`` the router task creates (or finds) the customer in that
    transaction too and fills in the contact's and the event's ``customer_id``:
    on the hot path the router task is the only writer, so SQLite's single write
    lock is never contended by request handlers.
    """

    contact: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    new_customer: NewCustomer | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """One event as the router applied it (``error`` set if refused)."""

    event: Event
    commands: tuple[Command, ...]
    error: RoutingError | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a submission did, available once it is durable."""

    applied: tuple[Applied, ...] = ()
    #: For a contact whose ``external_id`` is known already: the existing contact id.
    duplicate_of: str | None = None
    #: The customer a ``new_customer`` effect resolved to.
    customer_id: int | None = None

    @property
    def commands(self) -> tuple[Command, ...]:
        return tuple(c for a in self.applied for c in a.commands)


@dataclass(slots=True)
class Submission:
    """Events to apply (the effect belongs to the first), or an intent."""

    events: Sequence[tuple[Event, dict[str, Any]]] = ()
    intent: Intent | None = None
    effect: ContactEffect | None = None
    future: asyncio.Future[Outcome] | None = None
    tick_for: float | None = None


@dataclass(slots=True)
class _Lookups:
    external: dict[str, str] = field(default_factory=dict)
    messages: set[str] = field(default_factory=set)
    identities: dict[tuple[str, str], int] = field(default_factory=dict)
    elapsed_ms: float = 0.0


def _insert_ignoring_conflicts(connection: AsyncConnection, table: Any) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


class CrashSwitch:
    """The test-only crash points (see the module docstring)."""

    def __init__(self, point: str | None, after: int = 1) -> None:
        self.point = point
        self.remaining = after
        #: Start-up work (recovery, queue sync) does not count; armed once serving.
        self.armed = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> CrashSwitch:
        env = dict(os.environ) if env is None else env
        if env.get("CC_TEST_MODE") != "1":
            return cls(None)
        point = env.get("CC_TEST_CRASH_POINT") or None
        if point is not None and point not in CRASH_POINTS:
            raise CallCenterError(f"unknown crash point {point!r} (known: {CRASH_POINTS})",
                                  code="config.invalid")
        return cls(point, int(env.get("CC_TEST_CRASH_AFTER", "1")))

    def reached(self, point: str) -> None:
        if self.point != point or not self.armed:
            return
        self.remaining -= 1
        if self.remaining <= 0:
            log.warning("test.crash_point", point=point)
            os._exit(137)


_UPDATE_CONTACT = (
    update(Contact.__table__)  # type: ignore[arg-type]
    .where(Contact.__table__.c.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), queue=bindparam("b_queue"),
            updated_at=bindparam("b_at"))
)


class RouterRuntime:
    """The single task that owns the router (see the module docstring)."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: Bus,
        router_config: RouterConfig,
        group_commit_max: int = 256,
        clock: Callable[[], float] = time.time,
        crash: CrashSwitch | None = None,
        snapshot_every: int = 5_000,
        snapshot_interval_s: float = 60.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.bus = bus
        self.router_config = router_config
        self.group_commit_max = max(1, group_commit_max)
        self.clock = clock
        self.crash = crash or CrashSwitch(None)
        self.snapshot_every = snapshot_every
        self.snapshot_interval_s = snapshot_interval_s
        engine = sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("the sessionmaker must be bound to an AsyncEngine")
        self.engine: AsyncEngine = engine
        self.router = Router(router_config)
        self.tracker = ContactTracker()
        self.journal_id = 0
        self.replayed = 0
        self.accepting = True
        self._queue: asyncio.Queue[Submission | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._last_at = 0.0
        self._tick_handle: asyncio.TimerHandle | None = None
        self._tick_deadline: float | None = None
        self._tick_queued = False
        self._connection: AsyncConnection | None = None
        self._next: tuple[list[Submission], asyncio.Task[_Lookups], bool] | None = None
        self._stop_seen = False
        # Recently applied external ids, Message-IDs and new identities: the lookups of
        # a batch run while the previous batch commits, so they cannot see its rows yet.
        self._recent_external: OrderedDict[str, str] = OrderedDict()
        self._recent_messages: OrderedDict[str, None] = OrderedDict()
        self._recent_identities: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._snapshot_journal_id = 0
        self._snapshot_time = time.monotonic()
        self.batches = 0
        self.events_applied = 0
        #: (submissions, lookup ms, apply + write + commit ms) of recent batches.
        self.batch_timings: deque[tuple[int, float, float]] = deque(maxlen=10_000)
        self.healthy = True

    # ------------------------------------------------------------ lifecycle

    async def recover(self) -> None:
        """Restore the newest snapshot and replay the journal after it."""
        restored = await restore_state(self.sessionmaker, self.router_config)
        self.router, self.tracker = restored.router, restored.tracker
        self.journal_id = self._snapshot_journal_id = restored.journal_id
        count = 0
        async for entry in entries_after(self.sessionmaker, restored.journal_id):
            event, meta = decode_entry(entry)
            try:
                commands: Sequence[Command] = self.router.handle(event)
            except RoutingError as exc:
                commands = exc.commands
            self.tracker.apply(event, commands, meta, WriteBack())
            self.journal_id = entry.id
            count += 1
        self.replayed = count
        self._last_at = self.router.now or 0.0
        log.info("router.recovered", snapshot_journal_id=restored.journal_id,
                 replayed=count, journal_id=self.journal_id,
                 contacts=len(self.router.contact_ids()), agents=len(self.router.agent_ids()))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="router")
            self._schedule_tick()

    async def stop(self, drain_s: float = 10.0) -> None:
        """Refuse new work, finish what is queued, take a snapshot, stop."""
        self.accepting = False
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        if self._task is None:
            return
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), drain_s)
        except TimeoutError:
            log.warning("router.stop_timeout", queued=self._queue.qsize())
            self._task.cancel()
        finally:
            self._task = None
        try:
            await self._save_snapshot()
        except Exception:
            log.exception("router.final_snapshot_failed")
        await self._close_writer()
        log.info("router.stopped", batches=self.batches, events=self.events_applied,
                 **self.timing_summary())

    def timing_summary(self) -> dict[str, float]:
        """Batch size and durations (p50/p99) over the recent batches."""
        if not self.batch_timings:
            return {}
        out: dict[str, float] = {}
        for index, name in ((0, "batch_size"), (1, "lookup_ms"), (2, "commit_ms")):
            values = sorted(t[index] for t in self.batch_timings)
            out[f"{name}_p50"] = round(values[len(values) // 2], 2)
            out[f"{name}_p99"] = round(values[min(len(values) - 1, len(values) * 99 // 100)], 2)
        return out

    @property
    def queue_size(self) -> int:
        return self._queue.qsize()

    def queue_config(self, name: str) -> QueueConfig | None:
        """The router's configuration of a queue (None if unknown).

        The router has no public query for this yet; it is read here, in one place.
        """
        state = self.router._queues.get(name)
        return None if state is None else state.config

    # ------------------------------------------------------------ submitting

    async def submit(self, event: Event, *, meta: dict[str, Any] | None = None,
                     effect: ContactEffect | None = None) -> Outcome:
        """Apply ``event`` durably; raises the router's error if it was refused."""
        return await self.submit_events([(event, meta or {})], effect=effect)

    async def submit_events(self, events: Sequence[tuple[Event, dict[str, Any]]], *,
                            effect: ContactEffect | None = None) -> Outcome:
        """Apply several events in a row, in one batch; ``effect`` goes with the first.
        Raises the first refusal (the other events are still applied)."""
        outcome = await self._submit(Submission(events=list(events), effect=effect))
        for applied in outcome.applied:
            if applied.error is not None:
                raise applied.error
        return outcome

    async def submit_intent(self, intent: Intent) -> Outcome:
        """Run ``intent`` in the router task and apply the events it returns."""
        return await self._submit(Submission(intent=intent))

    async def _submit(self, submission: Submission) -> Outcome:
        if not self.accepting:
            raise Draining("the server is shutting down; retry on another node or later")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        submission.future = future
        self._queue.put_nowait(submission)
        return await future

    # ------------------------------------------------------------ the task

    def _drain(self, batch: list[Submission]) -> tuple[list[Submission], bool]:
        """Add what is waiting to ``batch`` (up to the group-commit size); True when the
        stop sentinel was taken."""
        while len(batch) < self.group_commit_max and not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _prefetch(self) -> None:
        """Take the next batch now and start its store lookups, so they run while this
        batch commits (what this batch applies is in the ``_recent`` memory)."""
        if self._next is not None or self._queue.empty():
            return
        batch, stop = self._drain([])
        if batch:
            self._next = (batch, asyncio.create_task(self._lookups(batch)), stop)
        elif stop:
            self._stop_seen = True

    async def _run(self) -> None:
        stop = False
        while True:
            if self._next is not None:
                batch, lookups_task, stop = self._next
                self._next = None
            else:
                if stop or self._stop_seen:
                    return
                first = await self._queue.get()
                if first is None:
                    return
                batch, stop = self._drain([first])
                lookups_task = asyncio.create_task(self._lookups(batch))
            try:
                await self._process(batch, await lookups_task)
                self.healthy = True
            except Exception as exc:
                self.healthy = False
                log.exception("router.batch_failed", size=len(batch))
                error = StoreUnavailable(f"the store did not take the write: "
                                         f"{type(exc).__name__}")
                for s in batch:
                    if s.future is not None and not s.future.done():
                        s.future.set_exception(error)
                await self._rebuild()
                if self._next is not None:  # its lookups trusted the failed batch
                    next_batch, task, next_stop = self._next
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
                    self._next = (next_batch, asyncio.create_task(self._lookups(next_batch)),
                                  next_stop)
            self._schedule_tick()
            if stop and self._next is None:
                return

    async def _writer(self) -> AsyncConnection:
        """The router task's own connection: every batch transaction runs on it, so a
        batch costs no pool checkout and no reset (reopened after a failure)."""
        if self._connection is None or self._connection.closed:
            self._connection = await self.engine.connect()
        return self._connection

    async def _close_writer(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                await connection.close()

    @staticmethod
    def _remember(memory: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        memory[key] = value
        if len(memory) > _RECENT_LIMIT:
            memory.popitem(last=False)

    async def _rebuild(self) -> None:
        # The memory may hold what the failed batch applied; the store is the truth.
        self._recent_external.clear()
        self._recent_messages.clear()
        self._recent_identities.clear()
        await self._close_writer()
        for attempt in range(1, 1_000_000):
            try:
                await self.recover()
                return
            except Exception:
                log.exception("router.rebuild_failed", attempt=attempt)
                await asyncio.sleep(min(5.0, 0.2 * attempt))

    async def _lookups(self, batch: list[Submission]) -> _Lookups:
        """What the batch needs to know from the store, read before its transaction."""
        external = [s.effect.contact["external_id"] for s in batch
                    if s.effect is not None and s.effect.contact.get("external_id")]
        messages = [m["message_id"] for s in batch if s.effect is not None
                    for m in s.effect.messages if m.get("message_id")]
        identities = {i for s in batch if s.effect is not None and s.effect.new_customer
                      for i in s.effect.new_customer.identities}
        found = _Lookups()
        if not (external or messages or identities):
            return found
        started = time.perf_counter()
        async with self.engine.connect() as session:
            if external:
                pairs = await session.execute(select(Contact.external_id, Contact.id)
                                              .where(Contact.external_id.in_(external)))
                found.external = {ext: cid for ext, cid in pairs if ext is not None}
            if messages:
                ids = await session.execute(select(ContactMessage.message_id)
                                            .where(ContactMessage.message_id.in_(messages)))
                found.messages = {m for (m,) in ids if m is not None}
            for kind in {k for k, _ in identities}:
                values = [v for k, v in identities if k == kind]
                owners = await session.execute(
                    select(CustomerIdentity.value, CustomerIdentity.customer_id)
                    .where(CustomerIdentity.kind == kind, CustomerIdentity.value.in_(values)))
                found.identities.update({(kind, str(value)): int(cid) for value, cid in owners})
        found.elapsed_ms = (time.perf_counter() - started) * 1000
        return found

    async def _create_customers(self, connection: AsyncConnection, batch: list[Submission],
                                lookups: _Lookups) -> dict[int, int]:
        """Provisional customers of this batch: one per unknown identity set, three
        statements for the whole batch (customers, identities, audit rows).

        They are the first statements of the batch transaction, so on SQLite the write
        lock is taken before anything is read inside the transaction.
        """
        owners: dict[tuple[str, str], int | tuple[str, int]] = dict(lookups.identities)
        wanted: list[tuple[Submission, int | tuple[str, int]]] = []
        new: list[NewCustomer] = []
        for s in batch:
            effect = s.effect
            if effect is None or effect.new_customer is None:
                continue
            ext = effect.contact.get("external_id")
            if ext and ext in lookups.external:
                continue  # a repeat: nothing is created
            spec = effect.new_customer
            owner = next((owners[i] for i in spec.identities if i in owners), None)
            if owner is None:
                owner = ("new", len(new))
                new.append(spec)
            for identity in spec.identities:
                owners.setdefault(identity, owner)
            wanted.append((s, owner))
        if not wanted:
            return {}
        ids: list[int] = []
        if new:
            now = utc(self.clock())
            table = Customer.__table__
            result = await connection.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True),  # type: ignore[arg-type]
                [{"name": spec.name[:200], "phone": dict(spec.identities).get("phone"),
                  "email": dict(spec.identities).get("email"), "notes": spec.notes,
                  "created_at": now, "updated_at": now} for spec in new])
            ids = [int(row[0]) for row in result.all()]
            identities = [{"customer_id": ids[owner[1]], "kind": kind, "value": value,
                           "created_at": now}
                          for (kind, value), owner in owners.items()
                          if isinstance(owner, tuple)]
            if identities:
                await connection.execute(
                    _insert_ignoring_conflicts(connection, CustomerIdentity.__table__),
                    identities)
            await connection.execute(insert(AuditEntry.__table__), [  # type: ignore[arg-type]
                {"at": now, "actor": "system", "action": "customer.provisional_created",
                 "target": f"customer:{customer_id}",
                 "details": {"identities": [f"{k}:{v}" for k, v in spec.identities]}}
                for customer_id, spec in zip(ids, new, strict=True)])
        for identity, owner in owners.items():
            if isinstance(owner, tuple):
                self._remember(self._recent_identities, identity, ids[owner[1]])
        resolved: dict[int, int] = {}
        for s, owner in wanted:
            customer_id = ids[owner[1]] if isinstance(owner, tuple) else owner
            assert s.effect is not None
            s.effect.contact["customer_id"] = customer_id
            resolved[id(s)] = customer_id
        return resolved

    async def _process(self, batch: list[Submission], lookups: _Lookups) -> None:
        looked_up = time.perf_counter()
        # What batches applied but not yet visible to the lookups (in flight) are known.
        known = {**lookups.external, **{ext: self._recent_external[ext]
                                        for s in batch if s.effect is not None
                                        and (ext := s.effect.contact.get("external_id"))
                                        and ext in self._recent_external}}
        lookups.external = known
        known_messages = lookups.messages | {
            m["message_id"] for s in batch if s.effect is not None for m in s.effect.messages
            if m.get("message_id") in self._recent_messages}
        for s in batch:
            if s.effect is not None and s.effect.new_customer is not None:
                for identity in s.effect.new_customer.identities:
                    if identity in self._recent_identities:
                        lookups.identities.setdefault(identity,
                                                      self._recent_identities[identity])
        entries: list[NewJournalEntry] = []
        results: list[tuple[Submission, Outcome]] = []
        published: list[Routed] = []
        connection = await self._writer()
        async with connection.begin(), AsyncSession(bind=connection,
                                                    expire_on_commit=False) as session:
            customers = await self._create_customers(connection, batch, lookups)
            now = self.clock()
            contact_rows: list[dict[str, Any]] = []
            message_rows: list[dict[str, Any]] = []
            writeback = WriteBack()
            for s in batch:
                if s.tick_for is not None:
                    self._tick_queued = False
                external_id = s.effect.contact.get("external_id") if s.effect else None
                if external_id and external_id in known:
                    results.append((s, Outcome(duplicate_of=known[external_id])))
                    continue
                if s.intent is None:
                    pairs: Sequence[tuple[Event, dict[str, Any]]] = s.events
                else:
                    try:
                        pairs = s.intent(self.router)
                    except RoutingError as exc:
                        results.append((s, Outcome(applied=(Applied(Tick(now), (), exc),))))
                        continue
                customer_id = customers.get(id(s))
                applied: list[Applied] = []
                effect = s.effect
                for event, meta in pairs:
                    at = max(now, self._last_at)
                    if s.tick_for is not None:
                        at = max(at, s.tick_for)
                    if effect is not None and customer_id is not None and \
                            isinstance(event, ContactArrived):
                        event = dataclasses.replace(event, at=at, customer_id=str(customer_id))
                    else:
                        event = dataclasses.replace(event, at=at)
                    error: RoutingError | None = None
                    try:
                        commands = tuple(self.router.handle(event))
                    except RoutingError as exc:
                        error, commands = exc, tuple(exc.commands)
                    applied.append(Applied(event, commands, error))
                    effect_now, effect = effect, None
                    if error is not None and not commands:
                        continue  # refused without any effect: nothing to journal
                    if isinstance(event, Tick) and not commands:
                        continue
                    self._last_at = at
                    entries.append(journal_entry(event, meta))
                    self.tracker.apply(event, commands, meta, writeback)
                    published.append(Routed(event, commands, meta))
                    if error is None and effect_now is not None:
                        if external_id is not None:
                            known[external_id] = effect_now.contact["id"]
                            self._remember(self._recent_external, external_id,
                                           effect_now.contact["id"])
                        contact_rows.append(effect_now.contact)
                        for message in effect_now.messages:
                            if message.get("message_id") in known_messages:
                                message = {**message, "message_id": None}
                            elif message.get("message_id"):
                                known_messages.add(message["message_id"])
                                self._remember(self._recent_messages, message["message_id"],
                                               None)
                            message_rows.append(message)
                results.append((s, Outcome(applied=tuple(applied), customer_id=customer_id)))
            self._prefetch()
            if entries:
                ids = await self._write(session, connection, entries, contact_rows,
                                        message_rows, writeback)
        committed = time.perf_counter()
        self.batch_timings.append((len(batch), lookups.elapsed_ms,
                                   (committed - looked_up) * 1000))
        if entries:
            self.journal_id = ids[-1]
            self.crash.reached("after_commit_before_ack")
        self.batches += 1
        self.events_applied += len(entries)
        for s, outcome in results:
            if s.future is not None and not s.future.done():
                s.future.set_result(outcome)
        if any(isinstance(c, OfferContact) for r in published for c in r.commands):
            self.crash.reached("after_offer_before_push")
        for item in published:
            self.bus.publish(item)
        await self._maybe_snapshot()

    async def _write(self, session: AsyncSession, connection: AsyncConnection,
                     entries: list[NewJournalEntry], contact_rows: list[dict[str, Any]],
                     message_rows: list[dict[str, Any]], writeback: WriteBack) -> list[int]:
        if contact_rows:
            await connection.execute(insert(Contact.__table__),  # type: ignore[arg-type]
                                     contact_rows)
        if message_rows:
            await connection.execute(insert(ContactMessage.__table__),  # type: ignore[arg-type]
                                     message_rows)
        ids = await append_journal_many(session, entries)
        self.crash.reached("mid_batch")
        if writeback.states:
            await connection.execute(_UPDATE_CONTACT, [
                {"b_id": cid, "b_state": state, "b_queue": queue, "b_at": utc(at)}
                for cid, (state, queue, _agent, at) in writeback.states.items()
            ])
        if writeback.presence:
            await connection.execute(insert(AgentPresenceLog.__table__),  # type: ignore[arg-type]
                                     writeback.presence)
        if writeback.decisions:
            await connection.execute(insert(RoutingDecision.__table__),  # type: ignore[arg-type]
                                     writeback.decisions)
        if writeback.records:
            await write_interactions(session, writeback.records)
        return ids

    async def _maybe_snapshot(self) -> None:
        pending = self.journal_id - self._snapshot_journal_id
        if pending <= 0:
            return
        if (pending >= self.snapshot_every
                or time.monotonic() - self._snapshot_time >= self.snapshot_interval_s):
            await self._save_snapshot()

    async def _save_snapshot(self) -> None:
        if self.journal_id == self._snapshot_journal_id:
            return
        payload = snapshot_payload(self.router, self.tracker)
        async with self.sessionmaker.begin() as session:
            await save_snapshot(session, self.journal_id, payload, at=utc(self.clock()))
            await prune_journal(session, keep_snapshots=2)
        self._snapshot_journal_id = self.journal_id
        self._snapshot_time = time.monotonic()
        log.info("router.snapshot", journal_id=self.journal_id)

    # ------------------------------------------------------------ timers

    def _schedule_tick(self) -> None:
        deadline = self.router.next_deadline()
        if deadline == self._tick_deadline and (self._tick_handle is not None
                                                or self._tick_queued):
            return
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        self._tick_deadline = deadline
        if deadline is None or not self.accepting:
            return
        delay = max(0.0, deadline - self.clock())
        loop = asyncio.get_running_loop()
        self._tick_handle = loop.call_later(delay, self._fire_tick, deadline)

    def _fire_tick(self, deadline: float) -> None:
        self._tick_handle = None
        if not self.accepting or self._tick_queued:
            return
        self._tick_queued = True
        self._queue.put_nowait(Submission(events=[(Tick(0.0), {})], tick_for=deadline))
