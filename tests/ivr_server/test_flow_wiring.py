"""Start-up and reload hooks of the IVR (no broker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from callcenter.ivr import FlowSetInvalid
from callcenter.ivr_runtime import IVR_REGISTRY, install_ivr, path_strings, reload_flows
from tests.ivr_server.conftest import SHIPPED_FLOWS, write_flow

FLOW = """
flow: tiny
entry: ["4008007777"]
languages: [en]
prompts:
  bye: {en: "%s"}
start: goodbye
nodes:
  goodbye: {type: hangup, prompt: bye}
"""


def test_invalid_flows_refuse_to_start_with_every_error_located(tmp_path: Path) -> None:
    folder = write_flow(tmp_path, FLOW.replace("goodbye: {", "goodbye: {next: nowhere, "))
    with pytest.raises(FlowSetInvalid) as raised:
        install_ivr(web.Application(), folder)
    assert raised.value.code == "flow.invalid"
    assert str(raised.value.errors[0]).startswith(f"{folder / 'flow.yaml'}:9:")


def test_shipped_flows_load_and_an_empty_flows_dir_means_no_ivr() -> None:
    app = web.Application()
    assert install_ivr(app, "") is None and app.get(IVR_REGISTRY) is None
    registry = install_ivr(app, SHIPPED_FLOWS)
    assert registry is not None and app[IVR_REGISTRY] is registry
    assert registry.flow_for("4008001234") is not None


def test_reload_keeps_running_flows_on_error_and_pins_calls_in_progress(
    tmp_path: Path,
) -> None:
    folder = write_flow(tmp_path, FLOW % "Goodbye.")
    app = web.Application()
    registry = install_ivr(app, folder)
    assert registry is not None
    in_progress = registry.start_session("4008007777")
    assert in_progress is not None

    (folder / "flow.yaml").write_text(FLOW.replace("start: goodbye", "start: nowhere"))
    failed = reload_flows(app)
    assert not failed.reloaded and failed.generation == 1
    assert "flow.missing_target" in failed.errors[0]

    (folder / "flow.yaml").write_text(FLOW % "Bye now.")
    done = reload_flows(app)
    assert done.reloaded and done.generation == 2 and done.flows == ["tiny"]
    new = registry.start_session("4008007777")
    assert new is not None and new.flow.version != in_progress.flow.version
    assert in_progress.flow.prompts["bye"]["en"] == "Goodbye."


def test_ivr_path_is_shown_as_node_and_input() -> None:
    steps: list[dict[str, str | None]] = [{"node": "main_menu", "input": "7"},
                                          {"node": "main_menu", "input": None}]
    assert path_strings(steps) == ["main_menu:7", "main_menu"]
    assert len(path_strings([{"node": "n", "input": None}] * 80)) == 50
