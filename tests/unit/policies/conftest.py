from __future__ import annotations

import pytest
from policy_fixtures import PACKS

from policies.loader import load_policy_set
from tools.policy_engine import PolicyEngine


@pytest.fixture(scope="session")
def engine() -> PolicyEngine:
    return PolicyEngine(load_policy_set(PACKS))
