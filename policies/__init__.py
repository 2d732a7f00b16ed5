"""Policy packs: versioned, schema-checked YAML, their loader, and the verdict and request types
that the rule engine (tools/policy_engine.py) and the agents share.

This package imports nothing above the core: tools, agents and graphs import it, never the reverse.
"""

from __future__ import annotations

from policies.loader import PolicyLoadError, PolicySet, load_policy_set

__all__ = ["PolicyLoadError", "PolicySet", "load_policy_set"]
