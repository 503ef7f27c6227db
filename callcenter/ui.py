"""The browser pages: the agent console, the supervisor dashboard and the visitor chat widget.

Static files from ``agents_ui/`` (plain ES modules and CSS, no build step): the pages at
``/agent``, ``/supervisor`` and ``/chat``, their assets under ``/ui/...``. The pages only
need the HTTP API and websockets of the same server, so a strict Content-Security-Policy
applies (scripts and styles from this origin only: an injected ``<script>`` or inline
handler would not run even if some text escaped its ``textContent``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

UI_ROOT = Path(__file__).resolve().parent.parent / "agents_ui"

PAGES: dict[str, str] = {
    "/agent": "agent/index.html",
    "/supervisor": "supervisor/index.html",
    "/chat": "chat/index.html",
}

_CSP_BASE = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'"
)
# The chat widget is embedded by shops in an iframe; the staff pages never are.
_CSP_STAFF = f"{_CSP_BASE}; frame-ancestors 'none'"
_CSP_WIDGET = f"{_CSP_BASE}; frame-ancestors *"

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Revalidate every time (ETag / Last-Modified make that cheap): an upgrade of the
    # server never leaves a console running yesterday's script.
    "Cache-Control": "no-cache",
}

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}


def _file_response(path: Path, *, csp: str | None = None) -> web.FileResponse:
    headers = dict(_SECURITY_HEADERS)
    content_type = _CONTENT_TYPES.get(path.suffix)
    if content_type:
        headers["Content-Type"] = content_type
    if csp:
        headers["Content-Security-Policy"] = csp
    return web.FileResponse(path, headers=headers)


def _page_handler(relative: str, csp: str) -> Handler:
    path = UI_ROOT / relative

    async def page(request: web.Request) -> web.StreamResponse:
        return _file_response(path, csp=csp)

    return page


def resolve_asset(root: Path, relative: str) -> Path | None:
    """The file ``relative`` under ``root``, or None when it is missing or outside ``root``."""
    if not relative or "\x00" in relative:
        return None
    candidate = (root / relative).resolve()
    base = root.resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    # Hidden files and folders (editor swap files, .git) are never served.
    if any(part.startswith(".") for part in candidate.relative_to(base).parts):
        return None
    return candidate


async def _asset(request: web.Request) -> web.StreamResponse:
    path = resolve_asset(UI_ROOT, request.match_info["path"])
    if path is None:
        raise web.HTTPNotFound()
    return _file_response(path)


def _redirect(target: str) -> Handler:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target)

    return redirect


def add_ui_routes(app: web.Application) -> None:
    """Serve the pages at ``/agent``, ``/supervisor``, ``/chat`` and their assets at ``/ui/``."""
    for url, relative in PAGES.items():
        csp = _CSP_WIDGET if url == "/chat" else _CSP_STAFF
        app.router.add_get(url, _page_handler(relative, csp))
        app.router.add_get(f"{url}/", _redirect(url))
    app.router.add_get("/ui/{path:.+}", _asset)
