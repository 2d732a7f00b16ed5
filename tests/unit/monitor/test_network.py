"""Network detectors on small hand-drawn ledgers: each finds its shape, ignores its near-misses, and
carries the subgraph (accounts, transfers with amounts and dates) as evidence."""

from __future__ import annotations

import numpy as np

from tools.network_analytics import NetworkConfig, Transfers, cases, detect


def ledger(*rows: tuple[int, int, float, float]) -> Transfers:
    src, dst, amount, days = zip(*rows, strict=True)
    return Transfers(np.array(src), np.array(dst), np.array(amount, dtype=float), np.array(days, dtype=float))


def kinds(t: Transfers, **cfg: object) -> dict[str, list[frozenset[int]]]:
    found: dict[str, list[frozenset[int]]] = {}
    for d in detect(t, NetworkConfig(**cfg)):  # type: ignore[arg-type]
        found.setdefault(d.kind, []).append(d.accounts)
    return found


def test_a_time_respecting_cycle_is_found_with_its_transfers_as_evidence() -> None:
    t = ledger((1, 2, 500.0, 3), (2, 3, 480.0, 4), (3, 4, 470.0, 5), (4, 1, 460.0, 6), (7, 8, 90.0, 5))
    [cycle] = [d for d in detect(t, NetworkConfig(kinds=("cycle",))) if d.kind == "cycle"]
    assert cycle.accounts == {1, 2, 3, 4}
    ev = cycle.evidence(t)
    assert ev["nodes"] == [1, 2, 3, 4]
    assert ev["edges"][0] == {"from": 1, "to": 2, "amount": 500.0, "date": "2025-01-04"}
    assert len(ev["edges"]) == 4


def test_a_cycle_that_runs_against_time_is_not_one() -> None:
    # 1->2 on day 9, 2->3 on day 5, 3->1 on day 2: every rotation goes back in time somewhere
    t = ledger((1, 2, 500.0, 9), (2, 3, 480.0, 5), (3, 1, 470.0, 2), (3, 4, 10.0, 8))
    assert "cycle" not in kinds(t, kinds=("cycle",))


def test_repeated_payments_between_one_pair() -> None:
    t = ledger((1, 2, 10.0, 1), (1, 2, 12.0, 2), (3, 4, 10.0, 1), (4, 3, 10.0, 8))
    assert kinds(t, kinds=("repeated_pair",)) == {"repeated_pair": [frozenset({1, 2})]}


def test_a_layering_chain_needs_quick_hops_passing_most_of_the_money_on() -> None:
    quick = ledger((1, 2, 1000.0, 1), (2, 3, 950.0, 1.5), (3, 4, 940.0, 2), (4, 5, 900.0, 2.5))
    found = kinds(quick, kinds=("layering",), min_chain=4)
    assert frozenset({1, 2, 3, 4, 5}) in found["layering"]
    slow = ledger((1, 2, 1000.0, 1), (2, 3, 950.0, 5), (3, 4, 940.0, 9), (4, 5, 900.0, 13))
    skimmed = ledger((1, 2, 1000.0, 1), (2, 3, 300.0, 1.5), (3, 4, 290.0, 2), (4, 5, 280.0, 2.5))
    assert "layering" not in kinds(slow, kinds=("layering",), min_chain=4)
    assert "layering" not in kinds(skimmed, kinds=("layering",), min_chain=4)


def test_shared_counterparties_and_the_cases_they_form() -> None:
    t = ledger(*[(a, m, 100.0, 1) for a in (1, 2) for m in (10, 11, 12)], (5, 10, 100.0, 1))
    found = kinds(t, kinds=("shared_counterparties",), min_shared=3)
    assert found == {"shared_counterparties": [frozenset({1, 2, 10, 11, 12})]}
    assert kinds(t, kinds=("shared_counterparties",), min_shared=4) == {}
    groups = cases(detect(t, NetworkConfig(kinds=("shared_counterparties",), min_shared=3)))
    assert set().union(*groups) == {1, 2, 10, 11, 12}
