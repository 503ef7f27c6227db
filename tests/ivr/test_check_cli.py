"""``callcenter check-flows``: output format and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcenter.cli import main

FLOWS_DIR = Path(__file__).resolve().parents[2] / "ivr_flows"


def test_shipped_flows_check_clean_with_a_one_line_summary(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-flows", str(FLOWS_DIR)]) == 0
    out = capsys.readouterr().out
    assert out == f"ok: 4 flow(s) in {FLOWS_DIR} valid (chat_bot, main, order_line, survey)\n"


def test_every_error_is_printed_as_file_line_column_code_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: t\nstart: a\nnodes:\n  a:\n    type: menu\n    prompt: hi\n"
                   "  b:\n    type: dial\n", encoding="utf-8")

    assert main(["check-flows", str(bad)]) == 1

    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{bad}:4:3: flow.missing_field: node 'a' (menu) needs the field 'options'",
        f"{bad}:4:3: flow.missing_field: node 'a' (menu) needs the field 'invalid'",
        f"{bad}:6:13: flow.missing_prompt: prompt: no prompt named 'hi' in prompts",
        f"{bad}:8:11: flow.unknown_node_type: node 'b': unknown node type 'dial' (known: "
        "menu, collect, identify, condition, set, play, self_service, offer_callback, "
        "voicemail, survey, queue, transfer, hangup)",
    ]
    assert captured.err == f"4 error(s) in {bad}\n"


def test_default_path_comes_from_the_configuration(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    (flows / "survey.yaml").unlink()
    config = tmp_path / "callcenter.toml"
    config.write_text(f'[ivr]\nflows_dir = "{flows}"\n', encoding="utf-8")

    assert main(["--config", str(config), "check-flows"]) == 0
    assert capsys.readouterr().out == (
        f"ok: 3 flow(s) in {flows} valid (chat_bot, main, order_line)\n")


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-flows", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().out == (
        f"{tmp_path / 'nope'}:1:1: flow.not_found: no such file or folder\n")
