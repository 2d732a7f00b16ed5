"""Shared fixtures: the network guard for unit tests, databases (SQLite and Postgres), a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
_LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def _refuse_real_calls(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach a model or the internet: only loopback sockets (Postgres, Redis)."""
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("browser"):
        return
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(_LOOPBACK):
            raise RuntimeError(f"unit tests may not open network connections (to {address!r})")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)

    def no_model(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unit tests use tests.fakes.ScriptedChatModel, not a real model client")

    monkeypatch.setattr("finagent.llm.OpenAIChatModel.__init__", no_model)


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if not postgres_available():
        pytest.fail("PostgreSQL is not running at 127.0.0.1:5432 (.ci/run starts it)")
    import psycopg

    name = f"finagent_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server process: fresh database, the shipped corpus ingested, the real embedded vLLM."""
    from finagent.embedded_llm import ensure_running
    from finagent.settings import get_settings

    ensure_running(get_settings())
    data_dir = tmp_path_factory.mktemp("server-data")
    env = {**os.environ, "DATA_DIR": str(data_dir), "ENVIRONMENT": "test"}
    subprocess.run(
        [sys.executable, "-m", "app.cli", "ingest", str(ROOT / "knowledge" / "corpus")],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    log = (data_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{(data_dir / 'server.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("server did not become healthy in 180 s")
    yield base
    proc.terminate()
    proc.wait(timeout=30)
