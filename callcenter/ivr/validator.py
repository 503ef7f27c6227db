"""Flow validation: every problem, each at its ``file:line:column``, with a stable code.

The validator reads the positioned YAML tree (:mod:`callcenter.ivr.yaml_tree`) of each
file, checks fields, references, opening hours and prompts, then the flow graph
(unreachable nodes, loops that never wait for the caller, queues that are used before
any ``set`` chose one), and finally what flows in one folder must not share (names,
dialled numbers). It collects all errors instead of stopping at the first.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.config import TIERS
from callcenter.ivr import schema as s
from callcenter.ivr.calendar import (
    WEEKDAYS,
    BusinessCalendar,
    HoursError,
    parse_holiday,
    parse_hours_range,
    parse_time_zone,
)
from callcenter.ivr.schema import FlowError
from callcenter.ivr.yaml_tree import YEntry, YNode, parse_yaml

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_VARIABLE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_QUEUE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_DTMF_KEY = re.compile(r"^[0-9*#]{1,4}$")
_DIALLED = re.compile(r"^\+?[0-9]{2,20}$")
_MAX_FILE_BYTES = 1_000_000

REQUIRED: Any = object()  # marks a field without a default
_BAD: Any = object()  # a field value that failed its check (already reported)


@dataclass(slots=True)
class _Ref:
    """A reference from one node to another, where it was written."""

    source: str
    target: str
    line: int
    column: int


@dataclass(slots=True)
class _Draft:
    """What the file-level check learned, kept for the folder-level checks."""

    file: str
    flow: s.Flow | None
    name: str | None
    name_position: tuple[int, int]
    entries: list[tuple[str, int, int]] = field(default_factory=list)


FieldParser = Callable[["_FlowChecker", YNode, str], Any]


def _ordered_errors(errors: Iterable[FlowError]) -> list[FlowError]:
    """Without repeats, by file and position; errors at one place keep the order found."""
    return sorted(dict.fromkeys(errors), key=lambda err: (err.file, err.line, err.column))


class _FlowChecker:
    """Checks one file's tree and builds its :class:`~callcenter.ivr.schema.Flow`."""

    def __init__(self, file: str, version: str) -> None:
        self.file = file
        self.version = version
        self.errors: list[FlowError] = []
        self.languages: tuple[str, ...] = ("en",)
        self.channel: s.Channel = "voice"
        self.prompts: dict[str, dict[str, str | None]] = {}
        self.calendars: dict[str, BusinessCalendar] = {}
        self.refs: list[_Ref] = []
        self.node_ids: dict[str, YEntry] = {}
        self.node_types: dict[str, str] = {}
        self.types_known = True

    # -- reporting ---------------------------------------------------------------------

    def error(self, at: YNode | YEntry | tuple[int, int], code: str, message: str) -> Any:
        line, column = at if isinstance(at, tuple) else (at.line, at.column)
        self.errors.append(FlowError(self.file, line, column, code, message))
        return _BAD

    # -- scalar field parsers (each reports its own error and returns _BAD) ------------

    def text(self, node: YNode, what: str) -> Any:
        if not isinstance(node.value, str) or not node.value.strip():
            return self.error(node, s.BAD_VALUE, f"{what} must be non-empty text")
        return node.value

    def name(self, node: YNode, what: str, pattern: re.Pattern[str] = _NAME) -> Any:
        if not isinstance(node.value, str) or not pattern.match(node.value):
            return self.error(node, s.BAD_VALUE,
                              f"{what} must be a name matching {pattern.pattern} "
                              f"(got {_show(node.value)})")
        return node.value

    def variable(self, node: YNode, what: str) -> Any:
        return self.name(node, what, _VARIABLE)

    def queue(self, node: YNode, what: str) -> Any:
        return self.name(node, what, _QUEUE)

    def boolean(self, node: YNode, what: str) -> Any:
        if not isinstance(node.value, bool):
            return self.error(node, s.BAD_VALUE, f"{what} must be true or false "
                                                 f"(got {_show(node.value)})")
        return node.value

    def integer(self, node: YNode, what: str, low: int, high: int) -> Any:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return self.error(node, s.BAD_VALUE, f"{what} must be a whole number from {low} "
                                                 f"to {high} (got {_show(value)})")
        return value

    def number(self, node: YNode, what: str, low: float, high: float) -> Any:
        value = node.value
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not low <= value <= high):
            return self.error(node, s.BAD_VALUE, f"{what} must be a number from {low:g} "
                                                 f"to {high:g} (got {_show(value)})")
        return float(value)

    def choice(self, node: YNode, what: str, choices: tuple[str, ...]) -> Any:
        if node.value not in choices:
            return self.error(node, s.BAD_VALUE, f"{what} must be one of {', '.join(choices)} "
                                                 f"(got {_show(node.value)})")
        return node.value

    def target(self, node: YNode, what: str, source: str) -> Any:
        value = self.name(node, what)
        if value is not _BAD:
            self.refs.append(_Ref(source, value, node.line, node.column))
        return value

    def prompt(self, node: YNode, what: str) -> Any:
        value = self.name(node, what)
        if value is _BAD:
            return value
        if value not in self.prompts:
            return self.error(node, s.MISSING_PROMPT,
                              f"{what}: no prompt named {value!r} in prompts")
        return value

    def language(self, node: YNode, what: str) -> Any:
        if node.value not in self.languages:
            return self.error(node, s.BAD_VALUE,
                              f"{what} {_show(node.value)} is not one of the flow's "
                              f"languages ({', '.join(self.languages)})")
        return node.value

    def calendar(self, node: YNode, what: str) -> Any:
        value = self.name(node, what)
        if value is not _BAD and value not in self.calendars:
            return self.error(node, s.MISSING_CALENDAR,
                              f"{what}: no calendar named {value!r} in calendars")
        return value

    def word_set(self, node: YNode, what: str,
                 check: Callable[[YNode, str], Any] | None = None) -> Any:
        """One text or a list of texts, as a frozenset."""
        items = node.value if node.is_list else [node]
        if not items:
            return self.error(node, s.BAD_VALUE, f"{what} must not be an empty list")
        values = set()
        for item in items:
            value = check(item, what) if check else self.text(item, what)
            if value is _BAD:
                return _BAD
            values.add(value)
        return frozenset(values)

    def mapping(self, node: YNode, what: str) -> dict[str, YEntry] | None:
        if not node.is_map:
            self.error(node, s.BAD_VALUE, f"{what} must be a mapping (key: value)")
            return None
        return node.value  # type: ignore[no-any-return]

    # -- field tables ----------------------------------------------------------------

    def fields(self, node: YNode, what: str, spec: dict[str, tuple[FieldParser, Any]],
               source: str, owner: YEntry | None = None) -> dict[str, Any] | None:
        """Check a mapping against ``spec`` (field -> (parser, default or REQUIRED)).

        A missing field is reported at ``owner`` (the key naming the mapping) if given.
        """
        entries = self.mapping(node, what)
        if entries is None:
            return None
        values: dict[str, Any] = {}
        ok = True
        for key, entry in entries.items():
            if key not in spec:
                self.error(entry, s.UNKNOWN_FIELD,
                           f"unknown field {key!r} in {what} (known: {', '.join(sorted(spec))})")
                ok = False
                continue
            parser, _ = spec[key]
            value = parser(self, entry.node, source)
            if value is _BAD:
                ok = False
            values[key] = value
        for key, (_, default) in spec.items():
            if key in values:
                continue
            if default is REQUIRED:
                self.error(owner or node, s.MISSING_FIELD, f"{what} needs the field {key!r}")
                ok = False
            else:
                values[key] = default
        return values if ok else None

    # -- the document ------------------------------------------------------------------

    def check(self, tree: YNode | None) -> _Draft:
        draft = _Draft(self.file, None, None, (1, 1))
        if tree is None or (tree.is_scalar and tree.value is None):
            self.error((1, 1), s.MISSING_FIELD, "the file is empty; a flow needs 'flow', "
                                                "'start' and 'nodes'")
            return draft
        top = self.mapping(tree, "a flow file")
        if top is None:
            return draft
        for key, entry in top.items():
            if key not in _TOP_FIELDS:
                self.error(entry, s.UNKNOWN_FIELD, f"unknown field {key!r} at the top of the "
                                                   f"flow (known: {', '.join(_TOP_FIELDS)})")
        for key in ("flow", "start", "nodes"):
            if key not in top:
                self.error(tree, s.MISSING_FIELD, f"a flow needs the field {key!r}")

        name: Any = _BAD
        if "flow" in top:
            name = self.name(top["flow"].node, "flow")
            draft.name_position = (top["flow"].node.line, top["flow"].node.column)
        if "description" in top:
            self.text(top["description"].node, "description")
        entries = self.check_entry(top["entry"].node, draft) if "entry" in top else ()
        if "languages" in top:
            self.languages = self.check_languages(top["languages"].node)
        if "prompts" in top:
            self.check_prompts(top["prompts"].node)
        if "calendars" in top:
            self.check_calendars(top["calendars"].node)

        nodes: dict[str, s.Node] = {}
        nodes_ok = False
        if "nodes" in top:
            built = self.check_nodes(top["nodes"].node)
            if built is not None:
                nodes, nodes_ok = built
        start: Any = _BAD
        if "start" in top:
            start = self.target(top["start"].node, "start", "")

        refs_ok = self.check_references()
        if refs_ok and start is not _BAD and self.types_known and self.node_ids:
            self.check_graph(start, nodes if nodes_ok else None)

        if name is not _BAD:
            draft.name = name
        if self.errors or name is _BAD or start is _BAD or not nodes_ok:
            return draft
        draft.flow = s.Flow(
            name=name, file=self.file, version=self.version, entry=entries,
            languages=self.languages, prompts=self.prompts, calendars=self.calendars,
            start=start, nodes=nodes,
        )
        return draft

    def check_entry(self, node: YNode, draft: _Draft) -> tuple[str, ...]:
        items = node.value if node.is_list else [node]
        values: list[str] = []
        for item in items:
            value = item.value
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.error(item, s.BAD_VALUE, f"dialled number {value} must be quoted "
                                              f"(\"{value}\") so leading zeros and '+' survive")
                continue
            if not isinstance(value, str) or not (
                    value in (s.CHAT_ENTRY, s.POST_CALL_ENTRY) or _DIALLED.match(value)):
                self.error(item, s.BAD_VALUE, f"entry {_show(value)} must be a dialled number, "
                                              f"'{s.CHAT_ENTRY}' or '{s.POST_CALL_ENTRY}'")
                continue
            if value in values:
                self.error(item, s.DUPLICATE_ENTRY, f"entry {value!r} is listed twice")
                continue
            values.append(value)
            draft.entries.append((value, item.line, item.column))
        if s.CHAT_ENTRY in values and len(values) > 1:
            self.error(node, s.BAD_VALUE, "a chat flow cannot also answer calls: give "
                                          "'chat' alone or only voice entries")
        if s.CHAT_ENTRY in values:
            self.channel = "chat"
        return tuple(values)

    def check_languages(self, node: YNode) -> tuple[str, ...]:
        items = node.value if node.is_list else [node]
        found: list[str] = []
        for item in items:
            if not isinstance(item.value, str) or not _LANGUAGE.match(item.value):
                self.error(item, s.BAD_VALUE, f"language {_show(item.value)} must be a code "
                                              f"like 'en' or 'zh'")
            elif item.value in found:
                self.error(item, s.BAD_VALUE, f"language {item.value!r} is listed twice")
            else:
                found.append(item.value)
        if not items:
            self.error(node, s.BAD_VALUE, "languages must name at least one language")
        return tuple(found) or ("en",)

    def check_prompts(self, node: YNode) -> None:
        entries = self.mapping(node, "prompts")
        if entries is None:
            return
        for prompt_name, entry in entries.items():
            if not _NAME.match(prompt_name):
                self.error(entry, s.BAD_VALUE, f"prompt name {prompt_name!r} must match "
                                               f"{_NAME.pattern}")
                continue
            texts = self.mapping(entry.node, f"prompt {prompt_name!r}")
            if texts is None:
                continue
            by_language: dict[str, str | None] = {}
            for language, text_entry in texts.items():
                text = text_entry.node.value
                if language not in self.languages:
                    self.error(text_entry, s.BAD_VALUE,
                               f"prompt {prompt_name!r}: language {language!r} is not one of "
                               f"the flow's languages ({', '.join(self.languages)})")
                elif text is not None and (not isinstance(text, str) or not text.strip()):
                    self.error(text_entry.node, s.BAD_VALUE,
                               f"prompt {prompt_name!r} in {language!r}: text-to-speech text "
                               f"must be text, or ~ for a recording only")
                elif text is None and self.channel == "chat":
                    self.error(text_entry.node, s.MISSING_PROMPT,
                               f"prompt {prompt_name!r} in {language!r}: a chat flow needs "
                               f"text for every prompt")
                else:
                    by_language[language] = text
            missing = [lang for lang in self.languages if lang not in texts]
            if missing:
                self.error(entry, s.MISSING_PROMPT,
                           f"prompt {prompt_name!r} has no {', '.join(missing)} version "
                           f"(declared languages: {', '.join(self.languages)})")
            # Defined even when incomplete, so nodes that use it are not reported again.
            self.prompts[prompt_name] = by_language

    def check_calendars(self, node: YNode) -> None:
        entries = self.mapping(node, "calendars")
        if entries is None:
            return
        for calendar_name, entry in entries.items():
            if not _NAME.match(calendar_name):
                self.error(entry, s.BAD_VALUE, f"calendar name {calendar_name!r} must match "
                                               f"{_NAME.pattern}")
                continue
            calendar = self.check_calendar(calendar_name, entry)
            if calendar is not None:
                self.calendars[calendar_name] = calendar
            else:
                # Known by name, so conditions using it are not reported a second time.
                self.calendars[calendar_name] = BusinessCalendar(calendar_name, "UTC", {},
                                                                 frozenset())

    def check_calendar(self, calendar_name: str, entry: YEntry) -> BusinessCalendar | None:
        what = f"calendar {calendar_name!r}"
        fields = self.mapping(entry.node, what)
        if fields is None:
            return None
        ok = True
        for key, field_entry in fields.items():
            if key not in ("time_zone", "weekly", "holidays"):
                self.error(field_entry, s.UNKNOWN_FIELD, f"unknown field {key!r} in {what} "
                                                         f"(known: holidays, time_zone, weekly)")
                ok = False
        time_zone = ""
        if "time_zone" not in fields:
            self.error(entry.node, s.MISSING_FIELD, f"{what} needs the field 'time_zone'")
            ok = False
        else:
            zone_node = fields["time_zone"].node
            try:
                if not isinstance(zone_node.value, str):
                    raise HoursError(f"time zone {_show(zone_node.value)} must be text")
                parse_time_zone(zone_node.value)
                time_zone = zone_node.value
            except HoursError as exc:
                self.error(zone_node, s.BAD_HOURS, f"{what}: {exc}")
                ok = False
        weekly: dict[int, tuple[tuple[int, int], ...]] = {}
        if "weekly" not in fields:
            self.error(entry.node, s.MISSING_FIELD, f"{what} needs the field 'weekly'")
            ok = False
        else:
            ok = self.check_weekly(what, fields["weekly"].node, weekly) and ok
        holidays = set()
        if "holidays" in fields:
            holidays_node = fields["holidays"].node
            items = holidays_node.value if holidays_node.is_list else [holidays_node]
            for item in items:
                try:
                    if not isinstance(item.value, str):
                        raise HoursError(f"holiday {_show(item.value)} is not a date YYYY-MM-DD")
                    holidays.add(parse_holiday(item.value))
                except HoursError as exc:
                    self.error(item, s.BAD_HOURS, f"{what}: {exc}")
                    ok = False
        if not ok:
            return None
        return BusinessCalendar(calendar_name, time_zone, weekly, frozenset(holidays))

    def check_weekly(self, what: str, node: YNode,
                     weekly: dict[int, tuple[tuple[int, int], ...]]) -> bool:
        if not node.is_map:
            self.error(node, s.BAD_HOURS, f"{what}: weekly must map days (mon..sun) to hours")
            return False
        ok = True
        for day, entry in node.value.items():
            if day not in WEEKDAYS:
                self.error(entry, s.BAD_HOURS, f"{what}: unknown day {day!r} "
                                               f"(use {', '.join(WEEKDAYS)})")
                ok = False
                continue
            value = entry.node
            items = value.value if value.is_list else [value]
            ranges: list[tuple[int, int, YNode]] = []
            for item in items:
                if item.value == "closed":
                    continue
                try:
                    if not isinstance(item.value, str):
                        raise HoursError(f"hours {_show(item.value)} are not 'HH:MM-HH:MM'")
                    start, end = parse_hours_range(item.value)
                except HoursError as exc:
                    self.error(item, s.BAD_HOURS, f"{what} {day}: {exc}")
                    ok = False
                    continue
                ranges.append((start, end, item))
            ranges.sort(key=lambda r: (r[0], r[1]))
            for (_, end, _), (start, _, later) in itertools.pairwise(ranges):
                if start < end:
                    self.error(later, s.BAD_HOURS, f"{what} {day}: hours "
                                                   f"{later.value!r} overlap another range")
                    ok = False
            weekly[WEEKDAYS.index(day)] = tuple((start, end) for start, end, _ in ranges)
        return ok

    # -- nodes ---------------------------------------------------------------------------

    def check_nodes(self, node: YNode) -> tuple[dict[str, s.Node], bool] | None:
        entries = self.mapping(node, "nodes")
        if entries is None:
            return None
        if not entries:
            self.error(node, s.MISSING_FIELD, "nodes must hold at least one node")
            return None
        built: dict[str, s.Node] = {}
        ok = True
        for node_id, entry in entries.items():
            if not _NAME.match(node_id):
                self.error(entry, s.BAD_VALUE, f"node id {node_id!r} must match {_NAME.pattern}")
                ok = False
                continue
            self.node_ids[node_id] = entry
            result = self.check_node(node_id, entry)
            if result is None:
                ok = False
            else:
                built[node_id] = result
        return built, ok

    def check_node(self, node_id: str, entry: YEntry) -> s.Node | None:
        what = f"node {node_id!r}"
        fields = self.mapping(entry.node, what)
        if fields is None:
            self.types_known = False
            return None
        if "type" not in fields:
            self.error(entry, s.MISSING_FIELD, f"{what} needs the field 'type' "
                                               f"(one of {', '.join(s.NODE_TYPES)})")
            self.types_known = False
            return None
        type_node = fields["type"].node
        node_type = type_node.value
        if not isinstance(node_type, str) or node_type not in _NODE_SPECS:
            self.error(type_node, s.UNKNOWN_NODE_TYPE,
                       f"{what}: unknown node type {_show(node_type)} "
                       f"(known: {', '.join(s.NODE_TYPES)})")
            self.types_known = False
            return None
        self.node_types[node_id] = node_type
        if self.channel == "chat" and node_type in ("voicemail", "transfer"):
            self.error(type_node, s.BAD_VALUE, f"{what}: a chat flow cannot use {node_type} "
                                               f"(it needs a phone call)")
        spec = dict(_NODE_SPECS[node_type])
        spec["type"] = (_ignore, REQUIRED)
        values = self.fields(entry.node, f"{what} ({node_type})", spec, node_id, entry)
        if values is None:
            return None
        values.pop("type")
        return _BUILDERS[node_type](self, node_id, values, entry)

    def check_options(self, node: YNode, source: str) -> Any:
        entries = self.mapping(node, "options")
        if entries is None:
            return _BAD
        if not entries:
            return self.error(node, s.BAD_VALUE, "options must offer at least one choice")
        options: dict[str, str] = {}
        for key, entry in entries.items():
            # The target is checked even for a bad key, so its node is not also reported
            # as unreachable.
            target = self.target(entry.node, f"option {key!r}", source)
            if not _DTMF_KEY.match(key):
                self.error(entry, s.BAD_VALUE, f"option {key!r} must be 1-4 keys of 0-9, * "
                                               f"and # (quote '*' and '#')")
                continue
            if target is not _BAD:
                options[key] = target
        return options if len(options) == len(entries) else _BAD

    def check_keywords(self, node: YNode, source: str) -> Any:
        entries = self.mapping(node, "keywords")
        if entries is None:
            return _BAD
        words: dict[str, str] = {}
        ok = True
        for key, entry in entries.items():
            found = self.word_set(entry.node, f"keywords for {key!r}")
            if found is _BAD:
                ok = False
                continue
            for word in sorted(found):
                lowered = word.strip().lower()
                if lowered in words and words[lowered] != key:
                    self.error(entry.node, s.BAD_VALUE, f"keyword {word!r} is given for "
                                                        f"{words[lowered]!r} and {key!r}")
                    ok = False
                words[lowered] = key
        # keyword -> option key; options are checked against these in the builder
        return {"words": words, "entries": entries} if ok else _BAD

    def check_skills(self, node: YNode, source: str) -> Any:
        entries = self.mapping(node, "required_skills")
        if entries is None:
            return _BAD
        skills: dict[str, int] = {}
        for skill, entry in entries.items():
            if not _VARIABLE.match(skill):
                self.error(entry, s.BAD_VALUE, f"skill name {skill!r} must match "
                                               f"{_VARIABLE.pattern}")
                continue
            level = self.integer(entry.node, f"minimum level of {skill!r}", 1, 10)
            if level is not _BAD:
                skills[skill] = level
        return skills if len(skills) == len(entries) else _BAD

    def check_set_variables(self, node: YNode, source: str) -> Any:
        entries = self.mapping(node, "variables")
        if entries is None:
            return _BAD
        values: dict[str, str] = {}
        for key, entry in entries.items():
            value = entry.node.value
            if not _VARIABLE.match(key):
                self.error(entry, s.BAD_VALUE, f"variable name {key!r} must match "
                                               f"{_VARIABLE.pattern}")
            elif not entry.node.is_scalar or value is None:
                self.error(entry.node, s.BAD_VALUE, f"variable {key!r} must be set to text "
                                                    f"or a number")
            else:
                values[key] = _scalar_text(value)
        return values if len(values) == len(entries) else _BAD

    def check_by(self, node: YNode, source: str) -> Any:
        found = self.word_set(node, "by",
                              lambda item, what: self.choice(item, what, _IDENTIFY_SOURCES))
        if found is _BAD:
            return _BAD
        items = node.value if node.is_list else [node]
        ordered = tuple(dict.fromkeys(item.value for item in items))
        if len(ordered) != len(items):
            return self.error(node, s.BAD_VALUE, "by lists a source twice")
        return ordered

    def check_branches(self, node: YNode, source: str) -> Any:
        if not node.is_list or not node.value:
            return self.error(node, s.BAD_VALUE, "branches must be a list of "
                                                 "{when: ..., next: node}")
        branches = []
        ok = True
        for item in node.value:
            values = self.fields(item, "a branch", _BRANCH_SPEC, source)
            if values is None:
                ok = False
                continue
            branches.append(s.Branch(when=values["when"], next=values["next"]))
        return tuple(branches) if ok else _BAD

    def check_when(self, node: YNode, source: str) -> Any:
        values = self.fields(node, "when", _WHEN_SPEC, source)
        if values is None:
            return _BAD
        if all(value is None or value == {} for value in values.values()):
            return self.error(node, s.BAD_VALUE, "when needs at least one test (known: "
                                                 f"{', '.join(sorted(_WHEN_SPEC))})")
        return s.Test(**values)

    def check_when_variables(self, node: YNode, source: str) -> Any:
        entries = self.mapping(node, "variables")
        if entries is None:
            return _BAD
        tests: dict[str, tuple[str, ...] | bool] = {}
        for key, entry in entries.items():
            value = entry.node
            if not _VARIABLE.match(key):
                self.error(entry, s.BAD_VALUE, f"variable name {key!r} must match "
                                               f"{_VARIABLE.pattern}")
            elif isinstance(value.value, bool):
                tests[key] = value.value  # true: the variable is set; false: it is not
            elif value.is_list and value.value and all(
                    i.is_scalar and i.value is not None for i in value.value):
                tests[key] = tuple(_scalar_text(i.value) for i in value.value)
            elif value.is_scalar and value.value is not None:
                tests[key] = (_scalar_text(value.value),)
            else:
                self.error(value, s.BAD_VALUE, f"variable test {key!r} must be a value, a "
                                               f"list of values, or true/false for set/unset")
        return tests if len(tests) == len(entries) else _BAD

    def check_wait_test(self, node: YNode, source: str) -> Any:
        if node.is_scalar:
            seconds = self.number(node, "estimated_wait_over", 0, 86_400)
            return _BAD if seconds is _BAD else s.WaitTest(None, seconds)
        values = self.fields(node, "estimated_wait_over", _WAIT_SPEC, source)
        if values is None:
            return _BAD
        return s.WaitTest(values["queue"], values["seconds"])

    def check_pattern(self, node: YNode, source: str) -> Any:
        value = self.text(node, "pattern")
        if value is _BAD:
            return value
        try:
            re.compile(value)
        except (re.error, RecursionError, OverflowError) as exc:
            return self.error(node, s.BAD_VALUE, f"pattern {value!r} is not a regular "
                                                 f"expression: {exc}")
        return value

    def check_digit(self, node: YNode, source: str) -> Any:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not re.fullmatch(r"[0-9*#]", value):
            return self.error(node, s.BAD_VALUE, f"accept_digit must be one key 0-9, * or # "
                                                 f"(got {_show(node.value)})")
        return value

    # -- references and the graph ---------------------------------------------------------

    def check_references(self) -> bool:
        ok = True
        for ref in self.refs:
            if ref.target not in self.node_ids:
                where = f"node {ref.source!r}" if ref.source else "start"
                self.error((ref.line, ref.column), s.MISSING_TARGET,
                           f"{where} goes to {ref.target!r}, which is not a node of this flow")
                ok = False
        return ok

    def check_graph(self, start: str, nodes: dict[str, s.Node] | None) -> None:
        edges: dict[str, list[_Ref]] = {node_id: [] for node_id in self.node_ids}
        for ref in self.refs:
            if ref.source:
                edges[ref.source].append(ref)
        reached = {start}
        todo = [start]
        while todo:
            for ref in edges[todo.pop()]:
                if ref.target not in reached:
                    reached.add(ref.target)
                    todo.append(ref.target)
        for node_id, entry in self.node_ids.items():
            if node_id not in reached:
                self.error(entry, s.UNREACHABLE_NODE,
                           f"node {node_id!r} cannot be reached from start {start!r}")
        self.check_loops(edges, nodes)
        if nodes is not None:
            self.check_queue_chosen(start, edges, reached, nodes)

    def check_loops(self, edges: dict[str, list[_Ref]], nodes: dict[str, s.Node] | None) -> None:
        """Report each cycle that passes only through nodes that never wait for the caller."""

        def passes_through(node_id: str) -> bool:
            node_type = self.node_types.get(node_id)
            if node_type in ("menu", "collect", "survey"):
                return False
            if node_type == "offer_callback":
                node = nodes.get(node_id) if nodes is not None else None
                # With a wait threshold the offer may be skipped without asking the caller.
                return isinstance(node, s.OfferCallbackNode) and node.when_wait_over is not None
            return True

        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for root in self.node_ids:
            if state.get(root) or not passes_through(root):
                continue
            path = [root]
            stack = [(root, iter(edges[root]))]
            state[root] = 1
            while stack:
                node_id, pending = stack[-1]
                ref = next(pending, None)
                if ref is None:
                    state[node_id] = 2
                    stack.pop()
                    path.pop()
                    continue
                if not passes_through(ref.target):
                    continue
                if state.get(ref.target) == 1:
                    loop = [*path[path.index(ref.target):], ref.target]
                    self.error((ref.line, ref.column), s.LOOP_WITHOUT_INPUT,
                               f"loop {' -> '.join(loop)} never waits for the caller; put a "
                               f"menu or collect node in it")
                elif not state.get(ref.target):
                    state[ref.target] = 1
                    path.append(ref.target)
                    stack.append((ref.target, iter(edges[ref.target])))

    def check_queue_chosen(self, start: str, edges: dict[str, list[_Ref]], reached: set[str],
                           nodes: dict[str, s.Node]) -> None:
        """Nodes that rely on a queue chosen by ``set`` must get one on every path."""
        predecessors: dict[str, set[str]] = {node_id: set() for node_id in nodes}
        for source, refs in edges.items():
            if source in reached:
                for ref in refs:
                    predecessors[ref.target].add(source)

        def chooses(node_id: str) -> bool:
            node = nodes[node_id]
            return isinstance(node, s.SetNode) and node.queue is not None

        # Greatest fixed point of "a queue is chosen on every path into the node".
        chosen_before = {node_id: node_id != start for node_id in reached}
        changed = True
        while changed:
            changed = False
            for node_id in reached:
                value = node_id != start and all(
                    chosen_before[p] or chooses(p) for p in predecessors[node_id])
                if value != chosen_before[node_id]:
                    chosen_before[node_id] = value
                    changed = True
        for node_id in sorted(reached, key=list(nodes).index):
            if chosen_before[node_id]:
                continue
            node = nodes[node_id]
            entry = self.node_ids[node_id]
            if isinstance(node, s.QueueNode | s.VoicemailNode | s.OfferCallbackNode):
                if node.queue is None:
                    self.error(entry, s.MISSING_FIELD,
                               f"node {node_id!r} ({node.type}) names no queue, and a path "
                               f"reaches it before any set node chose one")
            elif isinstance(node, s.ConditionNode):
                for branch in node.branches:
                    wait = branch.when.estimated_wait_over
                    if wait is not None and wait.queue is None:
                        self.error(entry, s.MISSING_FIELD,
                                   f"node {node_id!r}: estimated_wait_over names no queue, and "
                                   f"a path reaches it before any set node chose one")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ignore(checker: _FlowChecker, node: YNode, source: str) -> Any:
    return None


_IDENTIFY_SOURCES = ("ani", "account", "order")
_TOP_FIELDS = ("flow", "description", "entry", "languages", "prompts", "calendars", "start",
               "nodes")


def _f(method: str, *args: Any) -> FieldParser:
    """A field parser calling ``_FlowChecker.<method>(node, field_name, *args)``."""

    def parse(checker: _FlowChecker, node: YNode, source: str) -> Any:
        return getattr(checker, method)(node, *args)

    return parse


def _target(what: str) -> FieldParser:
    def parse(checker: _FlowChecker, node: YNode, source: str) -> Any:
        return checker.target(node, what, source)

    return parse


def _method(method: str) -> FieldParser:
    def parse(checker: _FlowChecker, node: YNode, source: str) -> Any:
        return getattr(checker, method)(node, source)

    return parse


def _retry_fields(timeout_default: float,
                  retries_default: int) -> dict[str, tuple[FieldParser, Any]]:
    return {
        "timeout_s": (_f("number", "timeout_s", 1, 3600), timeout_default),
        "retries": (_f("integer", "retries", 0, 9), retries_default),
        "invalid_prompt": (_f("prompt", "invalid_prompt"), None),
    }


_NODE_SPECS: dict[str, dict[str, tuple[FieldParser, Any]]] = {
    "menu": {
        "prompt": (_f("prompt", "prompt"), REQUIRED),
        "options": (_method("check_options"), REQUIRED),
        "keywords": (_method("check_keywords"), None),
        **_retry_fields(5.0, 2),
        "timeout_prompt": (_f("prompt", "timeout_prompt"), None),
        "invalid": (_target("invalid"), REQUIRED),
        "timeout": (_target("timeout"), None),
    },
    "collect": {
        "prompt": (_f("prompt", "prompt"), REQUIRED),
        "into": (_f("variable", "into"), REQUIRED),
        "min_digits": (_f("integer", "min_digits", 1, 64), 1),
        "max_digits": (_f("integer", "max_digits", 1, 64), 20),
        "pattern": (_method("check_pattern"), None),
        **_retry_fields(5.0, 2),
        "timeout_prompt": (_f("prompt", "timeout_prompt"), None),
        "mask": (_f("boolean", "mask"), False),
        "next": (_target("next"), REQUIRED),
        "invalid": (_target("invalid"), REQUIRED),
        "timeout": (_target("timeout"), None),
    },
    "identify": {
        "by": (_method("check_by"), ("ani",)),
        "account_variable": (_f("variable", "account_variable"), "account_number"),
        "order_variable": (_f("variable", "order_variable"), "order_number"),
        "found": (_target("found"), REQUIRED),
        "not_found": (_target("not_found"), REQUIRED),
    },
    "condition": {
        "branches": (_method("check_branches"), REQUIRED),
        "else": (_target("else"), REQUIRED),
    },
    "set": {
        "queue": (_f("queue", "queue"), None),
        "priority_boost": (_f("number", "priority_boost", 0, 3600), None),
        "required_skills": (_method("check_skills"), {}),
        "language": (_f("language", "language"), None),
        "variables": (_method("check_set_variables"), {}),
        "next": (_target("next"), REQUIRED),
    },
    "play": {
        "prompt": (_f("prompt", "prompt"), REQUIRED),
        "next": (_target("next"), REQUIRED),
    },
    "self_service": {
        "service": (_f("choice", "service", ("order_status", "ticket_status")), REQUIRED),
        "order_variable": (_f("variable", "order_variable"), "order_number"),
        "prompt": (_f("prompt", "prompt"), REQUIRED),
        "next": (_target("next"), REQUIRED),
        "not_found": (_target("not_found"), REQUIRED),
    },
    "offer_callback": {
        "queue": (_f("queue", "queue"), None),
        "prompt": (_f("prompt", "prompt"), REQUIRED),
        "accept_digit": (_method("check_digit"), "1"),
        "when_wait_over": (_f("number", "when_wait_over", 0, 86_400), None),
        "timeout_s": (_f("number", "timeout_s", 1, 3600), 5.0),
        "confirm_prompt": (_f("prompt", "confirm_prompt"), None),
        "number_variable": (_f("variable", "number_variable"), None),
        "declined": (_target("declined"), REQUIRED),
    },
    "voicemail": {
        "queue": (_f("queue", "queue"), None),
        "prompt": (_f("prompt", "prompt"), REQUIRED),
        "max_seconds": (_f("integer", "max_seconds", 5, 600), 120),
    },
    "survey": {
        "prompt": (_f("prompt", "prompt"), REQUIRED),
        "question": (_f("variable", "question"), "csat"),
        **_retry_fields(5.0, 1),
        "next": (_target("next"), REQUIRED),
        "invalid": (_target("invalid"), None),
    },
    "queue": {
        "queue": (_f("queue", "queue"), None),
        "prompt": (_f("prompt", "prompt"), None),
    },
    "transfer": {
        "target": (_f("text", "target"), REQUIRED),
        "prompt": (_f("prompt", "prompt"), None),
    },
    "hangup": {
        "prompt": (_f("prompt", "prompt"), None),
        "outcome": (_f("choice", "outcome", ("contained", "abandoned")), "contained"),
        "reason": (_f("variable", "reason"), "flow_end"),
    },
}

_BRANCH_SPEC: dict[str, tuple[FieldParser, Any]] = {
    "when": (_method("check_when"), REQUIRED),
    "next": (_target("next"), REQUIRED),
}

_WHEN_SPEC: dict[str, tuple[FieldParser, Any]] = {
    "tier": (lambda c, n, src: c.word_set(n, "tier", lambda i, w: c.choice(i, w, TIERS)), None),
    "key_account": (_f("boolean", "key_account"), None),
    "segment": (_f("word_set", "segment"), None),
    "identified": (_f("boolean", "identified"), None),
    "language": (lambda c, n, src: c.word_set(n, "language", c.language), None),
    "variables": (_method("check_when_variables"), {}),
    "open": (_f("calendar", "open"), None),
    "closed": (_f("calendar", "closed"), None),
    "estimated_wait_over": (_method("check_wait_test"), None),
}

_WAIT_SPEC: dict[str, tuple[FieldParser, Any]] = {
    "queue": (_f("queue", "queue"), None),
    "seconds": (_f("number", "seconds", 0, 86_400), REQUIRED),
}


# -- builders: checked field values -> node objects (plus cross-field checks) ----------


def _build_menu(c: _FlowChecker, node_id: str, v: dict[str, Any], entry: YEntry) -> s.Node | None:
    keywords: dict[str, str] = {}
    if v["keywords"] is not None:
        ok = True
        for key, key_entry in v["keywords"]["entries"].items():
            if key not in v["options"]:
                c.error(key_entry, s.BAD_VALUE, f"keywords for {key!r}, which is not an option")
                ok = False
        if not ok:
            return None
        keywords = v["keywords"]["words"]
    return s.MenuNode(id=node_id, prompt=v["prompt"], options=v["options"], keywords=keywords,
                      timeout_s=v["timeout_s"], retries=v["retries"],
                      invalid_prompt=v["invalid_prompt"], timeout_prompt=v["timeout_prompt"],
                      invalid=v["invalid"], timeout=v["timeout"])


def _build_collect(c: _FlowChecker, node_id: str, v: dict[str, Any],
                   entry: YEntry) -> s.Node | None:
    if v["min_digits"] > v["max_digits"]:
        c.error(entry.node.value["min_digits"].node, s.BAD_VALUE,
                f"min_digits {v['min_digits']} is above max_digits {v['max_digits']}")
        return None
    return s.CollectNode(id=node_id, **v)


def _build_condition(c: _FlowChecker, node_id: str, v: dict[str, Any],
                     entry: YEntry) -> s.Node | None:
    return s.ConditionNode(id=node_id, branches=v["branches"], otherwise=v["else"])


def _build_plain(cls: Any) -> Callable[[_FlowChecker, str, dict[str, Any], YEntry], s.Node | None]:
    def build(c: _FlowChecker, node_id: str, v: dict[str, Any], entry: YEntry) -> s.Node | None:
        return cls(id=node_id, **v)  # type: ignore[no-any-return]

    return build


def _build_survey(c: _FlowChecker, node_id: str, v: dict[str, Any],
                  entry: YEntry) -> s.Node | None:
    return s.SurveyNode(id=node_id, **{**v, "invalid": v["invalid"] or v["next"]})


_BUILDERS: dict[str, Callable[[_FlowChecker, str, dict[str, Any], YEntry], s.Node | None]] = {
    "menu": _build_menu,
    "collect": _build_collect,
    "identify": _build_plain(s.IdentifyNode),
    "condition": _build_condition,
    "set": _build_plain(s.SetNode),
    "play": _build_plain(s.PlayNode),
    "self_service": _build_plain(s.SelfServiceNode),
    "offer_callback": _build_plain(s.OfferCallbackNode),
    "voicemail": _build_plain(s.VoicemailNode),
    "survey": _build_survey,
    "queue": _build_plain(s.QueueNode),
    "transfer": _build_plain(s.TransferNode),
    "hangup": _build_plain(s.HangupNode),
}


# -- public entry points --------------------------------------------------------------


def check_flow_text(text: str, file: str = "<flow>") -> tuple[s.Flow | None, list[FlowError]]:
    """Validate one flow file's text: the flow when valid, else every error found."""
    flow, errors = _check_text(text, file)
    return flow.flow, errors


def _check_text(text: str, file: str) -> tuple[_Draft, list[FlowError]]:
    version = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    tree, errors = parse_yaml(text, file)
    if errors:
        return _Draft(file, None, None, (1, 1)), _ordered_errors(errors)
    checker = _FlowChecker(file, version)
    draft = checker.check(tree)
    return draft, _ordered_errors(checker.errors)


def flow_files(path: Path) -> tuple[list[Path], list[FlowError]]:
    """The ``*.yaml`` files of a folder (sorted), or the single file given."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.yaml") if p.is_file())
        if not files:
            return [], [FlowError(str(path), 1, 1, s.NOT_FOUND,
                                  "no *.yaml flow files in this folder")]
        return files, []
    if path.is_file():
        return [path], []
    return [], [FlowError(str(path), 1, 1, s.NOT_FOUND, "no such file or folder")]


def check_flow_set(path: Path) -> tuple[s.FlowSet | None, list[FlowError]]:
    """Validate a file or a folder of flows: the flow set when all is valid, else errors."""
    files, errors = flow_files(path)
    drafts: list[_Draft] = []
    for file in files:
        name = str(file)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            errors.append(FlowError(name, 1, 1, s.NOT_FOUND, f"cannot read: {exc.strerror}"))
            continue
        if len(raw) > _MAX_FILE_BYTES:
            errors.append(FlowError(name, 1, 1, s.BAD_VALUE,
                                    f"file is larger than {_MAX_FILE_BYTES} bytes"))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(FlowError(name, 1, 1, s.YAML_SYNTAX,
                                    f"not UTF-8 text (byte {exc.start})"))
            continue
        draft, file_errors = _check_text(text, name)
        errors.extend(file_errors)
        drafts.append(draft)
    names: dict[str, str] = {}
    entries: dict[str, str] = {}
    for draft in drafts:
        if draft.name is not None:
            if draft.name in names:
                errors.append(FlowError(draft.file, *draft.name_position, s.DUPLICATE_FLOW,
                                        f"flow {draft.name!r} is also defined in "
                                        f"{names[draft.name]}"))
            else:
                names[draft.name] = draft.file
        for entry, line, column in draft.entries:
            if entry in entries:
                errors.append(FlowError(draft.file, line, column, s.DUPLICATE_ENTRY,
                                        f"entry {entry!r} is already taken by {entries[entry]}"))
            else:
                entries[entry] = draft.file
    if errors:
        return None, _ordered_errors(errors)
    flows = {d.flow.name: d.flow for d in drafts if d.flow is not None}
    return s.FlowSet(flows), []


def validate(path: Path) -> list[FlowError]:
    """Every error in a flow file or folder, sorted by file, line and column; [] when valid."""
    return check_flow_set(path)[1]
