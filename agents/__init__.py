"""Agents: the router, one package per agent (prompts, schemas, nodes, subgraph), and what they share
(state, deps, customer-facing phrases, recording a proposed action)."""
