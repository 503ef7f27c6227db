"""YAML with positions: every key and value keeps its 1-based line and column.

ruamel.yaml's round-trip loader knows where each key and value starts; this module
copies its result into a small uniform tree (:class:`YNode`) so the validator can
point at ``file:line:column`` for any problem, and so no odd YAML feature (tags,
complex keys, recursive aliases, alias bombs) reaches the validator. Any input gives a
tree or a list of errors, never an exception.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor

from callcenter.ivr.schema import BAD_VALUE, YAML_SYNTAX, FlowError

# An alias can repeat a large subtree many times over; a flow file has a few
# hundred values, so this bound only stops alias bombs.
MAX_VALUES = 50_000
MAX_DEPTH = 64
MAX_BRACKET_DEPTH = 100

Scalar = str | int | float | bool | None


@dataclass(slots=True)
class YEntry:
    """One key of a mapping: the key text, where it is, and its value."""

    key: str
    line: int
    column: int
    node: YNode


@dataclass(slots=True)
class YNode:
    """A value with its position: ``dict[str, YEntry]``, ``list[YNode]`` or a scalar."""

    value: Any
    line: int
    column: int

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.value, dict | list)


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that keeps dates as text, so the validator checks them."""


# A bad date such as 2026-13-45 would otherwise fail inside the YAML library without a
# position; as text it reaches the calendar check, which knows where it is.
_Constructor.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return yaml


def _exception_position(exc: BaseException, text: str) -> tuple[int, int]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None and isinstance(getattr(mark, "line", None), int):
        return mark.line + 1, mark.column + 1
    position = getattr(exc, "position", None)
    if isinstance(position, int) and 0 <= position <= len(text):
        before = text[:position]
        return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
    return 1, 1


def _exception_reason(exc: BaseException) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if isinstance(problem, str):
        return f"{context}: {problem}" if isinstance(context, str) else problem
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _too_deep_brackets(text: str) -> tuple[int, int] | None:
    """Where ``[``/``{`` nesting passes MAX_BRACKET_DEPTH, if it does.

    The YAML parser takes time quadratic in bracket nesting (seconds at a thousand
    levels), so such input is refused before parsing. Brackets in quoted text count too:
    no real flow comes near the limit.
    """
    depth = 0
    line, column = 1, 0
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        elif char in "[{":
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                return line, column
        elif char in "]}":
            depth = max(0, depth - 1)
    return None


def parse_yaml(text: str, file: str) -> tuple[YNode | None, list[FlowError]]:
    """Parse one YAML document into a positioned tree, or report why it cannot be read."""
    too_deep = _too_deep_brackets(text)
    if too_deep is not None:
        return None, [FlowError(file, *too_deep, YAML_SYNTAX,
                                f"brackets nested deeper than {MAX_BRACKET_DEPTH} levels")]
    try:
        with warnings.catch_warnings():
            # ruamel warns on things like a re-used anchor; the tree is still well defined.
            warnings.simplefilter("ignore")
            data = _yaml().load(text)
    except RecursionError:
        return None, [FlowError(file, 1, 1, YAML_SYNTAX, "nesting is too deep")]
    except Exception as exc:  # any failure of the YAML library is a syntax error to the user
        line, column = _exception_position(exc, text)
        return None, [FlowError(file, line, column, YAML_SYNTAX,
                                f"not valid YAML: {_exception_reason(exc)}")]
    converter = _Converter(file)
    tree = converter.convert(data, 1, 1, 0)
    if converter.errors:
        return None, converter.errors
    return tree, []


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[FlowError] = []
        self.count = 0
        self.open_containers: set[int] = set()

    def fail(self, line: int, column: int, message: str) -> YNode:
        self.errors.append(FlowError(self.file, line, column, BAD_VALUE, message))
        return YNode(None, line, column)

    def convert(self, data: Any, line: int, column: int, depth: int) -> YNode:
        self.count += 1
        if self.count > MAX_VALUES:
            if self.count == MAX_VALUES + 1:
                return self.fail(line, column, f"more than {MAX_VALUES} values (alias expansion?)")
            return YNode(None, line, column)
        if depth > MAX_DEPTH:
            return self.fail(line, column, f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(data, CommentedMap | CommentedSeq):
            if id(data) in self.open_containers:
                return self.fail(line, column, "an alias refers to itself")
            line, column = _own_position(data, line, column)
            self.open_containers.add(id(data))
            try:
                if isinstance(data, CommentedMap):
                    return self._mapping(data, line, column, depth)
                return self._sequence(data, line, column, depth)
            finally:
                self.open_containers.discard(id(data))
        scalar = _plain_scalar(data)
        if scalar is _UNSUPPORTED:
            return self.fail(line, column, f"unsupported YAML value of type "
                                           f"{type(data).__name__} (tags are not allowed)")
        return YNode(scalar, line, column)

    def _mapping(self, data: CommentedMap, line: int, column: int, depth: int) -> YNode:
        entries: dict[str, YEntry] = {}
        for key, value in data.items():
            key_line, key_column = _lc(data, "key", key, line, column)
            value_line, value_column = _lc(data, "value", key, key_line, key_column)
            plain = _plain_scalar(key)
            if plain is _UNSUPPORTED or isinstance(plain, float):
                self.fail(key_line, key_column, "a key must be plain text")
                continue
            text = _key_text(plain)
            if text in entries:
                self.fail(key_line, key_column, f"duplicate key {text!r}")
                continue
            node = self.convert(value, value_line, value_column, depth + 1)
            entries[text] = YEntry(text, key_line, key_column, node)
        return YNode(entries, line, column)

    def _sequence(self, data: CommentedSeq, line: int, column: int, depth: int) -> YNode:
        items = []
        for index, value in enumerate(data):
            item_line, item_column = _lc(data, "item", index, line, column)
            items.append(self.convert(value, item_line, item_column, depth + 1))
        return YNode(items, line, column)


_UNSUPPORTED: Any = object()


def _plain_scalar(value: Any) -> Any:
    """Strip ruamel's scalar subclasses; anything else (tags, binary) is unsupported."""
    if value is None:
        return None
    # ruamel's ScalarBoolean is an int subclass, so test booleans by type name too.
    if isinstance(value, bool) or type(value).__name__ == "ScalarBoolean":
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return _UNSUPPORTED


def _key_text(key: Scalar) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _own_position(data: Any, line: int, column: int) -> tuple[int, int]:
    lc = getattr(data, "lc", None)
    if lc is not None and isinstance(lc.line, int) and isinstance(lc.col, int):
        return lc.line + 1, lc.col + 1
    return line, column


def _lc(data: Any, kind: str, key: Any, line: int, column: int) -> tuple[int, int]:
    """Position of a key, value or item; keys brought in by a merge (``<<``) have none."""
    try:
        found = getattr(data.lc, kind)(key)
    except (KeyError, IndexError, TypeError, AttributeError):
        return line, column
    if found is None or not all(isinstance(part, int) for part in found):
        return line, column
    return found[0] + 1, found[1] + 1
