"""The IVR interpreter driven by hand, event by event, on the shipped demo flows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from callcenter.ivr import FlowSet, IvrSession, IvrStateError, load_flows
from callcenter.ivr import commands as c
from callcenter.ivr import events as e

FLOWS_DIR = Path(__file__).resolve().parents[2] / "ivr_flows"
ANI = "+8613800000001"
# Shanghai is UTC+8: 02:00 UTC is 10:00 local, 14:00 UTC is 22:00 local.
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC).timestamp()
MONDAY_22 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC).timestamp()
NATIONAL_DAY_10 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC).timestamp()  # a Thursday holiday


@pytest.fixture(scope="module")
def flows() -> FlowSet:
    return load_flows(FLOWS_DIR)


def start_main(flows: FlowSet, at: float = MONDAY_10, ani: str = ANI) -> IvrSession:
    """A main-hotline call from an unknown caller, at the main menu (or after-hours menu)."""
    flow = flows.for_entry("4008001234")
    assert flow is not None
    session = IvrSession(flow)
    assert session.handle(e.CallStarted(at, "call-1", ani, "4008001234")) == [
        c.LookupCustomer("ani", ani)]
    session.handle(e.CustomerIdentified(at, None))
    return session


def nodes(session: IvrSession) -> list[str | None]:
    return [step["node"] for step in session.ivr_path]


def test_key_account_identified_by_ani_skips_the_menu_to_voice_vip(flows: FlowSet) -> None:
    flow = flows.for_entry("4008001234")
    assert flow is not None
    session = IvrSession(flow)
    session.handle(e.CallStarted(MONDAY_10, "call-1", ANI, "4008001234"))
    customer = {"id": 42, "tier": "key", "key_account": True, "language": "zh"}

    assert session.handle(e.CustomerIdentified(MONDAY_10, customer)) == [
        c.PlayPrompt("vip_welcome", "欢迎回来，正在为您转接大客户专属服务团队。", "zh")]
    [route] = session.handle(e.PromptDone(MONDAY_10 + 3, "vip_welcome"))

    assert isinstance(route, c.RouteToQueue)
    assert (route.queue, route.priority_boost, route.language, route.customer_id) == (
        "voice_vip", 60.0, "zh", "42")
    assert route.variables == {"reason": "key_account"}
    assert "main_menu" not in nodes(session)
    assert session.outcome == "queued" and session.finished


def test_order_status_self_service_reads_back_and_ends_contained(flows: FlowSet) -> None:
    session = start_main(flows)
    assert session.handle(e.DigitsReceived(MONDAY_10, "2")) == [c.CollectDigits(
        "ask_order_number", "Please enter your order number, then press hash.", 5, 12, 5.0,
        "en")]
    assert session.handle(e.DigitsReceived(MONDAY_10, "100234")) == [c.LookupOrder("100234")]

    readback = session.handle(e.OrderStatusFound(MONDAY_10, {"status": "shipped", "total": 99}))
    assert readback == [c.PlayPrompt("order_status_readback", "Order 100234 is shipped.", "en")]
    [offer_agent] = session.handle(e.PromptDone(MONDAY_10, "order_status_readback"))
    assert isinstance(offer_agent, c.CollectDigits) and offer_agent.prompt == "after_status_menu"
    assert session.handle(e.InputTimeout(MONDAY_10)) == [
        c.PlayPrompt("goodbye", "Thank you for calling. Goodbye.", "en")]
    contained, hang_up = session.handle(e.PromptDone(MONDAY_10, "goodbye"))

    assert isinstance(contained, c.Contained)
    assert contained.self_service == ("order_status",)
    assert contained.variables["order_status"] == "shipped"
    assert hang_up == c.HangUp("goodbye")
    assert session.outcome == "contained"
    assert session.ivr_path[2:4] == [{"node": "main_menu", "input": "2"},
                                     {"node": "ask_order_number", "input": "100234"}]


def test_hanging_up_after_self_service_answered_counts_as_contained(flows: FlowSet) -> None:
    session = start_main(flows)
    session.handle(e.DigitsReceived(MONDAY_10, "2"))
    session.handle(e.DigitsReceived(MONDAY_10, "100234"))
    session.handle(e.OrderStatusFound(MONDAY_10, {"status": "delivered"}))

    [contained] = session.handle(e.CallerHungUp(MONDAY_10 + 5))

    assert isinstance(contained, c.Contained)
    assert session.outcome == "contained"


def test_unknown_order_goes_to_an_agent(flows: FlowSet) -> None:
    session = start_main(flows)
    session.handle(e.DigitsReceived(MONDAY_10, "2"))
    session.handle(e.DigitsReceived(MONDAY_10, "999999"))
    [sorry] = session.handle(e.OrderStatusFound(MONDAY_10, None))
    assert isinstance(sorry, c.PlayPrompt) and sorry.prompt == "order_not_found"
    assert session.handle(e.PromptDone(MONDAY_10, "order_not_found")) == [
        c.AskEstimatedWait("voice_support")]


def test_invalid_digits_retry_then_take_the_fallback_branch(flows: FlowSet) -> None:
    session = start_main(flows)
    for _ in range(2):  # retries: 2
        [sorry] = session.handle(e.DigitsReceived(MONDAY_10, "7"))
        assert sorry == c.PlayPrompt("invalid_choice", "Sorry, that is not a valid choice.", "en")
        [again] = session.handle(e.PromptDone(MONDAY_10, "invalid_choice"))
        assert isinstance(again, c.CollectDigits) and again.prompt == "main_menu"

    # The third wrong key takes the invalid branch: support, via the wait check.
    assert session.handle(e.DigitsReceived(MONDAY_10, "7")) == [
        c.AskEstimatedWait("voice_support")]
    assert [step for step in session.ivr_path if step["node"] == "main_menu"] == [
        {"node": "main_menu", "input": "7"}] * 3
    assert session.variables["reason"] == "menu_fallback"


def test_silence_retries_then_hangs_up_as_abandoned(flows: FlowSet) -> None:
    session = start_main(flows)
    for _ in range(2):
        [sorry] = session.handle(e.InputTimeout(MONDAY_10))
        assert isinstance(sorry, c.PlayPrompt) and sorry.prompt == "no_input"
        session.handle(e.PromptDone(MONDAY_10, "no_input"))
    [goodbye] = session.handle(e.InputTimeout(MONDAY_10))
    assert isinstance(goodbye, c.PlayPrompt) and goodbye.prompt == "goodbye"

    assert session.handle(e.PromptDone(MONDAY_10, "goodbye")) == [c.HangUp("no_input")]
    assert session.outcome == "abandoned"


def test_after_hours_caller_can_leave_a_voicemail(flows: FlowSet) -> None:
    session = start_main(flows, at=MONDAY_22)
    assert nodes(session)[-1] == "after_hours"
    [voicemail] = session.handle(e.DigitsReceived(MONDAY_22, "1"))

    assert isinstance(voicemail, c.TakeVoicemail)
    assert (voicemail.queue, voicemail.recording_ref, voicemail.prompt) == (
        "email_support", "voicemail/call-1", "voicemail_instructions")
    assert voicemail.ivr_path[-1] == {"node": "leave_voicemail", "input": None}
    assert session.outcome == "voicemail"


def test_a_holiday_in_working_hours_is_after_hours(flows: FlowSet) -> None:
    session = start_main(flows, at=NATIONAL_DAY_10)
    assert nodes(session)[-1] == "after_hours"


def test_after_hours_caller_can_ask_for_a_callback(flows: FlowSet) -> None:
    session = start_main(flows, at=MONDAY_22)
    [offer] = session.handle(e.DigitsReceived(MONDAY_22, "2"))
    assert isinstance(offer, c.CollectDigits) and offer.prompt == "after_hours_callback"
    callback, thanks = session.handle(e.DigitsReceived(MONDAY_22, "1"))

    assert isinstance(callback, c.OfferCallback)
    assert (callback.queue, callback.number) == ("callback", ANI)
    assert isinstance(thanks, c.PlayPrompt) and thanks.prompt == "callback_confirmed"
    assert session.handle(e.PromptDone(MONDAY_22, "callback_confirmed")) == [
        c.HangUp("callback_scheduled")]
    assert session.outcome == "callback"


def test_long_estimated_wait_offers_a_callback_keeping_the_queue(flows: FlowSet) -> None:
    session = start_main(flows)
    assert session.handle(e.DigitsReceived(MONDAY_10, "1")) == [c.AskEstimatedWait("voice_sales")]
    [offer] = session.handle(e.EstimatedWait(MONDAY_10, "voice_sales", 300))
    assert isinstance(offer, c.CollectDigits) and offer.prompt == "callback_offer"
    callback, _thanks = session.handle(e.DigitsReceived(MONDAY_10, "1"))

    assert isinstance(callback, c.OfferCallback)
    assert (callback.queue, callback.number, callback.required_skills) == (
        "voice_sales", ANI, {"sales": 1})


def test_short_estimated_wait_queues_without_an_offer(flows: FlowSet) -> None:
    session = start_main(flows)
    session.handle(e.DigitsReceived(MONDAY_10, "1"))
    [hold] = session.handle(e.EstimatedWait(MONDAY_10, "voice_sales", 120))  # not over 120
    assert isinstance(hold, c.PlayPrompt) and hold.prompt == "please_hold"
    [route] = session.handle(e.PromptDone(MONDAY_10, "please_hold"))

    assert isinstance(route, c.RouteToQueue)
    assert (route.queue, route.required_skills, route.variables) == (
        "voice_sales", {"sales": 1}, {"reason": "sales"})
    assert [step["node"] for step in route.ivr_path] == [
        "identify_caller", "check_hours", "main_menu", "route_sales", "offer_callback",
        "enqueue"]


def test_declining_the_callback_keeps_the_caller_in_line(flows: FlowSet) -> None:
    session = start_main(flows)
    session.handle(e.DigitsReceived(MONDAY_10, "3"))
    session.handle(e.EstimatedWait(MONDAY_10, "voice_support", 600))
    [hold] = session.handle(e.DigitsReceived(MONDAY_10, "2"))
    assert isinstance(hold, c.PlayPrompt) and hold.prompt == "please_hold"
    [route] = session.handle(e.PromptDone(MONDAY_10, "please_hold"))
    assert isinstance(route, c.RouteToQueue)
    assert (route.queue, route.required_skills) == ("voice_support", {"support": 5})


def test_hang_up_mid_flow_is_an_ivr_abandon_with_the_path_so_far(flows: FlowSet) -> None:
    session = start_main(flows)
    session.handle(e.DigitsReceived(MONDAY_10, "7"))

    assert session.handle(e.CallerHungUp(MONDAY_10 + 12)) == []
    assert session.outcome == "abandoned"
    assert session.finished_at == MONDAY_10 + 12
    assert session.ivr_path == [
        {"node": "identify_caller", "input": None}, {"node": "check_hours", "input": None},
        {"node": "main_menu", "input": "7"}, {"node": "main_menu", "input": None}]
    assert session.handle(e.PromptDone(MONDAY_10 + 13, "invalid_choice")) == []


def test_key_account_line_identifies_by_account_number(flows: FlowSet) -> None:
    session = start_main(flows)
    session.handle(e.DigitsReceived(MONDAY_10, "9"))
    assert session.handle(e.DigitsReceived(MONDAY_10, "88001")) == [
        c.LookupCustomer("account", "88001")]
    [welcome] = session.handle(e.CustomerIdentified(MONDAY_10, {"id": "c9", "key_account": 1}))
    assert isinstance(welcome, c.PlayPrompt) and welcome.prompt == "vip_welcome"


def test_pressing_8_switches_the_menu_to_chinese(flows: FlowSet) -> None:
    session = start_main(flows)
    [menu] = session.handle(e.DigitsReceived(MONDAY_10, "8"))
    assert isinstance(menu, c.CollectDigits)
    assert (menu.prompt, menu.language) == ("main_menu", "zh")
    assert menu.text is not None and menu.text.startswith("销售咨询请按1")


def test_chat_bot_menu_answers_typed_keywords(flows: FlowSet) -> None:
    flow = flows.for_entry("chat")
    assert flow is not None
    session = IvrSession(flow)
    [greeting] = session.handle(e.CallStarted(MONDAY_10, "chat-55", "visitor-77", "web",
                                              channel="chat"))
    assert isinstance(greeting, c.CollectDigits) and greeting.timeout_s == 300

    [ask] = session.handle(e.TextReceived(MONDAY_10, "Where is my order?"))
    assert isinstance(ask, c.CollectDigits) and ask.prompt == "ask_order_number"
    assert session.handle(e.TextReceived(MONDAY_10, "1002-34")) == [c.LookupOrder("100234")]
    # In chat a prompt is a message: the bot goes on without waiting for it to "finish".
    readback, menu = session.handle(e.OrderStatusFound(MONDAY_10, {"status": "packed"}))
    assert readback == c.PlayPrompt("order_status_readback", "Order 100234 is packed.", "en")
    assert isinstance(menu, c.CollectDigits) and menu.prompt == "after_status"
    connecting, route = session.handle(e.TextReceived(MONDAY_10, "agent please"))

    assert isinstance(connecting, c.PlayPrompt) and connecting.prompt == "connecting"
    assert isinstance(route, c.RouteToQueue) and route.queue == "chat_support"
    assert session.outcome == "queued"


def test_chat_bot_understands_chinese_keywords_and_numbers(flows: FlowSet) -> None:
    flow = flows.for_entry("chat")
    assert flow is not None
    for text, queue in (("我想购买手机", "chat_sales"), ("3", "chat_support")):
        session = IvrSession(flow)
        session.handle(e.CallStarted(MONDAY_10, "chat-1", "visitor-1", "web", channel="chat"))
        commands = session.handle(e.TextReceived(MONDAY_10, text))
        assert [cmd.queue for cmd in commands if isinstance(cmd, c.RouteToQueue)] == [queue]


def test_post_call_survey_records_csat_in_the_callers_language(flows: FlowSet) -> None:
    flow = flows.for_entry("post_call")
    assert flow is not None
    session = IvrSession(flow)
    [question] = session.handle(e.CallStarted(MONDAY_10, "call-1", ANI, "4008001234",
                                              variables={"language": "zh", "contact_id": "7"}))
    assert isinstance(question, c.CollectDigits) and question.language == "zh"
    [sorry] = session.handle(e.DigitsReceived(MONDAY_10, "9"))
    assert isinstance(sorry, c.PlayPrompt) and sorry.prompt == "csat_invalid"
    session.handle(e.PromptDone(MONDAY_10, "csat_invalid"))
    survey, thanks = session.handle(e.DigitsReceived(MONDAY_10, "4"))

    assert survey == c.RecordSurvey(4, "csat", "call-1", {"language": "zh", "contact_id": "7"})
    assert isinstance(thanks, c.PlayPrompt) and thanks.prompt == "thanks"


def test_events_before_the_call_started_are_refused(flows: FlowSet) -> None:
    flow = flows.for_entry("4008001234")
    assert flow is not None
    session = IvrSession(flow)
    with pytest.raises(IvrStateError) as caught:
        session.handle(e.DigitsReceived(MONDAY_10, "1"))
    assert caught.value.code == "ivr.not_started"
    session.handle(e.CallStarted(MONDAY_10, "call-1", ANI, "4008001234"))
    with pytest.raises(IvrStateError) as again:
        session.handle(e.CallStarted(MONDAY_10, "call-1", ANI, "4008001234"))
    assert again.value.code == "ivr.already_started"


def test_events_the_session_is_not_waiting_for_are_ignored(flows: FlowSet) -> None:
    flow = flows.for_entry("4008001234")
    assert flow is not None
    session = IvrSession(flow)
    session.handle(e.CallStarted(MONDAY_10, "call-1", ANI, "4008001234"))
    # Waiting for the customer lookup: keys, stray prompt ends and wait estimates are noise.
    assert session.handle(e.DigitsReceived(MONDAY_10, "1")) == []
    assert session.handle(e.PromptDone(MONDAY_10, "main_menu")) == []
    assert session.handle(e.EstimatedWait(MONDAY_10, "voice_sales", 10)) == []
    assert session.phase == "customer"
    [menu] = session.handle(e.CustomerIdentified(MONDAY_10, None))
    assert isinstance(menu, c.CollectDigits)


def test_withheld_number_is_not_looked_up(flows: FlowSet) -> None:
    flow = flows.for_entry("4008001234")
    assert flow is not None
    session = IvrSession(flow)
    [menu] = session.handle(e.CallStarted(MONDAY_10, "call-1", "anonymous", "4008001234"))
    assert isinstance(menu, c.CollectDigits) and menu.prompt == "main_menu"
