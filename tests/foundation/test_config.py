"""Configuration: defaults < config/*.toml < CALLCENTER_* environment; bad input fails loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.config import Config, load_config
from callcenter.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_files_or_environment() -> None:
    config = load_config(files=[], env={})
    assert config == Config()
    assert config.routing.head_starts["key"] == 60.0
    assert config.store.url.startswith("sqlite+aiosqlite://")


def test_shipped_config_folder_loads() -> None:
    config = load_config(env={})
    assert config.center.time_zone == "Asia/Shanghai"


def test_toml_overrides_defaults_and_environment_overrides_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 9001\nhost = '0.0.0.0'\n")
    config = load_config(files=[path], env={"CALLCENTER_SERVER_PORT": "9002"})
    assert config.server.port == 9002
    assert config.server.host == "0.0.0.0"


def test_later_file_wins(tmp_path: Path) -> None:
    first = write(tmp_path, "[server]\nport = 9001\n", "a.toml")
    second = write(tmp_path, "[server]\nport = 9003\n", "b.toml")
    assert load_config(files=[first, second], env={}).server.port == 9003


def test_environment_parses_booleans_numbers_and_json_tables() -> None:
    config = load_config(files=[], env={
        "CALLCENTER_MQTT_ENABLED": "false",
        "CALLCENTER_ROUTING_SHORT_ABANDON_S": "7.5",
        "CALLCENTER_ROUTING_HEAD_STARTS": '{"key": 90, "gold": 20}',
    })
    assert config.mqtt.enabled is False
    assert config.routing.short_abandon_s == 7.5
    assert config.routing.head_starts == {"key": 90.0, "gold": 20.0}


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[center]\ntime_zone = 'Europe/Berlin'\n")
    config = load_config(env={"CALLCENTER_CONFIG": str(path)})
    assert config.center.time_zone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nprot = 1\n", "unknown key server.prot"),
        ("[sever]\nport = 1\n", "unknown section [sever]"),
        ("[server]\nport = 'eighty'\n", "server.port: expected an integer, got str"),
        ("[server]\nport = 70000\n", "server.port: must be between 0 and 65535"),
        ("[center]\ntime_zone = 'Mars/Olympus'\n", "center.time_zone: unknown time zone"),
        ("[routing]\nhead_starts = { vip = 10 }\n", "routing.head_starts: unknown tier 'vip'"),
        ("[store]\nurl = 'mysql://x'\n", "store.url: must start with"),
        ("[log]\nlevel = 'loud'\n", "log.level: must be one of"),
        ("[mqtt]\nenabled = 1\n", "mqtt.enabled: expected a boolean"),
        ("[server\nport = 1\n", "not valid TOML"),
    ],
)
def test_bad_file_value_names_key_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(files=[path], env={})
    assert expected in str(info.value)
    assert info.value.code == "config.invalid"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"CALLCENTER_SERVER_PORT": "80x"},
            "CALLCENTER_SERVER_PORT: server.port: expected an integer",
        ),
        ({"CALLCENTER_SERVR_PORT": "80"}, "CALLCENTER_SERVR_PORT: unknown section"),
        ({"CALLCENTER_SERVER_COLOUR": "red"}, "unknown key server.colour"),
        ({"CALLCENTER_MQTT_ENABLED": "maybe"}, "expected a boolean"),
        ({"CALLCENTER_ROUTING_HEAD_STARTS": "{key: 1"}, "routing.head_starts: expected JSON"),
    ],
)
def test_bad_environment_value_names_variable_and_reason(
    env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(files=[], env=env)
    assert expected in str(info.value)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(files=[tmp_path / "nope.toml"], env={})


def test_cli_reports_bad_config_with_code_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "[server]\nport = -1\n")
    assert main(["--config", str(path), "config"]) == 2
    err = capsys.readouterr().err
    assert "[config.invalid]" in err
    assert "server.port: must be between 0 and 65535 (got -1)" in err


def test_cli_prints_effective_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[server]\nport = 9123\n")
    monkeypatch.setenv("CALLCENTER_CENTER_NAME", "Night shift")
    assert main(["--config", str(path), "config"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["server"]["port"] == 9123
    assert shown["center"]["name"] == "Night shift"
