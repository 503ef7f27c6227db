"""Browser fixtures: Debian's Chromium through Playwright, pages at 1366x768.

Every page a test opens records console errors and uncaught exceptions; the test
fails at teardown if any happened (the console must run clean).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest_asyncio
from aiohttp import web
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
)

from callcenter.ui import add_ui_routes
from tests.services import free_port, require_chromium

BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class OpenedPage:
    """A page and the problems it reported (console errors, uncaught exceptions)."""

    page: Page
    problems: list[str] = field(default_factory=list)


OpenPage = Callable[[str], Awaitable[OpenedPage]]


# One Chromium for the whole run (starting it costs a second or two); every test gets
# its own browser context. Browser tests therefore run on the session's event loop:
# their modules carry ``pytest.mark.asyncio(loop_scope="session")``.
@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=BROWSER_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """Open a URL in a fresh 1366x768 context; fails the test on console errors."""
    opened: list[OpenedPage] = []

    async def open_(url: str) -> OpenedPage:
        context = await browser.new_context(viewport=VIEWPORT)
        page = await context.new_page()
        result = OpenedPage(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                result.problems.append(f"console error: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: result.problems.append(f"uncaught: {error}"))
        opened.append(result)
        await page.goto(url)
        return result

    yield open_
    problems = [p for item in opened for p in item.problems]
    for item in opened:
        await item.page.context.close()
    assert problems == [], "the pages reported errors"


@pytest_asyncio.fixture(loop_scope="session")
async def ui_server() -> AsyncIterator[str]:
    """Only the static pages (no API, no websockets): the preview the render tests use."""
    app = web.Application()
    add_ui_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()

