"""The flow validator: one test per error kind, each at its exact line and column."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from callcenter.ivr import check_flow_text, load_flows, validate
from callcenter.ivr.schema import ERROR_CODES, FlowSetInvalid, MenuNode

VALID = """\
flow: t
languages: [en]
prompts:
  hello: {en: "Hello"}
start: menu
nodes:
  menu:
    type: menu
    prompt: hello
    options:
      "1": done
    invalid: done
  done:
    type: hangup
"""


def problems(text: str) -> list[tuple[int, int, str]]:
    """(line, column, code) of every error in a flow text."""
    _, errors = check_flow_text(dedent(text), "f.yaml")
    return [(error.line, error.column, error.code) for error in errors]


def test_the_reference_flow_is_valid_and_builds_typed_nodes() -> None:
    flow, errors = check_flow_text(VALID, "f.yaml")
    assert errors == []
    assert flow is not None
    menu = flow.nodes["menu"]
    assert isinstance(menu, MenuNode)
    assert menu.options == {"1": "done"}
    assert (menu.retries, menu.timeout_s, menu.timeout) == (2, 5.0, None)


def test_yaml_syntax_error_points_at_the_broken_token() -> None:
    text = "flow: t\nstart: menu\nnodes: [a, b\n"
    assert problems(text) == [(4, 1, "flow.yaml_syntax")]


def test_duplicate_yaml_key_is_a_syntax_error_at_the_second_key() -> None:
    text = "flow: t\nflow: u\n"
    assert problems(text) == [(2, 1, "flow.yaml_syntax")]


def test_unknown_node_type_points_at_the_type_value() -> None:
    text = VALID.replace("    type: hangup", "    type: hang_up")
    assert problems(text) == [(14, 11, "flow.unknown_node_type")]


def test_unknown_field_points_at_the_key() -> None:
    text = VALID.replace("    invalid: done", "    invalid: done\n    retry: 3")
    assert problems(text) == [(13, 5, "flow.unknown_field")]


def test_unknown_top_level_field_points_at_the_key() -> None:
    text = VALID + "version: 2\n"
    assert problems(text) == [(15, 1, "flow.unknown_field")]


def test_missing_target_points_at_the_reference() -> None:
    text = VALID.replace('"1": done', '"1": sales')
    assert problems(text) == [(11, 12, "flow.missing_target")]


def test_missing_start_target_points_at_start() -> None:
    text = VALID.replace("start: menu", "start: welcome")
    assert problems(text) == [(5, 8, "flow.missing_target")]


def test_unreachable_node_points_at_its_id() -> None:
    text = VALID + "  orphan:\n    type: hangup\n"
    assert problems(text) == [(15, 3, "flow.unreachable_node")]


def test_loop_without_input_points_at_the_edge_that_closes_it() -> None:
    text = """\
    flow: t
    start: a
    nodes:
      a:
        type: set
        queue: voice_sales
        next: b
      b:
        type: condition
        branches:
          - when: {identified: true}
            next: done
        else: a
      done:
        type: queue
    """
    assert problems(text) == [(13, 11, "flow.loop_without_input")]


def test_loop_through_a_menu_is_allowed() -> None:
    text = VALID.replace("    invalid: done", "    invalid: again") + (
        "  again:\n    type: set\n    variables: {retried: yes}\n    next: menu\n")
    assert problems(text) == []


def test_prompt_missing_in_a_declared_language_points_at_the_prompt() -> None:
    text = VALID.replace("languages: [en]", "languages: [en, zh]")
    assert problems(text) == [(4, 3, "flow.missing_prompt")]


def test_undefined_prompt_points_at_the_reference() -> None:
    text = VALID.replace("    prompt: hello", "    prompt: welcome")
    assert problems(text) == [(9, 13, "flow.missing_prompt")]


def test_chat_flow_needs_text_for_every_prompt() -> None:
    text = VALID.replace('hello: {en: "Hello"}', "hello: {en: ~}").replace(
        "flow: t", "flow: t\nentry: chat")
    assert problems(text) == [(5, 15, "flow.missing_prompt")]


CALENDAR = """\
flow: t
calendars:
  office:
    time_zone: Asia/Shanghai
    weekly:
      mon: ["09:00-12:00", "13:00-18:00"]
      sat: "10:00-16:00"
    holidays: [2026-10-01]
start: hours
nodes:
  hours:
    type: condition
    branches:
      - when: {open: office}
        next: done
    else: done
  done:
    type: hangup
"""


def test_calendar_reference_flow_is_valid() -> None:
    assert problems(CALENDAR) == []


@pytest.mark.parametrize(("old", "new", "position"), [
    ('"13:00-18:00"', '"13:00-25:00"', (6, 28)),
    ('"13:00-18:00"', '"11:00-18:00"', (6, 28)),
    ('"10:00-16:00"', '"16:00-10:00"', (7, 12)),
    ("Asia/Shanghai", "Mars/Olympus", (4, 16)),
    ("[2026-10-01]", "[2026-13-01]", (8, 16)),
    ("      sat:", "      saturday:", (7, 7)),
], ids=["hour-25", "overlap", "end-before-start", "time-zone", "holiday", "day-name"])
def test_bad_hours_points_at_the_bad_value(old: str, new: str,
                                           position: tuple[int, int]) -> None:
    assert problems(CALENDAR.replace(old, new)) == [(*position, "flow.bad_hours")]


def test_unknown_calendar_points_at_the_reference() -> None:
    text = CALENDAR.replace("{open: office}", "{open: shop}")
    assert problems(text) == [(14, 22, "flow.missing_calendar")]


def test_bad_value_points_at_the_value() -> None:
    text = VALID.replace("    invalid: done", "    invalid: done\n    retries: -1")
    assert problems(text) == [(13, 14, "flow.bad_value")]


def test_unquoted_dialled_number_is_a_bad_value() -> None:
    text = VALID.replace("flow: t", "flow: t\nentry: [4008001234]")
    assert problems(text) == [(2, 9, "flow.bad_value")]


def test_keywords_for_a_choice_the_menu_does_not_offer_are_a_bad_value() -> None:
    text = VALID.replace("    invalid: done", "    invalid: done\n    keywords: {'2': [sales]}")
    assert problems(text) == [(13, 16, "flow.bad_value")]


def test_chat_flow_cannot_take_a_voicemail() -> None:
    text = VALID.replace("flow: t", "flow: t\nentry: chat").replace(
        "    type: hangup", "    type: voicemail\n    queue: email_support\n    prompt: hello")
    assert problems(text) == [(15, 11, "flow.bad_value")]


def test_yaml_tags_are_a_bad_value() -> None:
    text = VALID.replace("flow: t", "flow: !!python/name:os.system t")
    assert problems(text) == [(1, 7, "flow.bad_value")]


def test_missing_node_field_points_at_the_node_id() -> None:
    text = VALID.replace("    invalid: done\n", "")
    assert problems(text) == [(7, 3, "flow.missing_field")]


def test_missing_top_level_field_is_reported() -> None:
    assert problems("flow: t\nnodes: {}\n") == [(1, 1, "flow.missing_field"),
                                                (2, 8, "flow.missing_field")]


def test_queue_node_without_a_chosen_queue_is_a_missing_field() -> None:
    text = """\
    flow: t
    start: ask
    nodes:
      ask:
        type: identify
        found: choose
        not_found: enqueue
      choose:
        type: set
        queue: voice_vip
        next: enqueue
      enqueue:
        type: queue
    """
    assert problems(text) == [(12, 3, "flow.missing_field")]


def test_every_error_in_a_file_is_reported_in_order() -> None:
    text = VALID.replace("    type: hangup", "    type: hang_up").replace(
        "    prompt: hello", "    prompt: welcome\n    colour: blue")
    assert problems(text) == [(9, 13, "flow.missing_prompt"), (10, 5, "flow.unknown_field"),
                              (15, 11, "flow.unknown_node_type")]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def test_duplicate_flow_name_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID)
    write(tmp_path, "b.yaml", VALID)
    errors = validate(tmp_path)
    assert [str(e) for e in errors] == [
        f"{tmp_path / 'b.yaml'}:1:7: flow.duplicate_flow: flow 't' is also defined in "
        f"{tmp_path / 'a.yaml'}"]


def test_duplicate_entry_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID.replace("flow: t", "flow: a\nentry: ['4008001234']"))
    write(tmp_path, "b.yaml", VALID.replace("flow: t", "flow: b\nentry: ['4008001234']"))
    errors = validate(tmp_path)
    assert [(e.file, e.line, e.column, e.code) for e in errors] == [
        (str(tmp_path / "b.yaml"), 2, 9, "flow.duplicate_entry")]


def test_missing_path_and_empty_folder_are_not_found(tmp_path: Path) -> None:
    assert [e.code for e in validate(tmp_path / "nope")] == ["flow.not_found"]
    assert [e.code for e in validate(tmp_path)] == ["flow.not_found"]


def test_load_flows_raises_flow_invalid_listing_every_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID.replace('"1": done', '"1": sales'))
    write(tmp_path, "b.yaml", "flow: [")
    with pytest.raises(FlowSetInvalid) as caught:
        load_flows(tmp_path)
    assert caught.value.code == "flow.invalid"
    assert [(Path(e.file).name, e.code) for e in caught.value.errors] == [
        ("a.yaml", "flow.missing_target"), ("b.yaml", "flow.yaml_syntax")]


def test_error_codes_are_stable_dotted_names() -> None:
    assert all(code.startswith("flow.") and code.islower() for code in ERROR_CODES)
    assert len(set(ERROR_CODES)) == len(ERROR_CODES)
