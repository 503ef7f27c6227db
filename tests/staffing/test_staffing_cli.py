"""Staffing table, dashboard JSON API, chat/email approximations and ``callcenter staffing``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.staffing import (
    StaffingError,
    agents_for_service_level,
    chat_agents_required,
    email_agents_required,
    erlang_a,
    erlang_c,
    forecast_staffing,
    staffing_table,
)

# 100 calls per 30 minutes, AHT 180 s, 80/20: 14 agents (see test_erlang.py for the source)
EXAMPLE = ["--calls-per-interval", "100", "--interval-s", "1800", "--aht-s", "180",
           "--target-sl", "0.8", "--target-s", "20"]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """An empty configuration: built-in defaults (short_abandon_s = 5)."""
    path = tmp_path / "empty.toml"
    path.write_text("")
    return path


def test_table_marks_the_required_row_and_spans_it() -> None:
    rows = staffing_table(100 / 1800, 180.0, 0.8, 20.0)
    assert [row.agents for row in rows] == list(range(11, 18))  # stable 11 .. 14 + 3
    assert [row.agents for row in rows if row.required] == [14]
    assert [row.meets_target for row in rows] == [False, False, False, True, True, True, True]
    assert all(row.p_abandon is None for row in rows)
    assert rows[0].service_level == pytest.approx(erlang_c(11, 100 / 1800, 180.0)
                                                  .service_level(20.0))


def test_erlang_a_table_has_abandonment_and_uses_the_short_abandon_threshold() -> None:
    rows = staffing_table(100 / 1800, 180.0, 0.8, 20.0, patience_s=120.0, short_abandon_s=5.0)
    required = next(row for row in rows if row.required)
    model = erlang_a(required.agents, 100 / 1800, 180.0, 120.0)
    assert required.p_abandon == pytest.approx(model.p_abandon)
    assert required.service_level == pytest.approx(model.service_level(20.0, 5.0))
    assert required.service_level >= 0.8
    before = [row for row in rows if row.agents == required.agents - 1]
    assert before and before[0].service_level < 0.8
    assert required.agents == agents_for_service_level(100 / 1800, 180.0, 0.8, 20.0, 120.0,
                                                       short_abandon_s=5.0)


def test_forecast_staffing_is_json_and_uses_the_window_rate() -> None:
    body = forecast_staffing(100, 1800.0, 180.0, 0.8, 20.0)
    text = json.dumps(body, allow_nan=False)  # strict JSON: no NaN or Infinity
    again = json.loads(text)
    assert again["model"] == "erlang_c"
    assert again["inputs"]["arrival_rate_per_s"] == pytest.approx(100 / 1800)
    assert again["offered_load_erlangs"] == pytest.approx(10.0)
    assert again["agents_required"] == 14
    required = [row for row in again["rows"] if row["required"]]
    assert [row["agents"] for row in required] == [14]
    assert required[0]["service_level"] == pytest.approx(0.88835, abs=5e-5)
    assert required[0]["p_abandon"] is None


def test_forecast_staffing_with_patience_and_with_no_arrivals() -> None:
    body = forecast_staffing(300, 900.0, 240.0, 0.8, 30.0, patience_s=90.0, short_abandon_s=5.0)
    json.dumps(body, allow_nan=False)
    assert body["model"] == "erlang_a"
    assert "abandoned within 5 s" in body["service_level_definition"]
    assert all(0 <= row["p_abandon"] <= 1 for row in body["rows"])
    assert body["agents_required"] == agents_for_service_level(
        300 / 900, 240.0, 0.8, 30.0, 90.0, short_abandon_s=5.0)
    quiet = forecast_staffing(0, 900.0, 240.0, 0.8, 30.0)
    assert quiet["agents_required"] == 0
    assert quiet["rows"] == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"arrivals_in_window": -1},
        {"arrivals_in_window": 2.5},
        {"window_s": 0.0},
        {"aht_s": -3.0},
        {"target_sl": 0.0},
        {"target_sl": 80.0},
        {"patience_s": -1.0},
    ],
)
def test_forecast_staffing_rejects_bad_input(kwargs: dict[str, float]) -> None:
    args = {"arrivals_in_window": 10, "window_s": 900.0, "aht_s": 200.0, "target_sl": 0.8,
            "target_s": 20.0} | kwargs
    with pytest.raises(StaffingError) as caught:
        forecast_staffing(**args)  # type: ignore[arg-type]
    assert caught.value.code == "staffing.invalid_input"


def test_chat_approximation_divides_servers_by_concurrency() -> None:
    slots = agents_for_service_level(0.05, 400.0, 0.8, 60.0)  # 20 Erlangs of chat
    assert chat_agents_required(0.05, 400.0, 3, 0.8, 60.0) == math.ceil(slots / 3)
    assert chat_agents_required(0.05, 400.0, 1, 0.8, 60.0) == slots
    with pytest.raises(StaffingError):
        chat_agents_required(0.05, 400.0, 0, 0.8, 60.0)


def test_email_approximation_is_workload_over_productive_time() -> None:
    # 120 emails in 1 hour at 6 min each = 12 hours of work; at 80% occupancy 15 agents
    assert email_agents_required(120, 3600.0, 360.0, target_occupancy=0.8) == 15
    # a backlog of 40 adds 4 hours of work: 16 h / 0.8 = 20 agents
    assert email_agents_required(120, 3600.0, 360.0, backlog=40, target_occupancy=0.8) == 20
    assert email_agents_required(0, 3600.0, 360.0) == 0
    assert email_agents_required(1, 3600.0, 360.0) == 1
    with pytest.raises(StaffingError):
        email_agents_required(10, 3600.0, 360.0, target_occupancy=1.5)


# ------------------------------------------------------------------------------ CLI


def test_cli_prints_a_table_with_the_required_row(
    capsys: pytest.CaptureFixture[str], config_file: Path
) -> None:
    assert main(["--config", str(config_file), "staffing", *EXAMPLE]) == 0
    out = capsys.readouterr().out
    assert "Erlang C" in out
    required_lines = [line for line in out.splitlines() if "required" in line and "14" in line]
    assert required_lines, out
    assert "88.8%" in required_lines[0]  # SL within 20 s at 14 agents
    assert "required: 14 agents" in out
    header = next(line for line in out.splitlines() if "agents" in line and "P(wait)" in line)
    assert "abandon" not in header  # no abandon column for Erlang C


def test_cli_json_output(capsys: pytest.CaptureFixture[str], config_file: Path) -> None:
    assert main(["--config", str(config_file), "staffing", *EXAMPLE, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["agents_required"] == 14
    assert [row["agents"] for row in body["rows"]] == list(range(11, 18))
    row_13 = next(row for row in body["rows"] if row["agents"] == 13)
    assert row_13["service_level"] == pytest.approx(0.7955948, abs=5e-5)
    assert row_13["asa_s"] == pytest.approx(17.1162271821896, abs=5e-5)


def test_cli_erlang_a_uses_the_configured_short_abandon_threshold(
    capsys: pytest.CaptureFixture[str], config_file: Path
) -> None:
    argv = ["--config", str(config_file), "staffing", *EXAMPLE, "--patience-s", "60"]
    assert main([*argv, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["model"] == "erlang_a"
    assert body["inputs"]["short_abandon_s"] == 5.0  # routing.short_abandon_s default
    assert body["agents_required"] == agents_for_service_level(
        100 / 1800, 180.0, 0.8, 20.0, 60.0, short_abandon_s=5.0)
    assert all(row["p_abandon"] is not None for row in body["rows"])
    assert main(argv) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "agents" in line and "P(wait)" in line)
    assert "abandon" in header
    assert "Erlang A" in out
    assert "abandoned within 5 s" in out


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"--aht-s": "-180"}, "staffing.invalid_input"),
        ({"--calls-per-interval": "0"}, "staffing.invalid_input"),
        ({"--interval-s": "0"}, "staffing.invalid_input"),
        ({"--target-sl": "1.2"}, "staffing.invalid_input"),
        ({"--target-s": "nan"}, "staffing.invalid_input"),
        ({"--patience-s": "0"}, "staffing.invalid_input"),
        ({"--max-agents": "5"}, "staffing.target_unreachable"),
    ],
)
def test_cli_bad_input_exits_2_with_the_code(
    capsys: pytest.CaptureFixture[str], config_file: Path, changes: dict[str, str], code: str
) -> None:
    argv = list(EXAMPLE)
    for flag, value in changes.items():
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    assert main(["--config", str(config_file), "staffing", *argv]) == 2
    captured = capsys.readouterr()
    assert f"[{code}]" in captured.err
    assert captured.out == ""
