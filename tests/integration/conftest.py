"""Integration tests run against the real embedded vLLM (or LLM_BASE_URL when set).

The server is started at most once per session and deliberately left running afterwards: the next run
reuses it (a cold start costs minutes), and `finagent llm stop` / `make` end it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from finagent.embedded_llm import Endpoint

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees every collected item, so mark only the ones that live in this folder.
    for item in items:
        if _HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def llm_endpoint() -> Iterator[Endpoint]:
    from finagent.embedded_llm import ensure_running
    from finagent.settings import get_settings

    yield ensure_running(get_settings())
