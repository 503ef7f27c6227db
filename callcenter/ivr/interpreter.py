"""The IVR interpreter: one sans-I/O state machine per call.

``IvrSession(flow).handle(event) -> list[command]``: no I/O, no clock reads, no asyncio.
The server feeds it CTI events (digits, prompt finished, hang-up) and the answers to the
lookups it asked for, and carries out the commands it returns (see
:mod:`callcenter.ivr.commands`). A session keeps the :class:`Flow` object it started
with, so a reload of the flows never changes a call in progress.

Which events a session accepts depends on what it waits for (its *phase*); the pairs
are one table, ``_HANDLERS``. Other events are ignored (a key pressed while an
announcement plays, a late answer to a lookup): the PBX and the caller do such things
and they must not break a call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from callcenter.errors import CallCenterError
from callcenter.ivr import commands as c
from callcenter.ivr import events as e
from callcenter.ivr import schema as s

Phase = Literal["new", "prompt", "input", "customer", "order", "tickets", "wait", "finished"]
# What to do once a voice prompt has finished: go to a node, ask the current node's
# question again, or carry out the current node's final action.
_Then = tuple[Literal["goto", "ask", "finish"], str]

# A validated flow cannot loop without input; this only guards hand-built flows.
MAX_STEPS_WITHOUT_INPUT = 1000
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_ANONYMOUS = {"", "anonymous", "unknown", "restricted", "private"}


class IvrStateError(CallCenterError):
    """An event the session cannot take in any state (e.g. digits before the call)."""

    code = "ivr.invalid_event"
    status = 409


class IvrSession:
    """The IVR state of one call or chat, pinned to one version of one flow."""

    def __init__(self, flow: s.Flow) -> None:
        self.flow = flow
        self.call_id = ""
        self.ani = ""
        self.dnis = ""
        self.channel: s.Channel = flow.channel
        self.language = flow.default_language
        self.variables: dict[str, str] = {}
        self.customer: dict[str, Any] | None = None
        self.queue: str | None = None
        self.priority_boost = 0.0
        self.required_skills: dict[str, int] = {}
        self.ivr_path: list[dict[str, str | None]] = []
        self.self_service: list[str] = []  # services that answered the caller
        self.outcome: c.Outcome | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.phase: Phase = "new"
        self.node_id: str | None = None
        self._now = 0.0
        self._attempts = 0
        self._then: _Then = ("goto", "")
        self._awaited_prompt = ""
        self._awaited_queue = ""
        self._sources: list[s.IdentifySource] = []
        self._waits: dict[str, float] = {}

    # -- public --------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.phase == "finished"

    @property
    def customer_id(self) -> str | None:
        if self.customer is None or self.customer.get("id") is None:
            return None
        return str(self.customer["id"])

    def handle(self, event: e.IvrEvent) -> list[c.IvrCommand]:
        """Take one event; return the commands it leads to, in order."""
        if self.phase == "new":
            if not isinstance(event, e.CallStarted):
                raise IvrStateError(f"{type(event).__name__} before CallStarted",
                                    code="ivr.not_started")
            return self._start(event)
        if isinstance(event, e.CallStarted):
            raise IvrStateError(f"call {self.call_id} has already started",
                                code="ivr.already_started")
        if self.phase == "finished":
            return []
        self._now = event.at
        out: list[c.IvrCommand] = []
        if isinstance(event, e.CallerHungUp):
            self._caller_left(out)
            return out
        handler = _HANDLERS.get((self.phase, type(event)))
        if handler is not None:
            handler(self, event, out)
        return out

    # -- moving through the flow -----------------------------------------------------------

    def _start(self, event: e.CallStarted) -> list[c.IvrCommand]:
        self.call_id = event.call_id
        self.ani = event.ani
        self.dnis = event.dnis
        self.channel = event.channel
        self.variables = dict(event.variables)
        self.started_at = self._now = event.at
        out: list[c.IvrCommand] = []
        self._goto(self.flow.start, out)
        return out

    def _goto(self, node_id: str | None, out: list[c.IvrCommand]) -> None:
        """Enter nodes until one waits for something (or the session ends)."""
        steps = 0
        while node_id is not None:
            steps += 1
            if steps > MAX_STEPS_WITHOUT_INPUT:
                raise IvrStateError(f"flow {self.flow.name!r} looped {steps} times without "
                                    f"input at node {node_id!r}", code="ivr.loop")
            self.node_id = node_id
            self._attempts = 0
            self._waits = {}
            self.ivr_path.append({"node": node_id, "input": None})
            node_id = _ENTER[self.flow.nodes[node_id].type](self, self.flow.nodes[node_id], out)

    @property
    def _node(self) -> s.Node:
        assert self.node_id is not None
        return self.flow.nodes[self.node_id]

    def _text(self, prompt: str) -> str | None:
        text = self.flow.prompts.get(prompt, {}).get(self.language)
        if text is None:
            return None
        return _PLACEHOLDER.sub(lambda m: self.variables.get(m.group(1), m.group(0)), text)

    def _play(self, prompt: str, then: _Then, out: list[c.IvrCommand]) -> str | None:
        """Play a prompt; on voice wait for it to finish, in chat go on at once."""
        out.append(c.PlayPrompt(prompt, self._text(prompt), self.language))
        if self.channel == "chat":
            return self._continue(then, out)
        self.phase = "prompt"
        self._awaited_prompt = prompt
        self._then = then
        return None

    def _continue(self, then: _Then, out: list[c.IvrCommand]) -> str | None:
        kind, target = then
        if kind == "goto":
            return target
        if kind == "ask":
            self._ask(out)
        else:
            _FINISH[self._node.type](self, self._node, out)
        return None

    def _ask(self, out: list[c.IvrCommand]) -> None:
        """Send the current input node's question (menu, collect, survey, callback offer)."""
        node = self._node
        if isinstance(node, s.MenuNode):
            low, high = 1, max(len(key) for key in node.options)
        elif isinstance(node, s.CollectNode):
            low, high = node.min_digits, node.max_digits
        else:
            low = high = 1
        assert isinstance(node, s.MenuNode | s.CollectNode | s.SurveyNode | s.OfferCallbackNode)
        out.append(c.CollectDigits(node.prompt, self._text(node.prompt), low, high,
                                   node.timeout_s, self.language))
        self.phase = "input"

    def _finish(self, outcome: c.Outcome) -> None:
        self.phase = "finished"
        self.outcome = outcome
        self.finished_at = self._now

    def _path(self) -> c.IvrPath:
        return tuple(dict(step) for step in self.ivr_path)

    def _caller_left(self, out: list[c.IvrCommand]) -> None:
        # Hanging up after self-service gave the answer is success, not an abandon.
        if self.self_service:
            out.append(self._contained())
            self._finish("contained")
        else:
            self._finish("abandoned")

    def _contained(self) -> c.Contained:
        return c.Contained(self._path(), dict(self.variables), tuple(self.self_service),
                           self.customer_id)

    def _record_input(self, value: str | None) -> None:
        self.ivr_path[-1]["input"] = value

    # -- entering each node type: return the next node, or None to wait -------------------

    def _enter_input(self, node: s.Node, out: list[c.IvrCommand]) -> str | None:
        self._ask(out)
        return None

    def _enter_identify(self, node: s.IdentifyNode, out: list[c.IvrCommand]) -> str | None:
        self._sources = list(node.by)
        return self._next_lookup(node, out)

    def _next_lookup(self, node: s.IdentifyNode, out: list[c.IvrCommand]) -> str | None:
        while self._sources:
            source = self._sources.pop(0)
            if source == "ani":
                value: str | None = None if self.ani.strip().lower() in _ANONYMOUS else self.ani
            elif source == "account":
                value = self.variables.get(node.account_variable)
            else:
                value = self.variables.get(node.order_variable)
            if value:
                out.append(c.LookupCustomer(source, value))
                self.phase = "customer"
                return None
        return node.not_found

    def _enter_condition(self, node: s.ConditionNode, out: list[c.IvrCommand]) -> str | None:
        for branch in node.branches:
            verdict = self._holds(branch.when)
            if isinstance(verdict, str):  # the estimate for this queue is needed first
                out.append(c.AskEstimatedWait(verdict))
                self.phase = "wait"
                self._awaited_queue = verdict
                return None
            if verdict:
                return branch.next
        return node.otherwise

    def _holds(self, test: s.Test) -> bool | str:
        """Whether ``test`` holds now; a queue name when its wait estimate is missing."""
        customer = self.customer or {}
        checks = [
            test.tier is None or customer.get("tier") in test.tier,
            test.key_account is None or bool(customer.get("key_account")) == test.key_account,
            test.segment is None or customer.get("segment") in test.segment,
            test.identified is None or (self.customer is not None) == test.identified,
            test.language is None or self.language in test.language,
            test.open is None or self.flow.calendars[test.open].is_open(self._now),
            test.closed is None or not self.flow.calendars[test.closed].is_open(self._now),
        ]
        for name, expected in test.variables.items():
            if isinstance(expected, bool):
                checks.append((name in self.variables) == expected)
            else:
                checks.append(self.variables.get(name) in expected)
        if not all(checks):
            return False
        if test.estimated_wait_over is not None:
            queue = test.estimated_wait_over.queue or self.queue
            if queue is None:
                return False
            if queue not in self._waits:
                return queue
            return self._waits[queue] > test.estimated_wait_over.seconds
        return True

    def _enter_set(self, node: s.SetNode, out: list[c.IvrCommand]) -> str | None:
        if node.queue is not None:
            self.queue = node.queue
        if node.priority_boost is not None:
            self.priority_boost = node.priority_boost
        for skill, level in node.required_skills.items():
            self.required_skills[skill] = max(level, self.required_skills.get(skill, 0))
        if node.language is not None:
            self.language = node.language
        self.variables.update(node.variables)
        return node.next

    def _enter_play(self, node: s.PlayNode, out: list[c.IvrCommand]) -> str | None:
        return self._play(node.prompt, ("goto", node.next), out)

    def _enter_self_service(self, node: s.SelfServiceNode,
                            out: list[c.IvrCommand]) -> str | None:
        if node.service == "order_status":
            number = self.variables.get(node.order_variable)
            if not number:
                return node.not_found
            out.append(c.LookupOrder(number))
            self.phase = "order"
            return None
        if self.customer_id is None:
            return node.not_found
        out.append(c.LookupTickets(self.customer_id))
        self.phase = "tickets"
        return None

    def _enter_offer_callback(self, node: s.OfferCallbackNode,
                              out: list[c.IvrCommand]) -> str | None:
        if node.when_wait_over is None:
            self._ask(out)
            return None
        queue = node.queue or self.queue
        if queue is None:
            return node.declined
        out.append(c.AskEstimatedWait(queue))
        self.phase = "wait"
        self._awaited_queue = queue
        return None

    def _enter_voicemail(self, node: s.VoicemailNode, out: list[c.IvrCommand]) -> str | None:
        out.append(c.TakeVoicemail(
            queue=node.queue or self.queue or "", recording_ref=f"voicemail/{self.call_id}",
            prompt=node.prompt, text=self._text(node.prompt), language=self.language,
            max_seconds=node.max_seconds, variables=dict(self.variables),
            ivr_path=self._path(), customer_id=self.customer_id))
        self._finish("voicemail")
        return None

    def _enter_final(self, node: s.QueueNode | s.TransferNode | s.HangupNode,
                     out: list[c.IvrCommand]) -> str | None:
        if node.prompt is not None:
            return self._play(node.prompt, ("finish", ""), out)
        _FINISH[node.type](self, node, out)
        return None

    # -- final actions ---------------------------------------------------------------------

    def _finish_queue(self, node: s.QueueNode, out: list[c.IvrCommand]) -> None:
        out.append(c.RouteToQueue(
            queue=node.queue or self.queue or "", priority_boost=self.priority_boost,
            required_skills=dict(self.required_skills), language=self.language,
            variables=dict(self.variables), ivr_path=self._path(),
            customer_id=self.customer_id))
        self._finish("queued")

    def _finish_transfer(self, node: s.TransferNode, out: list[c.IvrCommand]) -> None:
        out.append(c.Transfer(node.target, dict(self.variables), self._path(),
                              self.customer_id))
        self._finish("transferred")

    def _finish_hangup(self, node: s.HangupNode, out: list[c.IvrCommand]) -> None:
        if node.outcome == "contained" or self.self_service:
            out.append(self._contained())
            out.append(c.HangUp(node.reason))
            self._finish("contained")
        else:
            out.append(c.HangUp(node.reason))
            self._finish("abandoned")

    def _finish_callback(self, node: s.OfferCallbackNode, out: list[c.IvrCommand]) -> None:
        out.append(c.HangUp("callback_scheduled"))
        self._finish("callback")

    # -- events ------------------------------------------------------------------------------

    def _on_prompt_done(self, event: e.PromptDone, out: list[c.IvrCommand]) -> None:
        if event.prompt != self._awaited_prompt:
            return  # the end of an earlier prompt
        self._goto(self._continue(self._then, out), out)

    def _on_input(self, event: e.DigitsReceived | e.TextReceived,
                  out: list[c.IvrCommand]) -> None:
        raw = event.digits if isinstance(event, e.DigitsReceived) else event.text
        value = raw.strip()
        node = self._node
        if isinstance(node, s.MenuNode):
            key = value if value in node.options else _keyword_choice(node, value)
            self._record_input(value)
            if key is None:
                self._retry(node, "invalid", out)
            else:
                self._goto(node.options[key], out)
        elif isinstance(node, s.CollectNode):
            digits = re.sub(r"[\s-]", "", value) if self.channel == "chat" else value
            self._record_input("*" * len(digits) if node.mask else digits)
            valid = (digits.isdigit() and digits.isascii()
                     and node.min_digits <= len(digits) <= node.max_digits
                     and (node.pattern is None or re.fullmatch(node.pattern, digits)))
            if valid:
                self.variables[node.into] = digits
                self._goto(node.next, out)
            else:
                self._retry(node, "invalid", out)
        elif isinstance(node, s.SurveyNode):
            self._record_input(value)
            if value in ("1", "2", "3", "4", "5"):
                out.append(c.RecordSurvey(int(value), node.question, self.call_id,
                                          dict(self.variables), self.customer_id))
                self._goto(node.next, out)
            else:
                self._retry(node, "invalid", out)
        elif isinstance(node, s.OfferCallbackNode):
            self._record_input(value)
            if value == node.accept_digit:
                self._accept_callback(node, out)
            else:
                self._goto(node.declined, out)

    def _on_timeout(self, event: e.InputTimeout, out: list[c.IvrCommand]) -> None:
        node = self._node
        if isinstance(node, s.OfferCallbackNode):
            self._goto(node.declined, out)
        elif isinstance(node, s.MenuNode | s.CollectNode | s.SurveyNode):
            self._retry(node, "timeout", out)

    def _retry(self, node: s.MenuNode | s.CollectNode | s.SurveyNode,
               failure: Literal["invalid", "timeout"], out: list[c.IvrCommand]) -> None:
        """Ask again up to ``retries`` times, then take the fallback branch."""
        self._attempts += 1
        if self._attempts > node.retries:
            fallback = node.invalid
            if failure == "timeout" and not isinstance(node, s.SurveyNode):
                fallback = node.timeout or node.invalid
            self._goto(fallback, out)
            return
        self.ivr_path.append({"node": node.id, "input": None})
        prompt = node.invalid_prompt
        if failure == "timeout" and not isinstance(node, s.SurveyNode):
            prompt = node.timeout_prompt or node.invalid_prompt
        if prompt is None:
            self._ask(out)
        else:
            self._goto(self._play(prompt, ("ask", ""), out), out)

    def _accept_callback(self, node: s.OfferCallbackNode, out: list[c.IvrCommand]) -> None:
        number = self.variables.get(node.number_variable or "", "") or self.ani
        out.append(c.OfferCallback(
            queue=node.queue or self.queue or "", number=number,
            priority_boost=self.priority_boost, required_skills=dict(self.required_skills),
            language=self.language, variables=dict(self.variables), ivr_path=self._path(),
            customer_id=self.customer_id))
        if node.confirm_prompt is None:
            self._finish_callback(node, out)
        else:
            self._goto(self._play(node.confirm_prompt, ("finish", ""), out), out)

    def _on_customer(self, event: e.CustomerIdentified, out: list[c.IvrCommand]) -> None:
        node = self._node
        assert isinstance(node, s.IdentifyNode)
        if event.customer is None:
            self._goto(self._next_lookup(node, out), out)
            return
        self.customer = dict(event.customer)
        language = self.customer.get("language")
        if language in self.flow.languages:
            self.language = language
        self._goto(node.found, out)

    def _on_order(self, event: e.OrderStatusFound, out: list[c.IvrCommand]) -> None:
        node = self._node
        assert isinstance(node, s.SelfServiceNode)
        if event.order is None:
            self._goto(node.not_found, out)
            return
        self._learn("order", event.order)
        self.self_service.append(node.service)
        self._goto(self._play(node.prompt, ("goto", node.next), out), out)

    def _on_tickets(self, event: e.TicketStatusFound, out: list[c.IvrCommand]) -> None:
        node = self._node
        assert isinstance(node, s.SelfServiceNode)
        if not event.tickets:
            self._goto(node.not_found, out)
            return
        self.variables["ticket_count"] = str(len(event.tickets))
        self._learn("ticket", event.tickets[0])
        self.self_service.append(node.service)
        self._goto(self._play(node.prompt, ("goto", node.next), out), out)

    def _learn(self, prefix: str, record: Mapping[str, Any]) -> None:
        """Copy a CRM record's plain fields into variables, for read-back prompts."""
        for key, value in record.items():
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                self.variables[f"{prefix}_{key}"] = str(value)

    def _on_wait(self, event: e.EstimatedWait, out: list[c.IvrCommand]) -> None:
        if event.queue != self._awaited_queue:
            return
        self._waits[event.queue] = event.seconds
        node = self._node
        if isinstance(node, s.OfferCallbackNode):
            assert node.when_wait_over is not None
            if event.seconds > node.when_wait_over:
                self._ask(out)
            else:
                self._goto(node.declined, out)
        elif isinstance(node, s.ConditionNode):
            self._goto(self._enter_condition(node, out), out)


def _keyword_choice(node: s.MenuNode, text: str) -> str | None:
    """The option a chat message names by keyword; None when none or several match.

    Latin keywords match whole words ("buy" in "I want to buy"); others, such as Chinese,
    match anywhere in the text, as Chinese does not separate words with spaces.
    """
    lowered = text.lower()
    chosen = {key for keyword, key in node.keywords.items()
              if (re.search(rf"\b{re.escape(keyword)}\b", lowered) if keyword.isascii()
                  else keyword in lowered)}
    return chosen.pop() if len(chosen) == 1 else None


_Enter = Callable[[IvrSession, Any, list[c.IvrCommand]], str | None]
_ENTER: dict[str, _Enter] = {
    "menu": IvrSession._enter_input,
    "collect": IvrSession._enter_input,
    "survey": IvrSession._enter_input,
    "identify": IvrSession._enter_identify,
    "condition": IvrSession._enter_condition,
    "set": IvrSession._enter_set,
    "play": IvrSession._enter_play,
    "self_service": IvrSession._enter_self_service,
    "offer_callback": IvrSession._enter_offer_callback,
    "voicemail": IvrSession._enter_voicemail,
    "queue": IvrSession._enter_final,
    "transfer": IvrSession._enter_final,
    "hangup": IvrSession._enter_final,
}

_FINISH: dict[str, Callable[[IvrSession, Any, list[c.IvrCommand]], None]] = {
    "queue": IvrSession._finish_queue,
    "transfer": IvrSession._finish_transfer,
    "hangup": IvrSession._finish_hangup,
    "offer_callback": IvrSession._finish_callback,
}

# (phase, event type) -> handler: the events each phase takes. Others are ignored.
_HANDLERS: dict[tuple[Phase, type], Callable[[IvrSession, Any, list[c.IvrCommand]], None]] = {
    ("prompt", e.PromptDone): IvrSession._on_prompt_done,
    ("input", e.DigitsReceived): IvrSession._on_input,
    ("input", e.TextReceived): IvrSession._on_input,
    ("input", e.InputTimeout): IvrSession._on_timeout,
    ("customer", e.CustomerIdentified): IvrSession._on_customer,
    ("order", e.OrderStatusFound): IvrSession._on_order,
    ("tickets", e.TicketStatusFound): IvrSession._on_tickets,
    ("wait", e.EstimatedWait): IvrSession._on_wait,
}
