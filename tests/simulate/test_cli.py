"""`callcenter simulate` and `callcenter whatif` end to end, and the SVG charts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.sim_chart import Series, line_chart, nice_ticks
from callcenter.simulate import DEFAULT_SCENARIO, load_policy, load_scenario, parse_scenario
from callcenter.traffic import TrafficError, local_time
from callcenter.whatif import compare

from .scenarios import two_tier_data

REPO = Path(__file__).resolve().parents[2]

SCENARIO = """
[sim]
date = "2026-03-02"
time_zone = "Europe/Berlin"
traffic = ["09:00", "11:00"]
ring = { dist = "none" }

[routing]
head_starts = { key = 60 }

[[queues]]
name = "voice"
channel = "voice"
sl_target_s = 20
wrap_up_s = 10
arrivals = [["09:00", 80]]
handle = { dist = "exponential", mean_s = 170 }
patience = { dist = "exponential", mean_s = 300 }
tiers = { standard = 0.8, key = 0.2 }

[[agents]]
name = "team"
count = 4
shift = ["08:30", "12:00"]
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "sim.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_simulate_prints_the_dashboard_table_and_writes_the_chart(
        scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    csv_path = tmp_path / "intervals.csv"
    assert main(["simulate", "--config-file", str(scenario_file), "--seed", "4",
                 "--out", str(out), "--intervals", str(csv_path)]) == 0
    text = capsys.readouterr().out
    for label in ("SL (all)", "SL (served)", "ASA", "Abandon", "AHT", "Occupancy", "voice"):
        assert label in text
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "SL (all) per interval" in page
    assert "Contacts waiting" in page
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("interval_start,interval_end,group_by,key,offered")
    assert len(lines) == 1 + 8  # 09:00-11:00 in quarter hours, one queue


def test_simulate_json_has_queue_tier_and_interval_figures(
        scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--config-file", str(scenario_file), "--seed", "4", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    (queue,) = body["queues"]
    assert queue["queue"] == "voice" and queue["offered"] > 100
    assert 0 <= queue["sl_served"] <= 1 and queue["sl_all"] <= queue["sl_served"]
    assert set(body["tiers"]) == {"standard", "key"}
    assert sum(row["offered"] for row in body["intervals"]) == queue["offered"]
    assert body["intervals"][0]["interval_start"].startswith("2026-03-02T09:00:00+01:00")
    again = json.loads(_run_json(["simulate", "--config-file", str(scenario_file), "--seed", "4",
                                  "--json"], capsys))
    assert again == body  # deterministic


def _run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_simulate_replays_a_trace_it_wrote(scenario_file: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.csv"
    first = json.loads(_run_json(["simulate", "--config-file", str(scenario_file), "--json",
                                  "--write-trace", str(trace)], capsys))
    replay = json.loads(_run_json(["simulate", "--config-file", str(scenario_file), "--json",
                                   "--trace", str(trace)], capsys))
    assert replay["queues"][0]["offered"] == first["queues"][0]["offered"]
    assert replay["queues"][0]["answered"] == first["queues"][0]["answered"]
    assert replay["queues"][0]["asa_s"] == pytest.approx(first["queues"][0]["asa_s"], abs=0.01)


def test_bad_trace_row_exits_2_with_file_line_and_code(
        scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "bad.csv"
    trace.write_text("time,queue,tier\n09:00:00,voice,key\n09:00:05,voice,platinum\n",
                     encoding="utf-8")
    for command in ("simulate", "whatif"):
        extra = ["--policy", "name=A"] if command == "whatif" else []
        code = main([command, "--config-file", str(scenario_file), "--trace", str(trace), *extra])
        assert code == 2
        err = capsys.readouterr().err
        assert f"error [trace.bad_row]: {trace}:3: unknown tier 'platinum'" in err


def test_bad_scenario_exits_2_with_the_key(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SCENARIO.replace('mean_s = 170', 'mean_s = -1'), encoding="utf-8")
    assert main(["simulate", "--config-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "error [sim.invalid_config]" in err and "queues[0].handle.mean_s" in err


def test_whatif_table_compares_policies_on_the_same_trace(
        scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "fifo.toml"
    policy.write_text('name = "fifo"\nhead_starts = { key = 0 }\n', encoding="utf-8")
    out = tmp_path / "whatif.html"
    assert main(["whatif", "--config-file", str(scenario_file), "--seed", "2",
                 "--policy", str(policy), "--policy", "name=boost,boost.key=240",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for label in ("fifo", "boost", "SL (all), key", "ASA, standard", "Abandon", "Occupancy",
                  "Fairness: standard wait, p90"):
        assert label in text
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "boosts key=240s" in page


def test_whatif_json_head_start_trades_standard_wait_for_key_wait(
        scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = json.loads(_run_json(["whatif", "--config-file", str(scenario_file), "--seed", "2",
                                 "--json", "--policy", "name=fifo,boost.key=0",
                                 "--policy", "name=boost,boost.key=600"], capsys))
    fifo, boost = body["policies"]
    assert fifo["tiers"]["key"]["offered"] == boost["tiers"]["key"]["offered"] > 10
    assert boost["tiers"]["key"]["asa_s"] < fifo["tiers"]["key"]["asa_s"]
    assert boost["fairness"]["standard_wait_mean_s"] > fifo["fairness"]["standard_wait_mean_s"]


def test_more_staff_in_a_policy_raises_service_level() -> None:
    scenario = parse_scenario(two_tier_data())
    arrivals = scenario.arrivals(5)
    lean, rich = compare(scenario, arrivals, [load_policy("name=lean", "A"),
                                              load_policy("name=rich,staff.a=6", "B")], seed=5)
    assert rich.overall["sl_all"] > lean.overall["sl_all"]
    assert rich.occupancy is not None and lean.occupancy is not None
    assert rich.occupancy < lean.occupancy <= 1


def test_shipped_scenario_and_policies_load() -> None:
    scenario = load_scenario(DEFAULT_SCENARIO)
    assert sum(g.count for g in scenario.agents) == 100
    assert {q.channel for q in scenario.queues} == {"voice", "chat", "email"}
    for name in ("policy_fifo.toml", "policy_key_first.toml"):
        load_policy(str(REPO / "config" / "sim" / name), "P").apply(scenario)
    trace = REPO / "config" / "sim" / "example_trace.csv"
    assert len(scenario.read_trace(trace)) > 100


def test_line_chart_is_well_formed_svg_with_every_series() -> None:
    start = local_time(date(2026, 3, 2), "08:00", "Asia/Shanghai")
    svg = line_chart([Series("voice", [(start, 80.0), (start + 900, 95.5)]),
                      Series("chat <b>", [(start, 60.0), (start + 900, 70.0)], dash=1)],
                     title="SL & more", time_zone="Asia/Shanghai", y_min=0, y_max=100,
                     y_unit="%")
    root = ET.fromstring(svg)
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "chat <b>" in labels and "SL & more" in labels and "08:00" in labels
    assert "100%" in labels
    empty = ET.fromstring(line_chart([], title="none", time_zone="UTC"))
    assert "no data" in [t.text for t in empty.iter("{http://www.w3.org/2000/svg}text")]


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0, 7) == [0, 2, 4, 6]
    ticks = nice_ticks(3.2, 47.9)
    assert ticks[0] <= 10 and ticks[-1] >= 40


def test_scenario_and_policy_files_may_be_json(tmp_path: Path) -> None:
    scenario_path = tmp_path / "sim.json"
    scenario_path.write_text(json.dumps(two_tier_data()), encoding="utf-8")
    policy_path = tmp_path / "p.json"
    policy_path.write_text(json.dumps({"name": "j", "staffing": {"a": 5}}), encoding="utf-8")
    scenario = load_scenario(scenario_path)
    policy = load_policy(str(policy_path), "A")
    assert policy.name == "j" and policy.apply(scenario).agents[0].count == 5
    broken = tmp_path / "broken.toml"
    broken.write_text("[sim\n", encoding="utf-8")
    with pytest.raises(TrafficError, match="not valid toml") as caught:
        load_scenario(broken)
    assert caught.value.code == "sim.invalid_config"
