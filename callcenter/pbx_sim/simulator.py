"""The simulated PBX: calls, agent phones and callers, speaking CTI over MQTT.

One asyncio task owns all call state. Commands arrive from MQTT, simulated people
act on ``loop.call_later`` timers, and both change calls only through
:func:`~callcenter.pbx_sim.model.next_state`, synchronously, so there are no
interleavings to reason about. Events go to an outbox that a publisher drains
with QoS 1 in order; if the broker goes away the outbox keeps them and the
simulator reconnects with backoff. Delivery is at least once (a batch cut by a
disconnect is sent again), which is why every event has a unique ``event_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Self

import aiomqtt

from callcenter.cti_messages import (
    AgentRinging,
    AnswerCommand,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallRetrieved,
    CallTransferred,
    CancelRouteCommand,
    CollectCommand,
    CommandRejected,
    CtiCommand,
    CtiDecodeError,
    CtiEvent,
    DialCommand,
    Dtmf,
    HangupCommand,
    HoldCommand,
    NoAnswer,
    PlayCommand,
    PromptDone,
    RetrieveCommand,
    RouteCommand,
    RouteFailed,
    TransferCommand,
    command_envelope,
    commands_topic,
    deadletter_payload,
    deadletter_topic,
    decode_command,
    encode,
    events_topic,
    utc_now,
)
from callcenter.errors import CallCenterError
from callcenter.logs import get_logger
from callcenter.pbx_sim.model import (
    TRANSITIONS,
    CallerScript,
    CallState,
    Delay,
    SimulatorSettings,
    Trigger,
    next_state,
)

log = get_logger("callcenter.pbx_sim")

Direction = Literal["inbound", "outbound"]

_PUBLISH_BATCH = 64


class SimulatorUnreachable(CallCenterError):
    """The simulator could not reach the MQTT broker at start-up."""

    code = "pbx_sim.mqtt_unreachable"
    status = 503


@dataclass(frozen=True, slots=True)
class CallView:
    """A read-only snapshot of one simulated call (for tests, benches and the CLI)."""

    call_id: str
    direction: Direction
    state: CallState
    ani: str
    dnis: str
    extension: str | None
    """The agent extension ringing or on the call, if any."""
    seq: int
    """``seq`` of the last event published for this call."""
    states: tuple[CallState, ...]
    """Every state the call has been in, in order."""
    ended_by: str | None
    ended_cause: str | None


@dataclass(slots=True)
class SimulatorStats:
    """Counters since start; a copy is returned by :attr:`PbxSimulator.stats`."""

    offered: int = 0
    dialled: int = 0
    answered: int = 0
    abandoned: int = 0
    no_answer: int = 0
    route_failed: int = 0
    transferred: int = 0
    ended: int = 0
    commands: int = 0
    rejected: int = 0
    deadlettered: int = 0
    duplicates_ignored: int = 0
    published: int = 0
    reconnects: int = 0


@dataclass(slots=True, eq=False)
class _Call:
    call_id: str
    direction: Direction
    ani: str
    dnis: str
    rng: random.Random
    script: CallerScript | None
    patience: Delay
    talk: Delay
    state: CallState
    seq: int = 0
    extension: str | None = None
    leg_command_id: str | None = None
    ring_timeout_s: float = 20.0
    ivr_answered: bool = False
    collects: int = 0
    talk_remaining_s: float = 0.0
    talk_resumed_at: float = 0.0
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    states: list[CallState] = field(default_factory=list)
    ended_by: str | None = None
    ended_cause: str | None = None

    def view(self) -> CallView:
        return CallView(self.call_id, self.direction, self.state, self.ani, self.dnis,
                        self.extension, self.seq, tuple(self.states), self.ended_by,
                        self.ended_cause)


class PbxSimulator:
    """A PBX on MQTT that places calls, rings agent phones and obeys CTI commands.

    Use as an async context manager (connects, runs, disconnects), or run
    :meth:`run` in a task of your own and cancel that task to stop::

        async with PbxSimulator(settings, mqtt_host="127.0.0.1", prefix="t1") as pbx:
            call_id = await pbx.place_call("+8613800000001", "4008001234")
    """

    def __init__(
        self,
        settings: SimulatorSettings | None = None,
        *,
        mqtt_host: str = "127.0.0.1",
        mqtt_port: int = 1883,
        prefix: str = "callcenter",
        pbx: str = "pbx1",
        clock: Callable[[], datetime] = utc_now,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.settings = settings or SimulatorSettings()
        self.pbx = pbx
        self.prefix = prefix
        self.events_topic = events_topic(prefix, pbx)
        self.commands_topic = commands_topic(prefix, pbx)
        self.deadletter_topic = deadletter_topic(prefix)
        self._mqtt_host = mqtt_host
        self._mqtt_port = mqtt_port
        self._client_id = self.settings.client_id or f"callcenter-pbx-sim-{pbx}"
        self._clock = clock
        self._connect_timeout_s = connect_timeout_s
        self._seed_source = random.Random(self.settings.seed)
        self._extension_re = re.compile(self.settings.extension_pattern)
        # Ids must not repeat across restarts (the server ignores a repeated event_id),
        # so they carry the start time, which is not drawn from the seeded generator.
        start_ms = int(time.time() * 1000)
        self._run_token = _base36(start_ms)
        self._call_prefix = str(start_ms)
        self._event_counter = 0
        self._call_counter = 0
        self._calls: dict[str, _Call] = {}
        self._ended: OrderedDict[str, _Call] = OrderedDict()
        self._seen_commands: OrderedDict[str, None] = OrderedDict()
        self._extension_calls: dict[str, str] = {}
        self._busy: set[str] = set(self.settings.busy_extensions)
        self._unreachable: set[str] = set(self.settings.unreachable_extensions)
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._outbox_ready = asyncio.Event()
        self._changed = asyncio.Event()
        self._connected = asyncio.Event()
        self._stats = SimulatorStats()
        self._run_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        self._run_task = asyncio.create_task(self.run(), name=f"pbx-sim-{self.pbx}")
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                await self.wait_connected()
        except TimeoutError:
            await self.stop()
            raise SimulatorUnreachable(
                f"MQTT broker {self._mqtt_host}:{self._mqtt_port} not reachable "
                f"within {self._connect_timeout_s} s") from None
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._connected.is_set():
            # Let the last events out, but never hang a shutdown on a broker.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self.flush()
        await self.stop()

    async def run(self) -> None:
        """Connect, serve commands and publish events until cancelled; reconnect on loss."""
        client = aiomqtt.Client(
            self._mqtt_host, self._mqtt_port,
            identifier=self._client_id,
            clean_session=not self.settings.persistent_session,
            keepalive=self.settings.keepalive_s,
            # Without it Nagle's algorithm and delayed ACKs add ~40 ms to every exchange.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        # A batch is in flight at once by design; aiomqtt would warn above 10.
        client.pending_calls_threshold = 2 * _PUBLISH_BATCH
        backoff = self.settings.reconnect_min_s
        first = True
        try:
            while True:
                try:
                    async with client:
                        await client.subscribe(self.commands_topic, qos=1)
                        if not first:
                            self._stats.reconnects += 1
                        first = False
                        backoff = self.settings.reconnect_min_s
                        self._connected.set()
                        self._notify()
                        log.info("pbx_sim.connected", pbx=self.pbx, host=self._mqtt_host,
                                 port=self._mqtt_port, commands=self.commands_topic)
                        async with asyncio.TaskGroup() as tasks:
                            tasks.create_task(self._publish_outbox(client))
                            tasks.create_task(self._serve_commands(client))
                except* aiomqtt.MqttError as errors:
                    log.warning("pbx_sim.disconnected", pbx=self.pbx,
                                error=str(errors.exceptions[0]), retry_in_s=backoff)
                finally:
                    self._connected.clear()
                    self._notify()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.settings.reconnect_max_s)
        finally:
            self._cancel_all_timers()

    async def stop(self) -> None:
        """Stop running: cancel timers and the MQTT connection (no events are sent)."""
        task, self._run_task = self._run_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._cancel_all_timers()

    async def wait_connected(self) -> None:
        """Wait until the simulator is connected and subscribed to its commands.

        Raises what :meth:`run` died of, if it stopped instead.
        """
        if self._run_task is None:
            await self._connected.wait()
            return
        waiter = asyncio.create_task(self._connected.wait())
        try:
            await asyncio.wait({waiter, self._run_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not self._connected.is_set() and self._run_task.done():
            self._run_task.result()  # re-raises why it stopped
            raise SimulatorUnreachable("the simulator stopped before it connected")

    @property
    def connected(self) -> bool:
        """True while connected to the broker."""
        return self._connected.is_set()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; it is checked after every change of a call,
        every command and every published batch. Bound it with ``asyncio.timeout``."""
        while not predicate():
            changed = self._changed
            await changed.wait()

    async def flush(self) -> None:
        """Wait until every queued event has been acknowledged by the broker."""
        await self.wait_until(lambda: not self._outbox)

    # ------------------------------------------------------------------ observation

    @property
    def stats(self) -> SimulatorStats:
        """A copy of the counters."""
        return replace(self._stats)

    def call(self, call_id: str) -> CallView:
        """The snapshot of a live or recently ended call; KeyError if unknown."""
        found = self._calls.get(call_id) or self._ended.get(call_id)
        if found is None:
            raise KeyError(call_id)
        return found.view()

    def live_calls(self) -> list[CallView]:
        """Snapshots of all calls not yet ended."""
        return [c.view() for c in self._calls.values()]

    def extension_in_use(self, extension: str) -> str | None:
        """The call ringing or connected on ``extension``, if any."""
        return self._extension_calls.get(extension)

    def set_extension_busy(self, extension: str, busy: bool = True) -> None:
        """Mark an agent phone busy (e.g. on a private call) or free again."""
        if busy:
            self._busy.add(extension)
        else:
            self._busy.discard(extension)

    def set_extension_reachable(self, extension: str, reachable: bool = True) -> None:
        """Unplug (or plug back) an agent phone."""
        if reachable:
            self._unreachable.discard(extension)
        else:
            self._unreachable.add(extension)

    # ------------------------------------------------------------------ placing calls

    async def place_call(
        self,
        ani: str,
        dnis: str = "4008001234",
        *,
        caller_script: CallerScript | None = None,
        patience: Delay | float | None = None,
        talk: Delay | float | None = None,
    ) -> str:
        """Bring in a new inbound call and publish ``call_offered``; return its ``call_id``.

        ``caller_script`` answers ``collect`` commands; ``patience`` and ``talk``
        override the settings for this caller (a number means a fixed delay).
        """
        self._call_counter += 1
        call = _Call(
            call_id=f"{self._call_prefix}.{self._call_counter}",
            direction="inbound",
            ani=ani,
            dnis=dnis,
            rng=self._new_call_rng(),
            script=caller_script,
            patience=_as_delay(patience, self.settings.patience),
            talk=_as_delay(talk, self.settings.talk),
            state=CallState.WAITING,
            states=[CallState.WAITING],
        )
        self._calls[call.call_id] = call
        self._stats.offered += 1
        self._send(CallOffered(*self._head(call), ani=ani, dnis=dnis))
        self._start_patience(call)
        log.debug("pbx_sim.call_offered", call_id=call.call_id, ani=ani)
        return call.call_id

    def _new_call_rng(self) -> random.Random:
        # One generator per call, seeded from the master one: a call's random choices
        # do not depend on how its timers interleave with other calls'.
        return random.Random(self._seed_source.getrandbits(64))

    # ------------------------------------------------------------------ MQTT plumbing

    async def _serve_commands(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, str):
                raw = payload.encode()
            elif isinstance(payload, bytes | bytearray):
                raw = bytes(payload)
            else:
                raw = b"" if payload is None else str(payload).encode()
            self.handle_command_payload(raw, str(message.topic))

    async def _publish_outbox(self, client: aiomqtt.Client) -> None:
        while True:
            if not self._outbox:
                self._outbox_ready.clear()
                self._notify()
                await self._outbox_ready.wait()
                continue
            batch = [self._outbox[i] for i in range(min(_PUBLISH_BATCH, len(self._outbox)))]
            # Tasks start in creation order and each hands its message to paho before
            # its first await, so the broker receives the batch in outbox order.
            async with asyncio.TaskGroup() as publishing:
                for topic, payload in batch:
                    publishing.create_task(client.publish(topic, payload, qos=1))
            for _ in batch:
                self._outbox.popleft()
            self._stats.published += len(batch)

    def _enqueue(self, topic: str, payload: bytes) -> None:
        self._outbox.append((topic, payload))
        self._outbox_ready.set()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _head(self, call: _Call) -> tuple[str, int, str, datetime]:
        """``event_id, seq, call_id, at`` of the call's next event."""
        call.seq += 1
        return self._next_event_id(), call.seq, call.call_id, self._clock()

    def _next_event_id(self) -> str:
        self._event_counter += 1
        return f"{self.pbx}-{self._run_token}-{self._event_counter:06d}"

    def _send(self, event: CtiEvent) -> None:
        self._enqueue(self.events_topic, encode(event))
        log.debug("pbx_sim.event", event_kind=type(event).__name__, call_id=event.call_id,
                  seq=event.seq)

    # ------------------------------------------------------------------ commands

    def handle_command_payload(self, payload: bytes, topic: str | None = None) -> None:
        """Decode and apply one command payload; never raises.

        Undecodable payloads go to the deadletter topic; if the payload still names
        a ``command_id``, the sender also gets ``command_rejected`` (``invalid_command``).
        Repeated ``command_id``\\ s (QoS 1 redelivery) are ignored.
        """
        topic = topic or self.commands_topic
        self._stats.commands += 1
        try:
            command = decode_command(payload)
        except CtiDecodeError as exc:
            self._deadletter(exc, topic, payload)
            envelope = command_envelope(payload)
            if envelope is not None and envelope.command_id:
                self._reject_unbound(envelope.call_id or "", envelope.command_id,
                                     "invalid_command", command=envelope.command,
                                     detail=exc.reason)
            return
        if command.command_id in self._seen_commands:
            self._stats.duplicates_ignored += 1
            log.info("pbx_sim.duplicate_command", command_id=command.command_id)
            return
        self._remember_command(command.command_id)
        try:
            self._apply(command)
        except Exception:
            # A bug in the simulator must not take the PBX down for every other call.
            log.exception("pbx_sim.command_failed", command_id=command.command_id,
                          call_id=command.call_id)
        finally:
            self._notify()

    def _remember_command(self, command_id: str) -> None:
        self._seen_commands[command_id] = None
        while len(self._seen_commands) > self.settings.command_ids_kept:
            self._seen_commands.popitem(last=False)

    def _deadletter(self, error: CtiDecodeError, topic: str, payload: bytes) -> None:
        self._stats.deadlettered += 1
        log.warning("pbx_sim.deadletter", code=error.code, reason=error.reason)
        self._enqueue(self.deadletter_topic,
                      deadletter_payload(reason=error.reason, code=error.code, topic=topic,
                                         payload=payload))

    def _apply(self, command: CtiCommand) -> None:
        if isinstance(command, DialCommand):
            self._dial(command)
            return
        call = self._calls.get(command.call_id)
        if call is None:
            ended = self._ended.get(command.call_id)
            if ended is not None:
                self._reject(ended, command, "invalid_state", "the call has ended")
            else:
                self._reject_unbound(command.call_id, command.command_id, "unknown_call",
                                     command=_kind(command),
                                     detail=f"no call {command.call_id!r} on this PBX")
            return
        trigger = _trigger_of(command)
        if (call.state, trigger) not in TRANSITIONS:
            allowed = sorted(t.value for (s, t) in TRANSITIONS if s is call.state
                             and t.value in _COMMAND_TRIGGER_NAMES)
            self._reject(call, command, "invalid_state",
                         f"{_kind(command)} is not allowed while the call is "
                         f"{call.state.value} (allowed: {', '.join(allowed) or 'none'})")
            return
        match command:
            case RouteCommand():
                self._stop_prompt(call)
                self._ring(call, command.extension, command.ring_timeout_s,
                           command.command_id, Trigger.ROUTE)
            case CancelRouteCommand():
                self._cancel_route(call)
            case AnswerCommand():
                self._agent_answers(call, Trigger.ANSWER, command.command_id)
            case HoldCommand():
                self._move(call, Trigger.HOLD)
                self._pause_talk(call)
                self._send(CallHeld(*self._head(call), command_id=command.command_id))
            case RetrieveCommand():
                self._move(call, Trigger.RETRIEVE)
                self._resume_talk(call)
                self._send(CallRetrieved(*self._head(call),
                                               command_id=command.command_id))
            case TransferCommand():
                self._transfer(call, command)
            case PlayCommand():
                self._play(call, command)
            case CollectCommand():
                self._collect(call, command)
            case HangupCommand():
                by: Literal["agent", "system"] = (
                    "agent" if call.state in (CallState.CONNECTED, CallState.HELD) else "system")
                self._end(call, Trigger.HANGUP, by, "hangup", command.command_id)

    def _reject(self, call: _Call, command: CtiCommand, reason: str, detail: str) -> None:
        self._stats.rejected += 1
        log.info("pbx_sim.command_rejected", call_id=call.call_id,
                 command_id=command.command_id, reason=reason, state=call.state.value)
        self._send(CommandRejected(*self._head(call), command_id=command.command_id,
                                         reason=reason, command=_kind(command),
                                         state=call.state.value, detail=detail))

    def _reject_unbound(self, call_id: str, command_id: str, reason: str, *,
                        command: str | None, detail: str) -> None:
        # No call to take a seq from: seq 0 says "outside any call's sequence".
        self._stats.rejected += 1
        log.info("pbx_sim.command_rejected", call_id=call_id, command_id=command_id,
                 reason=reason)
        self._send(CommandRejected(self._next_event_id(), 0, call_id, self._clock(),
                                         command_id=command_id, reason=reason,
                                         command=command, detail=detail))

    # ------------------------------------------------------------------ call behaviour

    def _move(self, call: _Call, trigger: Trigger) -> None:
        call.state = next_state(call.state, trigger)
        call.states.append(call.state)
        self._notify()

    def _reachability(self, extension: str) -> Literal["busy", "unreachable", "invalid"] | None:
        if not self._extension_re.fullmatch(extension):
            return "invalid"
        if extension in self._unreachable:
            return "unreachable"
        if extension in self._busy or extension in self._extension_calls:
            return "busy"
        return None

    def _ring(self, call: _Call, extension: str, ring_timeout_s: float,
              command_id: str | None, trigger: Trigger | None) -> None:
        """Ring an agent phone for ``call`` (``trigger`` moves the call into ringing)."""
        if trigger is not None:
            self._move(call, trigger)
        failure = self._reachability(extension)
        if failure is not None:
            self._stats.route_failed += 1
            self._send(RouteFailed(*self._head(call), extension=extension, cause=failure,
                                         command_id=command_id))
            if call.direction == "outbound" and call.state is CallState.DIALING_AGENT:
                self._end(call, Trigger.AGENT_NOT_REACHED, "system", "route_failed")
            else:
                self._move(call, Trigger.AGENT_NOT_REACHED)
            return
        call.extension = extension
        call.leg_command_id = command_id
        call.ring_timeout_s = ring_timeout_s
        self._extension_calls[extension] = call.call_id
        self._send(AgentRinging(*self._head(call), extension=extension,
                                      command_id=command_id))
        self._schedule(call, "ring_timeout", ring_timeout_s, self._ring_timeout)
        profile = self.settings.phone_for(extension)
        answers = call.rng.random() >= profile.no_answer_rate
        delay = profile.answer_delay.sample(call.rng)
        if answers and delay < ring_timeout_s:
            self._schedule(call, "agent_answer", delay, self._agent_answers_by_phone)

    def _agent_answers_by_phone(self, call: _Call) -> None:
        self._agent_answers(call, Trigger.AGENT_ANSWERED, None)

    def _agent_answers(self, call: _Call, trigger: Trigger, command_id: str | None) -> None:
        self._cancel(call, "ring_timeout", "agent_answer")
        self._move(call, trigger)
        if call.state is CallState.DIALING_CUSTOMER:
            # Callback: the agent is on the line; now the customer's phone rings.
            if call.rng.random() >= self.settings.customer_no_answer_rate:
                delay = self.settings.customer_answer.sample(call.rng)
                if delay < call.ring_timeout_s:
                    self._schedule(call, "customer_answer", delay, self._customer_answers)
            self._schedule(call, "customer_ring_timeout", call.ring_timeout_s,
                           self._customer_ring_timeout)
            return
        self._cancel(call, "patience")
        self._stats.answered += 1
        self._send(CallAnswered(*self._head(call), answered_by="agent",
                                      extension=call.extension,
                                      command_id=command_id or call.leg_command_id))
        self._start_talk(call)

    def _customer_answers(self, call: _Call) -> None:
        self._cancel(call, "customer_ring_timeout")
        self._move(call, Trigger.CUSTOMER_ANSWERED)
        self._stats.answered += 1
        self._send(CallAnswered(*self._head(call), answered_by="agent",
                                      extension=call.extension,
                                      command_id=call.leg_command_id))
        self._start_talk(call)

    def _customer_ring_timeout(self, call: _Call) -> None:
        self._cancel(call, "customer_answer")
        self._end(call, Trigger.CUSTOMER_RING_TIMEOUT, "system", "customer_no_answer")

    def _ring_timeout(self, call: _Call) -> None:
        self._cancel(call, "agent_answer")
        extension = call.extension or ""
        self._stats.no_answer += 1
        self._send(NoAnswer(*self._head(call), extension=extension,
                                  command_id=call.leg_command_id))
        if call.state is CallState.DIALING_AGENT:
            self._end(call, Trigger.RING_TIMEOUT, "system", "no_answer")
            return
        self._release_extension(call)
        self._move(call, Trigger.RING_TIMEOUT)

    def _cancel_route(self, call: _Call) -> None:
        if call.state is CallState.RINGING:
            self._cancel(call, "ring_timeout", "agent_answer")
            self._release_extension(call)
            self._move(call, Trigger.CANCEL_ROUTE)
        else:  # an outbound callback being set up: there is no caller to put back
            self._end(call, Trigger.CANCEL_ROUTE, "system", "cancelled")

    def _transfer(self, call: _Call, command: TransferCommand) -> None:
        self._pause_talk(call)
        self._release_extension(call)
        self._stats.transferred += 1
        if command.extension is not None:
            self._send(CallTransferred(*self._head(call), to=command.extension,
                                             target="extension",
                                             command_id=command.command_id))
            self._start_patience(call)
            timeout = command.ring_timeout_s or self.settings.default_ring_timeout_s
            self._ring(call, command.extension, timeout, command.command_id,
                       Trigger.TRANSFER_TO_EXTENSION)
        else:
            assert command.queue is not None  # the message type guarantees one of the two
            self._move(call, Trigger.TRANSFER_TO_QUEUE)
            self._send(CallTransferred(*self._head(call), to=command.queue,
                                             target="queue", command_id=command.command_id))
            self._start_patience(call)

    def _answer_by_ivr(self, call: _Call) -> None:
        if not call.ivr_answered:
            call.ivr_answered = True
            self._send(CallAnswered(*self._head(call), answered_by="ivr"))

    def _play(self, call: _Call, command: PlayCommand) -> None:
        self._move(call, Trigger.PLAY)
        self._stop_prompt(call)
        self._answer_by_ivr(call)
        self._schedule(call, "prompt", self.settings.prompt.sample(call.rng),
                       self._prompt_done, command.prompt, command.command_id)

    def _prompt_done(self, call: _Call, prompt: str, command_id: str) -> None:
        self._send(PromptDone(*self._head(call), prompt=prompt, command_id=command_id))

    def _collect(self, call: _Call, command: CollectCommand) -> None:
        self._move(call, Trigger.COLLECT)
        self._stop_prompt(call)
        self._answer_by_ivr(call)
        digits = self._caller_keys(call, command)
        if digits is None:
            return  # the caller presses nothing; the server's collect times out
        keying = self.settings.keying.sample(call.rng)
        if keying > command.timeout_s:
            return  # too slow: the PBX stopped listening
        delay = self.settings.prompt.sample(call.rng) + keying
        self._schedule(call, "prompt", delay, self._keyed, digits, command.prompt,
                       command.command_id)

    def _caller_keys(self, call: _Call, command: CollectCommand) -> str | None:
        script = call.script
        index = call.collects
        call.collects += 1
        if script is None:
            return None
        if callable(script):
            answer = script(command.prompt, command.min_digits, command.max_digits)
        else:
            answer = script[index] if index < len(script) else None
        return None if answer is None else answer[: command.max_digits]

    def _keyed(self, call: _Call, digits: str, prompt: str, command_id: str) -> None:
        self._send(Dtmf(*self._head(call), digits=digits, prompt=prompt,
                              command_id=command_id))

    def _stop_prompt(self, call: _Call) -> None:
        # A new prompt, a route or a transfer cuts the current prompt short; the
        # server asked for something else, so no prompt_done/dtmf follows for it.
        self._cancel(call, "prompt")

    def _start_patience(self, call: _Call) -> None:
        self._cancel(call, "patience")
        self._schedule(call, "patience", call.patience.sample(call.rng), self._caller_gives_up)

    def _caller_gives_up(self, call: _Call) -> None:
        self._stats.abandoned += 1
        self._end(call, Trigger.CALLER_HUNG_UP, "caller", "patience")

    def _start_talk(self, call: _Call) -> None:
        call.talk_remaining_s = call.talk.sample(call.rng)
        self._resume_talk(call)

    def _resume_talk(self, call: _Call) -> None:
        call.talk_resumed_at = self._now()
        self._schedule(call, "talk", call.talk_remaining_s, self._caller_done_talking)

    def _pause_talk(self, call: _Call) -> None:
        if self._cancel(call, "talk"):
            elapsed = self._now() - call.talk_resumed_at
            call.talk_remaining_s = max(0.0, call.talk_remaining_s - elapsed)

    def _caller_done_talking(self, call: _Call) -> None:
        self._end(call, Trigger.CALLER_HUNG_UP, "caller", "talk_done")

    def _release_extension(self, call: _Call) -> None:
        if call.extension is not None and self._extension_calls.get(call.extension) == call.call_id:
            del self._extension_calls[call.extension]
        call.extension = None
        call.leg_command_id = None

    def _end(self, call: _Call, trigger: Trigger, by: Literal["caller", "agent", "system"],
             cause: str, command_id: str | None = None) -> None:
        self._move(call, trigger)
        for handle in call.timers.values():
            handle.cancel()
        call.timers.clear()
        extension_kept = call.extension
        self._release_extension(call)
        call.extension = extension_kept  # keep it visible in the final snapshot
        call.ended_by, call.ended_cause = by, cause
        self._stats.ended += 1
        self._send(CallEnded(*self._head(call), by=by, cause=cause,
                                   command_id=command_id))
        del self._calls[call.call_id]
        if self.settings.ended_calls_kept:
            self._ended[call.call_id] = call
            while len(self._ended) > self.settings.ended_calls_kept:
                self._ended.popitem(last=False)

    # ------------------------------------------------------------------ outbound callback

    def _dial(self, command: DialCommand) -> None:
        existing = self._calls.get(command.call_id) or self._ended.get(command.call_id)
        if existing is not None:
            self._reject(existing, command, "duplicate_call",
                         f"call {command.call_id!r} already exists; dial needs a new call_id")
            return
        call = _Call(
            call_id=command.call_id,
            direction="outbound",
            ani=command.number,
            dnis=command.extension,
            rng=self._new_call_rng(),
            script=None,
            patience=self.settings.patience,
            talk=self.settings.talk,
            state=CallState.DIALING_AGENT,
            states=[CallState.DIALING_AGENT],
        )
        self._calls[call.call_id] = call
        self._stats.dialled += 1
        timeout = command.ring_timeout_s or self.settings.default_ring_timeout_s
        self._ring(call, command.extension, timeout, command.command_id, None)

    # ------------------------------------------------------------------ timers

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _schedule(self, call: _Call, name: str, delay_s: float,
                  action: Callable[..., None], *args: Any) -> None:
        self._cancel(call, name)
        if delay_s == float("inf"):
            return
        loop = asyncio.get_running_loop()
        call.timers[name] = loop.call_later(delay_s, self._fire, call, name, action, args)

    def _fire(self, call: _Call, name: str, action: Callable[..., None],
              args: Iterable[Any]) -> None:
        call.timers.pop(name, None)
        try:
            action(call, *args)
        except Exception:
            log.exception("pbx_sim.timer_failed", call_id=call.call_id, timer=name,
                          state=call.state.value)
        finally:
            self._notify()

    def _cancel(self, call: _Call, *names: str) -> bool:
        cancelled = False
        for name in names:
            handle = call.timers.pop(name, None)
            if handle is not None:
                handle.cancel()
                cancelled = True
        return cancelled

    def _cancel_all_timers(self) -> None:
        for call in self._calls.values():
            for handle in call.timers.values():
                handle.cancel()
            call.timers.clear()


# ---------------------------------------------------------------------- helpers

_COMMAND_TRIGGER_NAMES = frozenset({
    "route", "cancel_route", "answer", "hold", "retrieve", "transfer_to_extension",
    "transfer_to_queue", "play", "collect", "hangup",
})


def _trigger_of(command: CtiCommand) -> Trigger:
    if isinstance(command, TransferCommand):
        return (Trigger.TRANSFER_TO_EXTENSION if command.extension is not None
                else Trigger.TRANSFER_TO_QUEUE)
    return Trigger(_kind(command))


def _kind(command: CtiCommand) -> str:
    return str(type(command).__struct_config__.tag)


def _as_delay(value: Delay | float | None, default: Delay) -> Delay:
    if value is None:
        return default
    if isinstance(value, Delay):
        return value
    return Delay(float(value))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"
