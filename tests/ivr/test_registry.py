"""Hot reload: new calls get the new flows, calls in progress keep theirs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcenter.ivr import FlowRegistry, FlowSetInvalid, IvrSession
from callcenter.ivr import commands as c
from callcenter.ivr import events as e

FLOWS_DIR = Path(__file__).resolve().parents[2] / "ivr_flows"
AT = 1_795_399_200.0  # a Monday, 10:00 in Shanghai: the main menu is open


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, folder)
    return folder


def at_main_menu(registry: FlowRegistry) -> tuple[IvrSession, c.CollectDigits]:
    session = registry.start_session("4008001234")
    assert session is not None
    session.handle(e.CallStarted(AT, "call-1", "+8613800000001", "4008001234"))
    [menu] = session.handle(e.CustomerIdentified(AT, None))
    assert isinstance(menu, c.CollectDigits)
    return session, menu


def test_reload_keeps_a_call_in_progress_on_the_version_it_started_with(
        flows_dir: Path) -> None:
    registry = FlowRegistry.from_path(flows_dir)
    old_call, old_menu = at_main_menu(registry)
    main = flows_dir / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace(
        "For sales press 1.", "Sales: press 1."), encoding="utf-8")

    assert registry.reload() == []

    new_call, new_menu = at_main_menu(registry)
    assert new_menu.text is not None and new_menu.text.startswith("Sales: press 1.")
    assert old_menu.text is not None and old_menu.text.startswith("For sales press 1.")
    # The old call asks again after a wrong key: still in its original wording.
    old_call.handle(e.DigitsReceived(AT, "7"))
    [asked_again] = old_call.handle(e.PromptDone(AT, "invalid_choice"))
    assert asked_again == old_menu
    assert old_call.flow.version != new_call.flow.version
    assert registry.generation == 2


def test_invalid_reload_keeps_the_running_flows_and_says_why(flows_dir: Path) -> None:
    registry = FlowRegistry.from_path(flows_dir)
    before = registry.flows
    (flows_dir / "main.yaml").write_text("flow: main\nstart: nowhere\nnodes: {}\n",
                                         encoding="utf-8")

    errors = registry.reload()

    assert [(Path(err.file).name, err.line, err.column, err.code) for err in errors] == [
        ("main.yaml", 2, 8, "flow.missing_target"), ("main.yaml", 3, 8, "flow.missing_field")]
    assert registry.flows is before and registry.generation == 1
    assert at_main_menu(registry)[1].prompt == "main_menu"


def test_start_up_on_an_invalid_flow_fails_naming_the_place(flows_dir: Path) -> None:
    main = flows_dir / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace(
        "next: vip_queue", "next: vip_queu"), encoding="utf-8")
    with pytest.raises(FlowSetInvalid) as caught:
        FlowRegistry.from_path(flows_dir)
    assert caught.value.code == "flow.invalid"
    assert f"{main}:" in caught.value.message
    assert "flow.missing_target" in caught.value.message


def test_registry_finds_flows_by_entry(flows_dir: Path) -> None:
    registry = FlowRegistry.from_path(flows_dir)
    names = {entry: getattr(registry.flow_for(entry), "name", None)
             for entry in ("4008001234", "chat", "post_call", "99999")}
    assert names == {"4008001234": "main", "chat": "chat_bot", "post_call": "survey",
                     "99999": None}
    assert registry.start_session("99999") is None
