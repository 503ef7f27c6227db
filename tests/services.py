"""Reaching the real services the tests use (PostgreSQL, Mosquitto, Chromium).

A test that needs a service skips with the reason when it is absent on a laptop,
and fails instead when ``CI=true``: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
PG_DB = os.environ.get("TEST_PG_DB", "test")
MQTT_HOST = os.environ.get("TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("TEST_MQTT_PORT", "1883"))
CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip on a developer machine; fail in CI."""
    if in_ci():
        pytest.fail(f"service unavailable in CI: {reason}")
    pytest.skip(reason)


def tcp_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if not tcp_reachable(PG_HOST, PG_PORT):
        unavailable(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}")


def require_mosquitto() -> None:
    if not tcp_reachable(MQTT_HOST, MQTT_PORT):
        unavailable(f"Mosquitto not reachable at {MQTT_HOST}:{MQTT_PORT}")


def require_chromium() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        unavailable(f"Chromium not found at {CHROMIUM}")
    return CHROMIUM if os.path.exists(CHROMIUM) else str(shutil.which("chromium"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
