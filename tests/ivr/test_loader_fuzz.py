"""Fuzzing the flow loader: any input gives a flow or a list of errors, never a traceback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from callcenter.ivr import check_flow_text, validate
from callcenter.ivr.schema import ERROR_CODES, Flow, FlowError

FLOWS_DIR = Path(__file__).resolve().parents[2] / "ivr_flows"
SHIPPED = {path.name: path.read_text(encoding="utf-8") for path in FLOWS_DIR.glob("*.yaml")}
# A shipped flow takes tens of milliseconds to validate, so the flow-based fuzzers run
# fewer examples than the cheap random-text one.
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ_FLOWS = settings(FUZZ, max_examples=60)

# Characters that matter to YAML, so random edits often change the structure.
YAML_CHARS = st.sampled_from([*":-[]{}\"'&*!|>#%@`,? \t\n", "1", "a", "~", "中"])


def assert_flow_or_errors(text: str, result: tuple[Flow | None, list[FlowError]]) -> None:
    flow, errors = result
    assert (flow is None) == bool(errors)
    line_count = text.count("\n") + 1
    for error in errors:
        assert error.code in ERROR_CODES
        assert 1 <= error.line <= line_count + 1, error
        assert error.column >= 1
        assert error.message
        assert str(error).startswith(f"f.yaml:{error.line}:{error.column}: {error.code}: ")


@given(st.text(max_size=300))
@FUZZ
def test_random_text_gives_a_flow_or_errors(text: str) -> None:
    assert_flow_or_errors(text, check_flow_text(text, "f.yaml"))


@st.composite
def mutated_flow(draw: st.DrawFn) -> str:
    """A shipped flow with a few random line or character edits."""
    text = SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))]
    for _ in range(draw(st.integers(1, 3))):
        lines = text.split("\n")
        index = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "swap", "char", "insert", "cut"]))
        if edit == "delete":
            del lines[index]
        elif edit == "duplicate":
            lines.insert(index, lines[index])
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif edit == "char":
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(YAML_CHARS) + line[at + 1:]
        elif edit == "insert":
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.text(YAML_CHARS, max_size=8)) + line[at:]
        else:
            lines = lines[:index]
        text = "\n".join(lines)
    return text


@given(mutated_flow())
@FUZZ_FLOWS
def test_mutated_shipped_flows_give_a_flow_or_errors(text: str) -> None:
    assert_flow_or_errors(text, check_flow_text(text, "f.yaml"))


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from(["menu", "hangup", "main_menu", "09:00-18:00",
                                              "voice_sales", "en", "2026-02-30"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=8) | st.sampled_from(["type", "next", "prompt", "options"]),
        inner, max_size=3),
    max_leaves=8,
)


PARSED = {name: YAML(typ="safe", pure=True).load(text) for name, text in SHIPPED.items()}


@st.composite
def flow_with_a_replaced_value(draw: st.DrawFn) -> str:
    """A shipped flow, parsed, with one value somewhere replaced by a random value."""
    data = copy.deepcopy(PARSED[draw(st.sampled_from(sorted(PARSED)))])
    holder: Any = data
    target: tuple[Any, Any] | None = None
    for _ in range(draw(st.integers(1, 5))):
        if isinstance(holder, dict) and holder:
            key: Any = draw(st.sampled_from(sorted(holder, key=str)))
        elif isinstance(holder, list) and holder:
            key = draw(st.integers(0, len(holder) - 1))
        else:
            break
        target = (holder, key)
        if not isinstance(holder[key], dict | list) or not draw(st.booleans()):
            break
        holder = holder[key]
    if target is not None:
        target[0][target[1]] = draw(JSONISH)
    # JSON is YAML too, and much faster to write than a YAML dump.
    return json.dumps(data, ensure_ascii=False, indent=1, default=str)


@given(flow_with_a_replaced_value())
@FUZZ_FLOWS
def test_flows_with_a_random_value_give_a_flow_or_errors(text: str) -> None:
    assert_flow_or_errors(text, check_flow_text(text, "f.yaml"))


def test_hostile_yaml_is_reported_not_raised() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    cases = {
        "alias bomb": bomb,
        "deep nesting": "a: " + "[" * 5000 + "]" * 5000,
        "self alias": "a: &x [*x]\n",
        "complex key": "? [a, b]\n: c\n",
        "two documents": "flow: a\n---\nflow: b\n",
        "control character": "flow: \x07\n",
        "merge key": "base: &b {type: hangup}\nflow: t\nstart: n\nnodes:\n  n: {<<: *b}\n",
    }
    for name, text in cases.items():
        flow, errors = check_flow_text(text, "f.yaml")
        assert flow is None and errors, name


def test_a_file_that_is_not_utf8_is_a_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("flow: caf\xe9\n".encode("latin-1"))
    [error] = validate(tmp_path)
    assert (error.line, error.column, error.code) == (1, 1, "flow.yaml_syntax")
