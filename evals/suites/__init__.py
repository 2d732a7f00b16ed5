"""Registered eval suites: name -> module with ``run(ctx) -> SuiteResult``."""

SUITES: dict[str, str] = {
    "retrieval": "evals.suites.retrieval",
    "policy": "evals.suites.policy",
    "risk": "evals.suites.risk",
    "routing": "evals.suites.routing",
    "approval-gating": "evals.suites.approval_gating",
    "redteam": "evals.suites.redteam",
    "conversations": "evals.suites.conversations",
    "advisory": "evals.suites.advisory",
}
