"""Node behaviour on small purpose-built flows: conditions, lookups, ends."""

from __future__ import annotations

from textwrap import dedent
from typing import Any

import pytest

from callcenter.ivr import IvrSession, IvrStateError, check_flow_text
from callcenter.ivr import commands as c
from callcenter.ivr import events as e
from callcenter.ivr.schema import Flow, SetNode

AT = 1_795_399_200.0


def flow_of(text: str) -> Flow:
    flow, errors = check_flow_text(dedent(text), "t.yaml")
    assert errors == []
    assert flow is not None
    return flow


ROUTER = """\
flow: router
languages: [en, zh]
start: who
nodes:
  who:
    type: identify
    by: [ani, account]
    found: pick
    not_found: pick
  pick:
    type: condition
    branches:
      - when: {tier: [gold, strategic], segment: important}
        next: gold
      - when: {variables: {campaign: [spring, autumn]}}
        next: campaign
      - when: {variables: {campaign: true}, language: zh}
        next: other_campaign_zh
      - when: {identified: false}
        next: stranger
    else: rest
  gold: {type: set, queue: gold_q, next: enqueue}
  campaign: {type: set, queue: campaign_q, next: enqueue}
  other_campaign_zh: {type: set, queue: zh_q, next: enqueue}
  stranger: {type: set, queue: stranger_q, next: enqueue}
  rest: {type: set, queue: rest_q, next: enqueue}
  enqueue: {type: queue}
"""


def route(customer: dict[str, Any] | None, variables: dict[str, str]) -> str:
    session = IvrSession(flow_of(ROUTER))
    session.handle(e.CallStarted(AT, "call-1", "+861", "400", variables=variables))
    commands = session.handle(e.CustomerIdentified(AT, customer))
    if customer is None:  # the account source is tried only when a number was collected
        assert commands[0] == c.LookupCustomer("account", variables["account_number"])
        commands = session.handle(e.CustomerIdentified(AT, None))
    [routed] = commands
    assert isinstance(routed, c.RouteToQueue)
    return routed.queue


@pytest.mark.parametrize(("customer", "variables", "queue"), [
    ({"tier": "gold", "segment": "important"}, {}, "gold_q"),
    ({"tier": "gold", "segment": "general"}, {}, "rest_q"),
    ({"tier": "silver"}, {"campaign": "autumn"}, "campaign_q"),
    ({"tier": "silver", "language": "zh"}, {"campaign": "winter"}, "zh_q"),
    ({"tier": "silver", "language": "en"}, {"campaign": "winter"}, "rest_q"),
    (None, {"account_number": "5501"}, "stranger_q"),
], ids=["tier-and-segment", "segment-differs", "variable-in-list", "variable-set-and-language",
        "language-differs", "unidentified"])
def test_condition_takes_the_first_branch_whose_tests_all_hold(
        customer: dict[str, Any] | None, variables: dict[str, str], queue: str) -> None:
    assert route(customer, variables) == queue


WAIT_AND_TICKETS = """\
flow: service
start: who
nodes:
  who:
    type: identify
    found: choose
    not_found: choose
  choose:
    type: set
    queue: voice_support
    priority_boost: 15
    required_skills: {complaints: 2}
    next: busy
  busy:
    type: condition
    branches:
      - when: {estimated_wait_over: 60, identified: true}
        next: tickets
    else: agent
  tickets:
    type: self_service
    service: ticket_status
    prompt: ticket_status
    next: agent
    not_found: agent
  agent:
    type: set
    required_skills: {complaints: 1, english: 3}
    next: enqueue
  enqueue:
    type: queue
prompts:
  ticket_status: {en: "You have {ticket_count} open tickets; the latest is {ticket_status}."}
"""


def test_long_wait_reads_back_open_tickets_before_queueing() -> None:
    session = IvrSession(flow_of(WAIT_AND_TICKETS))
    session.handle(e.CallStarted(AT, "call-1", "+861", "400"))
    assert session.handle(e.CustomerIdentified(AT, {"id": 7})) == [
        c.AskEstimatedWait("voice_support")]
    assert session.handle(e.EstimatedWait(AT, "voice_support", 61)) == [c.LookupTickets("7")]
    [readback] = session.handle(e.TicketStatusFound(AT, [{"status": "in_progress"}, {}]))
    assert readback == c.PlayPrompt(
        "ticket_status", "You have 2 open tickets; the latest is in_progress.", "en")
    [routed] = session.handle(e.PromptDone(AT, "ticket_status"))

    assert isinstance(routed, c.RouteToQueue)
    # Skills add up over set nodes, keeping the higher level; the boost stays.
    assert (routed.queue, routed.priority_boost, routed.required_skills) == (
        "voice_support", 15.0, {"complaints": 2, "english": 3})
    assert routed.customer_id == "7"


def test_short_wait_skips_the_ticket_readback() -> None:
    session = IvrSession(flow_of(WAIT_AND_TICKETS))
    session.handle(e.CallStarted(AT, "call-1", "+861", "400"))
    session.handle(e.CustomerIdentified(AT, {"id": 7}))
    # An answer for another queue is not the one asked for.
    assert session.handle(e.EstimatedWait(AT, "voice_sales", 600)) == []
    [routed] = session.handle(e.EstimatedWait(AT, "voice_support", 60))
    assert isinstance(routed, c.RouteToQueue)


def test_no_open_tickets_takes_not_found() -> None:
    session = IvrSession(flow_of(WAIT_AND_TICKETS))
    session.handle(e.CallStarted(AT, "call-1", "+861", "400"))
    session.handle(e.CustomerIdentified(AT, {"id": 7}))
    session.handle(e.EstimatedWait(AT, "voice_support", 600))
    [routed] = session.handle(e.TicketStatusFound(AT, []))
    assert isinstance(routed, c.RouteToQueue)
    assert session.self_service == []


COLLECT = """\
flow: collect
start: account
prompts:
  account: {en: "Account number?"}
  transferring: {en: "Transferring you."}
nodes:
  account:
    type: collect
    prompt: account
    into: account_number
    min_digits: 4
    max_digits: 6
    pattern: "8[0-9]+"
    mask: true
    retries: 1
    next: out
    invalid: out
  out:
    type: transfer
    target: "+862100000000"
    prompt: transferring
"""


def test_collect_checks_length_and_pattern_and_masks_the_path() -> None:
    session = IvrSession(flow_of(COLLECT))
    [ask] = session.handle(e.CallStarted(AT, "call-1", "+861", "400"))
    assert ask == c.CollectDigits("account", "Account number?", 4, 6, 5.0, "en")
    # No invalid prompt: the question is simply asked again.
    assert session.handle(e.DigitsReceived(AT, "12345")) == [ask]
    [play] = session.handle(e.DigitsReceived(AT, "81234"))
    assert isinstance(play, c.PlayPrompt) and play.prompt == "transferring"
    [transfer] = session.handle(e.PromptDone(AT, "transferring"))

    assert isinstance(transfer, c.Transfer) and transfer.target == "+862100000000"
    assert transfer.variables == {"account_number": "81234"}
    assert [step["input"] for step in transfer.ivr_path] == ["*****", "*****", None]
    assert session.outcome == "transferred"


def test_a_hand_built_flow_that_loops_without_input_is_stopped() -> None:
    # The validator rejects such flows; this guards flows built in code.
    loop = SetNode(id="a", queue=None, priority_boost=None, required_skills={}, language=None,
                   variables={}, next="a")
    flow = Flow(name="loop", file="-", version="0", entry=(), languages=("en",), prompts={},
                calendars={}, start="a", nodes={"a": loop})
    with pytest.raises(IvrStateError) as caught:
        IvrSession(flow).handle(e.CallStarted(AT, "call-1", "+861", "400"))
    assert caught.value.code == "ivr.loop"
