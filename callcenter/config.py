"""Typed configuration: built-in defaults < ``config/*.toml`` < ``CALLCENTER_*`` env.

Every section is a frozen dataclass. Unknown keys and bad values fail at start-up
with a :class:`~callcenter.errors.ConfigError` naming the key and the reason.

Environment variables are ``CALLCENTER_<SECTION>_<KEY>`` (for example
``CALLCENTER_SERVER_PORT=9000`` or ``CALLCENTER_STORE_URL=postgresql+asyncpg://...``);
mappings and lists are given as JSON. ``CALLCENTER_CONFIG`` names a single TOML file
to read instead of the ``config/`` folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.errors import ConfigError

ENV_PREFIX = "CALLCENTER_"
TIERS = ("standard", "silver", "gold", "key", "strategic")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1_048_576
    drain_timeout_s: float = 10.0
    public_url: str = ""

    def check(self) -> dict[str, str]:
        errors = {}
        if not 0 <= self.port <= 65535:
            errors["port"] = "must be between 0 and 65535"
        if self.max_body_bytes < 1024:
            errors["max_body_bytes"] = "must be at least 1024"
        if self.drain_timeout_s < 0:
            errors["drain_timeout_s"] = "must not be negative"
        return errors


@dataclass(frozen=True, slots=True)
class StoreConfig:
    url: str = "sqlite+aiosqlite:///var/callcenter.db"
    pool_size: int = 5
    group_commit_max: int = 256
    echo: bool = False

    def check(self) -> dict[str, str]:
        errors = {}
        if not self.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            errors["url"] = "must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        if self.pool_size < 1:
            errors["pool_size"] = "must be at least 1"
        if self.group_commit_max < 1:
            errors["group_commit_max"] = "must be at least 1"
        return errors


@dataclass(frozen=True, slots=True)
class MqttConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "callcenter"
    pbx: str = "pbx1"
    client_id: str = "callcenter-server"
    keepalive_s: int = 30
    outbox_limit: int = 10_000

    def check(self) -> dict[str, str]:
        errors = {}
        if not 1 <= self.port <= 65535:
            errors["port"] = "must be between 1 and 65535"
        if not self.prefix or any(c in self.prefix for c in "#+"):
            errors["prefix"] = "must be a non-empty topic level without wildcards"
        if self.outbox_limit < 1:
            errors["outbox_limit"] = "must be at least 1"
        return errors


def _default_head_starts() -> dict[str, float]:
    return {"standard": 0.0, "silver": 15.0, "gold": 30.0, "key": 60.0, "strategic": 120.0}


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    head_starts: dict[str, float] = field(default_factory=_default_head_starts)
    reject_exclusion_s: float = 60.0
    short_abandon_s: float = 5.0

    def check(self) -> dict[str, str]:
        errors = {}
        unknown = sorted(set(self.head_starts) - set(TIERS))
        if unknown:
            errors["head_starts"] = f"unknown tier {unknown[0]!r} (tiers: {', '.join(TIERS)})"
        elif any(v < 0 or v > 3600 for v in self.head_starts.values()):
            errors["head_starts"] = "head starts must be between 0 and 3600 seconds"
        if self.reject_exclusion_s < 0:
            errors["reject_exclusion_s"] = "must not be negative"
        if self.short_abandon_s < 0:
            errors["short_abandon_s"] = "must not be negative"
        return errors


@dataclass(frozen=True, slots=True)
class CenterConfig:
    name: str = "Demo Shop Service Center"
    time_zone: str = "Asia/Shanghai"

    def check(self) -> dict[str, str]:
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return {"time_zone": f"unknown time zone {self.time_zone!r}"}
        return {}


@dataclass(frozen=True, slots=True)
class AuthConfig:
    token_ttl_s: int = 12 * 3600
    ws_auth_timeout_s: float = 5.0

    def check(self) -> dict[str, str]:
        errors = {}
        if self.token_ttl_s < 60:
            errors["token_ttl_s"] = "must be at least 60"
        if self.ws_auth_timeout_s <= 0:
            errors["ws_auth_timeout_s"] = "must be positive"
        return errors


@dataclass(frozen=True, slots=True)
class AgentWsConfig:
    heartbeat_s: float = 20.0
    disconnect_grace_s: float = 30.0

    def check(self) -> dict[str, str]:
        errors = {}
        if self.heartbeat_s <= 0:
            errors["heartbeat_s"] = "must be positive"
        if self.disconnect_grace_s < 0:
            errors["disconnect_grace_s"] = "must not be negative"
        return errors


@dataclass(frozen=True, slots=True)
class IvrConfig:
    flows_dir: str = "ivr_flows"

    def check(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "info"
    json: bool = True

    def check(self) -> dict[str, str]:
        if self.level not in ("debug", "info", "warning", "error"):
            return {"level": "must be one of debug, info, warning, error"}
        return {}


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    center: CenterConfig = field(default_factory=CenterConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    agent_ws: AgentWsConfig = field(default_factory=AgentWsConfig)
    ivr: IvrConfig = field(default_factory=IvrConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def replace(self, **sections: Any) -> Config:
        """A copy with whole sections or ``section__key`` values replaced (tests, CLI)."""
        by_section: dict[str, dict[str, Any]] = {}
        plain: dict[str, Any] = {}
        for name, value in sections.items():
            if "__" in name:
                section, key = name.split("__", 1)
                by_section.setdefault(section, {})[key] = value
            else:
                plain[name] = value
        for section, values in by_section.items():
            plain[section] = dataclasses.replace(getattr(self, section), **values)
        return dataclasses.replace(self, **plain)


_SECTIONS: dict[str, type] = {f.name: typing.cast(type, f.type) for f in dataclasses.fields(Config)}


def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(Config)
    return {name: hints[name] for name in _SECTIONS}


def _coerce(key: str, hint: Any, value: Any, *, from_env: bool) -> Any:
    """Check ``value`` against the type ``hint``; env strings are parsed first."""
    origin = typing.get_origin(hint)
    if from_env and isinstance(value, str):
        if hint is bool:
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{key}: expected a boolean (true/false), got {value!r}")
        if hint is int:
            try:
                return int(value)
            except ValueError:
                raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
        if hint is float:
            try:
                return float(value)
            except ValueError:
                raise ConfigError(f"{key}: expected a number, got {value!r}") from None
        if origin in (dict, list):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{key}: expected JSON, {exc.msg}") from None
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected a boolean, got {type(value).__name__}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {type(value).__name__}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {type(value).__name__}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {type(value).__name__}")
        return value
    if origin is dict:
        _, value_hint = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {type(value).__name__}")
        return {str(k): _coerce(f"{key}.{k}", value_hint, v, from_env=False)
                for k, v in value.items()}
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__}")
        return [_coerce(f"{key}[{i}]", item_hint, v, from_env=False) for i, v in enumerate(value)]
    if isinstance(hint, types.UnionType):  # pragma: no cover - no optional fields yet
        return value
    raise ConfigError(f"{key}: unsupported type {hint!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def default_config_dir() -> Path:
    """``config/`` of the working directory, else the one beside the package."""
    cwd = Path.cwd() / "config"
    if cwd.is_dir():
        return cwd
    return Path(__file__).resolve().parent.parent / "config"


def load_config(
    files: list[Path] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Build the configuration: defaults, then TOML files in order, then the environment."""
    env = os.environ if env is None else env
    if files is None:
        if env.get("CALLCENTER_CONFIG"):
            files = [Path(env["CALLCENTER_CONFIG"])]
        else:
            folder = default_config_dir()
            files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    section_types = _section_types()
    values: dict[str, dict[str, Any]] = {name: {} for name in section_types}

    def put(section: str, key: str, raw: Any, source: str, *, from_env: bool) -> None:
        cls = section_types[section]
        hints = typing.get_type_hints(cls)
        if key not in hints:
            known = ", ".join(sorted(hints))
            raise ConfigError(f"{source}: unknown key {section}.{key} (known: {known})")
        values[section][key] = _coerce(f"{source}: {section}.{key}", hints[key], raw,
                                       from_env=from_env)

    for path in files:
        data = _read_toml(path)
        for section, table in data.items():
            if section not in section_types:
                known = ", ".join(sorted(section_types))
                raise ConfigError(f"{path}: unknown section [{section}] (known: {known})")
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: [{section}] must be a table")
            for key, raw in table.items():
                put(section, key, raw, str(path), from_env=False)

    for name, raw in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name == "CALLCENTER_CONFIG":
            continue
        rest = name[len(ENV_PREFIX):].lower()
        env_section = next((s for s in section_types if rest.startswith(s + "_")), None)
        if env_section is None:
            raise ConfigError(f"environment {name}: unknown section "
                              f"(known: {', '.join(sorted(section_types))})")
        put(env_section, rest[len(env_section) + 1:], raw, f"environment {name}",
            from_env=True)

    sections: dict[str, Any] = {}
    for section, cls in section_types.items():
        instance = cls(**values[section])
        for key, reason in instance.check().items():
            raise ConfigError(f"{section}.{key}: {reason} (got {getattr(instance, key)!r})")
        sections[section] = instance
    return Config(**sections)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``callcenter config``: print the effective configuration as JSON."""


def run(args: argparse.Namespace, config: Config) -> int:
    print(json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True))
    return 0
