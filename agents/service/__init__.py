"""The service agent: answers from the knowledge base, and account actions (card blocks, transfers)."""

from agents.service.graph import build_service_graph

__all__ = ["build_service_graph"]
