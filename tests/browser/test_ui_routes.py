"""``callcenter.ui``: the pages and their assets, with their security headers."""

from __future__ import annotations

import aiohttp
import pytest

from callcenter.ui import UI_ROOT, resolve_asset


@pytest.mark.asyncio(loop_scope="session")
async def test_pages_are_served_with_a_strict_content_security_policy(ui_server: str) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/agent", "/supervisor", "/chat"):
            async with http.get(ui_server + path) as response:
                assert response.status == 200
                assert response.content_type == "text/html"
                csp = response.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp
                embeddable = "frame-ancestors *" if path == "/chat" else "frame-ancestors 'none'"
                assert embeddable in csp
        async with http.get(ui_server + "/ui/agent/console.js") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/javascript")
        async with http.get(ui_server + "/ui/%2e%2e/callcenter/ui.py") as response:
            assert response.status == 404
        async with http.get(ui_server + "/ui/vendor/uPlot.esm.js") as response:
            assert response.status == 200


def test_assets_outside_the_ui_folder_are_never_resolved() -> None:
    assert resolve_asset(UI_ROOT, "agent/index.html") == (UI_ROOT / "agent/index.html").resolve()
    assert resolve_asset(UI_ROOT, "../callcenter/ui.py") is None
    assert resolve_asset(UI_ROOT, "/etc/passwd") is None
    assert resolve_asset(UI_ROOT, "agent") is None
    assert resolve_asset(UI_ROOT, "agent/\x00.js") is None
