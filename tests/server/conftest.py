"""Fixtures of the server suite: a seeded store and a live server on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.server.harness import LiveServer, Seeded, seed_minimal, server_config


@pytest.fixture
async def seeded(db_url: str) -> Seeded:
    return await seed_minimal(db_url)


@pytest.fixture
async def server(db_url: str, seeded: Seeded) -> AsyncIterator[LiveServer]:
    live = await LiveServer(server_config(db_url)).start()
    try:
        yield live
    finally:
        await live.stop()
