"""The advisory agent: risk profiling, portfolio proposals, orders and rebalancing."""

from agents.advisory.follow_up import continues_advisory, stays_in_questionnaire
from agents.advisory.graph import build_advisory_graph

__all__ = ["build_advisory_graph", "continues_advisory", "stays_in_questionnaire"]
