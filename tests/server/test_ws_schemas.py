"""The websocket JSON Schemas in docs/schemas/ are generated from the message types.

Run with ``UPDATE_SCHEMAS=1`` to rewrite them after changing a message type. Every
message the test clients receive is also checked against these types (harness).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from callcenter.agents_ws import decode_client_message, websocket_schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_websocket_schemas_in_docs_are_current() -> None:
    generated = websocket_schemas()
    if os.environ.get("UPDATE_SCHEMAS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        for name, schema in generated.items():
            (DOCS / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    for name, schema in generated.items():
        path = DOCS / name
        assert path.exists(), f"{path} missing: run with UPDATE_SCHEMAS=1"
        assert json.loads(path.read_text()) == schema, f"{path} is stale: UPDATE_SCHEMAS=1"


def test_client_schema_names_every_message_type() -> None:
    schema = websocket_schemas()["agent-client.json"]
    tags = {definition["properties"]["type"]["enum"][0]
            for definition in schema["$defs"].values() if "type" in definition["properties"]}
    assert tags == {"auth", "set_state", "accept", "reject", "end", "wrap_up_done", "transfer",
                    "hold", "retrieve", "chat_send", "chat_typing", "ping"}
    assert decode_client_message('{"type": "ping", "id": 3}').id == 3
