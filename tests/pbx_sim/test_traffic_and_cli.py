"""Inbound traffic (rate, arrivals, ANIs) and the ``callcenter pbx-sim`` command line."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.cti_messages import CallOffered
from callcenter.pbx_sim import PbxSimulator, generate_calls, parse_rate
from callcenter.pbx_sim.traffic import TrafficError, arrival_offsets, load_anis, random_ani
from tests.pbx_sim.conftest import PBX, CtiServer
from tests.services import MQTT_HOST, MQTT_PORT


@pytest.mark.parametrize(("text", "per_second"), [
    ("2/s", 2.0), ("2", 2.0), ("0.5/sec", 0.5), ("90/min", 1.5), ("3600/h", 1.0), ("0", 0.0),
])
def test_rates(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["fast", "-2/s", "2/day", "", "2/s/s"])
def test_bad_rate_has_a_stable_code(text: str) -> None:
    with pytest.raises(TrafficError) as raised:
        parse_rate(text)
    assert raised.value.code == "pbx_sim.invalid_rate"


def test_poisson_arrivals_average_the_rate_and_even_arrivals_are_spaced() -> None:
    counts = [len(list(arrival_offsets(10.0, 100.0, random.Random(seed)))) for seed in range(20)]
    assert 950 < sum(counts) / len(counts) < 1050
    even = list(arrival_offsets(4.0, 2.0, random.Random(0), "even"))
    assert even == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75])
    assert list(arrival_offsets(0.0, 10.0, random.Random(0))) == []


def test_same_seed_same_arrivals() -> None:
    first = list(arrival_offsets(5.0, 10.0, random.Random(42)))
    assert first == list(arrival_offsets(5.0, 10.0, random.Random(42)))


def test_ani_file_skips_comments_and_rejects_bad_numbers(tmp_path: Path) -> None:
    good = tmp_path / "anis.txt"
    good.write_text("# exported from the CRM\n+8613800000001\n\n13800000002  # no plus\n")
    assert load_anis(good) == ["+8613800000001", "13800000002"]

    bad = tmp_path / "bad.txt"
    bad.write_text("+8613800000001\nnot-a-number\n")
    with pytest.raises(TrafficError) as raised:
        load_anis(bad)
    assert raised.value.code == "pbx_sim.invalid_ani"
    assert "bad.txt:2" in raised.value.message

    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(TrafficError) as raised:
        load_anis(empty)
    assert raised.value.code == "pbx_sim.empty_ani_file"

    with pytest.raises(TrafficError) as raised:
        load_anis(tmp_path / "missing.txt")
    assert raised.value.code == "pbx_sim.ani_file_unreadable"


def test_random_anis_look_like_mobile_numbers() -> None:
    rng = random.Random(1)
    numbers = {random_ani(rng) for _ in range(100)}
    assert len(numbers) == 100
    assert all(n.startswith("+861") and len(n) == 14 and n[1:].isdigit() for n in numbers)


async def test_the_rate_generator_places_the_calls_it_scheduled(
        server: CtiServer, pbx: PbxSimulator) -> None:
    anis = ["+8613800000001", "+8613800000002"]
    expected = len(list(arrival_offsets(100.0, 0.3, random.Random(7))))

    placed = await generate_calls(pbx, rate_per_s=100.0, duration_s=0.3, seed=7, anis=anis)

    assert placed == expected
    assert 10 <= placed <= 50  # about 30
    offers = [await server.expect_offer() for _ in range(placed)]
    assert {offer.ani for offer in offers} <= set(anis)
    assert pbx.stats.offered == placed


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["pbx-sim", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for option in ("--rate", "--duration", "--ani-file", "--random-ani", "--answer-delay-s",
                   "--no-answer-rate", "--busy-extensions", "--talk-s", "--patience-s",
                   "--seed"):
        assert option in out


def test_a_bad_rate_on_the_command_line_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["pbx-sim", "--rate", "lots"])
    assert exited.value.code == 2
    assert "pbx_sim.invalid_rate" in capsys.readouterr().err


def test_a_missing_ani_file_is_a_clear_error(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["pbx-sim", "--ani-file", str(tmp_path / "nope.txt"), "--duration", "0"])
    assert code == 2
    assert "[pbx_sim.ani_file_unreadable]" in capsys.readouterr().err


async def test_the_command_places_about_rate_times_duration_calls(
        server: CtiServer, prefix: str) -> None:
    process = await asyncio.create_subprocess_exec(
        # The simulator's own entry point: the same options as `callcenter pbx-sim`
        # without importing every other command, so the test spends its time simulating.
        sys.executable, "-m", "callcenter.pbx_sim",
        "--mqtt-host", MQTT_HOST, "--mqtt-port", str(MQTT_PORT), "--prefix", prefix,
        "--pbx", PBX, "--client-id", f"cli-{prefix}", "--clean-session",
        "--rate", "40/s", "--duration", "0.5", "--seed", "11", "--random-ani",
        "--patience-s", "0.1", "--patience-dist", "fixed", "--drain-s", "5",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    summary = json.loads(out.decode().strip().splitlines()[-1])

    assert 8 <= summary["offered"] <= 40  # about 20
    assert summary["abandoned"] == summary["offered"]  # nobody routed them: all gave up
    assert summary["live_calls"] == 0
    offers = [e for e in server.received if isinstance(e, CallOffered)]
    assert len(offers) == summary["offered"]
