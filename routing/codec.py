"""Events and commands to plain JSON-able dicts and back.

A dict carries the class name under "kind" and every field by name; tuples
become lists, nested dataclasses become dicts. Decoding checks types against
the dataclass annotations, so a journal entry that no longer fits raises
`InvalidEvent` rather than building a half-valid event.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from routing.commands import COMMAND_TYPES, Command
from routing.errors import InvalidEvent
from routing.events import EVENT_TYPES, Event

_EVENTS: dict[str, type[Any]] = {cls.__name__: cls for cls in EVENT_TYPES}
_COMMANDS: dict[str, type[Any]] = {cls.__name__: cls for cls in COMMAND_TYPES}

T = TypeVar("T")


def to_plain(value: Any) -> Any:
    """A dataclass (or container of them) as JSON-able data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _fail(path: str, expected: str, value: Any) -> InvalidEvent:
    return InvalidEvent(f"{path}: expected {expected}, got {value!r}")


def _decode(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Union or origin is types.UnionType:
        args = get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise _fail(path, str(tp), value)
        errors: list[InvalidEvent] = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _decode(arg, value, path)
            except InvalidEvent as exc:
                errors.append(exc)
        raise errors[0] if errors else _fail(path, str(tp), value)
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise _fail(path, f"one of {get_args(tp)}", value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _fail(path, "a list", value)
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise _fail(path, f"{len(args)} items", value)
        return tuple(
            _decode(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is dict or origin is typing.Mapping:
        if not isinstance(value, dict):
            raise _fail(path, "an object", value)
        key_tp, val_tp = get_args(tp)
        return {
            _decode(key_tp, k, path): _decode(val_tp, v, f"{path}.{k}") for k, v in value.items()
        }
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, value, path)
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _fail(path, "a number", value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _fail(path, "an integer", value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _fail(path, "a boolean", value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _fail(path, "a string", value)
    raise _fail(path, str(tp), value)


def _decode_dataclass(cls: type[T], value: Any, path: str) -> T:
    if not isinstance(value, dict):
        raise _fail(path, f"an object for {cls.__name__}", value)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in value:
            kwargs[f.name] = _decode(hints[f.name], value[f.name], f"{path}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InvalidEvent(f"{path}.{f.name}: missing")
    unknown = set(value) - {f.name for f in dataclasses.fields(cls)} - {"kind"}  # type: ignore[arg-type]
    if unknown:
        raise InvalidEvent(f"{path}: unknown fields {sorted(unknown)}")
    return cls(**kwargs)


def from_plain(cls: type[T], value: Any) -> T:
    """Inverse of `to_plain` for one dataclass type (e.g. `QueueConfig`)."""
    return _decode_dataclass(cls, value, cls.__name__)


def event_to_dict(event: Event) -> dict[str, Any]:
    """An event as a JSON-able dict with a "kind" key."""
    data: dict[str, Any] = {"kind": type(event).__name__}
    data.update(to_plain(event))
    return data


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of `event_to_dict`; `InvalidEvent` on anything that does not fit."""
    cls = _EVENTS.get(data.get("kind", "")) if isinstance(data, dict) else None
    if cls is None:
        raise InvalidEvent(f"unknown event kind in {data!r}")
    event: Event = _decode_dataclass(cls, data, cls.__name__)
    return event


def command_to_dict(command: Command) -> dict[str, Any]:
    """A command as a JSON-able dict with a "kind" key."""
    data: dict[str, Any] = {"kind": type(command).__name__}
    data.update(to_plain(command))
    return data


def command_from_dict(data: dict[str, Any]) -> Command:
    """Inverse of `command_to_dict`."""
    cls = _COMMANDS.get(data.get("kind", "")) if isinstance(data, dict) else None
    if cls is None:
        raise InvalidEvent(f"unknown command kind in {data!r}")
    command: Command = _decode_dataclass(cls, data, cls.__name__)
    return command
