"""Registered eval suites: name -> module with ``run(ctx) -> SuiteResult``."""

SUITES: dict[str, str] = {
    "retrieval": "evals.suites.retrieval",
    "policy": "evals.suites.policy",
    "risk": "evals.suites.risk",
    "advisory": "evals.suites.advisory",
}
