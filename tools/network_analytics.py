"""Network analytics over a sliding window of transfers (networkx): what the transaction graph shows
beyond one account's fan-in or fan-out.

Detectors, each over the transfers of one window (no transfer after the window's end is ever seen):
- ``repeated_pair``: one payer pays one payee ``min_repeats`` times or more within the window;
- ``cycle``: money returns to where it started through 2..``max_cycle`` accounts, each hop no
  earlier than the one before (a time-respecting cycle);
- ``layering``: a chain of ``min_chain`` or more hops, each leaving an account within
  ``max_hop_days`` of the previous hop's arrival and passing on at least ``min_pass_share`` of it;
- ``shared_counterparties``: two accounts that pay or are paid by ``min_shared`` or more of the same
  counterparties within the window.
Communities (Louvain) group the accounts a window flags into cases.

Every detection carries its subgraph as evidence: the accounts, and each transfer between them with
its amount and date. Which detectors are switched on, and their thresholds, are chosen on earlier
data only (evals/suites/risk_network.py); NetworkConfig holds the choice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import numpy as np

KINDS = ("repeated_pair", "cycle", "layering", "shared_counterparties")


@dataclass(frozen=True)
class NetworkConfig:
    kinds: tuple[str, ...] = KINDS
    window_days: float = 10.0
    min_repeats: int = 2
    max_cycle: int = 6
    min_chain: int = 2
    max_hop_days: float = 1.0
    min_pass_share: float = 0.9
    min_shared: int = 2

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Transfers:
    """A ledger as arrays; ``days`` is each transfer's time in days (any origin)."""

    src: np.ndarray
    dst: np.ndarray
    amount: np.ndarray
    days: np.ndarray
    origin: datetime = datetime(2025, 1, 1, tzinfo=UTC)

    def between(self, start: float, end: float) -> Transfers:
        """Transfers with start < day <= end."""
        mask = (self.days > start) & (self.days <= end)
        return Transfers(self.src[mask], self.dst[mask], self.amount[mask], self.days[mask], self.origin)

    def date(self, day: float) -> str:
        return datetime.fromtimestamp(self.origin.timestamp() + day * 86400, UTC).date().isoformat()


def _plain(account: Any) -> Any:
    """An account id as JSON has it: numpy integers become ints, anything else its own value."""
    return int(account) if isinstance(account, np.integer) else account


@dataclass
class Detection:
    kind: str
    accounts: frozenset[int]
    edges: list[tuple[int, int, float, float]] = field(default_factory=list)  # src, dst, amount, day
    strength: float = 0.0  # repeats, cycle length, chain hops, shared counterparties: what a threshold cuts

    def evidence(self, transfers: Transfers) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "nodes": sorted(_plain(a) for a in self.accounts),
            "edges": [
                {"from": _plain(s), "to": _plain(d), "amount": round(float(a), 2), "date": transfers.date(t)}
                for s, d, a, t in sorted(self.edges, key=lambda e: e[3])
            ],
        }


def window_graph(transfers: Transfers) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    for s, d, a, t in zip(
        transfers.src.tolist(),
        transfers.dst.tolist(),
        transfers.amount.tolist(),
        transfers.days.tolist(),
        strict=True,
    ):
        graph.add_edge(s, d, amount=a, day=t)
    return graph


def _edges(graph: nx.MultiDiGraph, s: int, d: int) -> list[tuple[int, int, float, float]]:
    return [(s, d, e["amount"], e["day"]) for e in graph.get_edge_data(s, d, default={}).values()]


def repeated_pairs(graph: nx.MultiDiGraph, cfg: NetworkConfig) -> Iterator[Detection]:
    for s, d in {(s, d) for s, d in graph.edges() if s != d}:
        if graph.number_of_edges(s, d) >= cfg.min_repeats:
            edges = _edges(graph, s, d)
            yield Detection("repeated_pair", frozenset((s, d)), edges, len(edges))


def cycles(graph: nx.MultiDiGraph, cfg: NetworkConfig) -> Iterator[Detection]:
    simple = nx.DiGraph(graph)
    for cycle in nx.simple_cycles(simple, length_bound=cfg.max_cycle):
        if len(cycle) < 2:
            continue
        hops = list(zip(cycle, cycle[1:] + cycle[:1], strict=True))
        # Time-respecting: some rotation of the cycle has each hop on or after the previous one.
        firsts = [min(e["day"] for e in graph.get_edge_data(s, d).values()) for s, d in hops]
        if any(
            all(
                firsts[(r + i) % len(firsts)] <= firsts[(r + i + 1) % len(firsts)]
                for i in range(len(firsts) - 1)
            )
            for r in range(len(firsts))
        ):
            edges = [e for s, d in hops for e in _edges(graph, s, d)]
            yield Detection("cycle", frozenset(cycle), edges, len(cycle))


def layering(graph: nx.MultiDiGraph, cfg: NetworkConfig) -> Iterator[Detection]:
    """Chains of quick pass-throughs: depth-first from each transfer, following the next hop that leaves
    the receiving account soon after, with most of the amount."""
    hops: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for s, d, e in graph.edges(data=True):
        if s != d:
            hops[s].append((d, e["amount"], e["day"]))

    def extend(path: list[tuple[int, int, float, float]]) -> list[tuple[int, int, float, float]]:
        _, at, amount, day = path[-1]
        seen = {p[0] for p in path} | {at}
        best = path
        for nxt, amt, t in hops.get(at, ()):
            if nxt not in seen and day <= t <= day + cfg.max_hop_days and amt >= cfg.min_pass_share * amount:
                longer = extend([*path, (at, nxt, amt, t)])
                if len(longer) > len(best):
                    best = longer
            if len(best) >= cfg.min_chain + 2:
                break
        return best

    for s, targets in hops.items():
        for d, amount, day in targets:
            chain = extend([(s, d, amount, day)])
            if len(chain) >= cfg.min_chain:
                accounts = frozenset([c[0] for c in chain] + [chain[-1][1]])
                yield Detection("layering", accounts, chain, len(chain))


def shared_counterparties(graph: nx.MultiDiGraph, cfg: NetworkConfig) -> Iterator[Detection]:
    for side in ("out", "in"):
        neighbours = graph.succ if side == "out" else graph.pred
        others = graph.pred if side == "out" else graph.succ
        pairs: dict[tuple[int, int], set[int]] = defaultdict(set)
        for middle in graph.nodes:
            parties = sorted(p for p in others[middle] if p != middle)
            if len(parties) > 50:  # a merchant or payroll hub: everyone shares it
                continue
            for i, a in enumerate(parties):
                for b in parties[i + 1 :]:
                    pairs[(a, b)].add(middle)
        for (a, b), shared in pairs.items():
            if len(shared) >= cfg.min_shared:
                edges = [
                    e
                    for m in shared
                    for x in (a, b)
                    for e in (
                        _edges(graph, x, m) if x in neighbours and m in neighbours[x] else _edges(graph, m, x)
                    )
                ]
                yield Detection("shared_counterparties", frozenset({a, b} | shared), edges, len(shared))


DETECTORS = {
    "repeated_pair": repeated_pairs,
    "cycle": cycles,
    "layering": layering,
    "shared_counterparties": shared_counterparties,
}


def detect(transfers: Transfers, cfg: NetworkConfig) -> list[Detection]:
    graph = window_graph(transfers)
    return [d for kind in cfg.kinds for d in DETECTORS[kind](graph, cfg)]


def cases(detections: list[Detection]) -> list[set[int]]:
    """Group flagged accounts into cases: Louvain communities of the graph the detections draw."""
    graph = nx.Graph()
    for d in detections:
        graph.add_edges_from((s, t) for s, t, _, _ in d.edges)
    if graph.number_of_edges() == 0:
        return []
    return [set(c) for c in nx.community.louvain_communities(graph, seed=7)]


def sliding(
    transfers: Transfers, start: float, end: float, cfg: NetworkConfig, step: float
) -> Iterator[tuple[float, list[Detection]]]:
    """Detections of each window (t - window_days, t] for t from start + step to end."""
    t = start + step
    while t <= end + 1e-9:
        yield t, detect(transfers.between(t - cfg.window_days, t), cfg)
        t += step
