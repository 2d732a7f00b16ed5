"""Imports point one way: app -> graphs -> agents -> tools, knowledge -> policies -> core (finagent).

Every import counts, including the ones inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A package may import its own layer's packages and everything in lower layers, nothing above.
LAYERS: list[set[str]] = [
    {"finagent"},  # core: settings, db, models, audit, llm, auth
    {"policies"},  # packs, loader, verdict and request types
    {"tools", "knowledge"},  # deterministic tools and the knowledge base
    {"agents"},  # router, agent packages, state and deps
    {"graphs"},  # the main graph, the action lifecycle, checkpointer wiring
    {"app", "server", "evals", "bench"},  # the application and the developer commands
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
# tools and knowledge share a layer but do not depend on each other.
FORBIDDEN_PEERS = {("tools", "knowledge"), ("knowledge", "tools")}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _sources() -> list[tuple[str, Path]]:
    out = [("server", ROOT / "server.py")]
    for package in RANK:
        folder = ROOT / package
        if folder.is_dir():
            out += [(package, p) for p in sorted(folder.rglob("*.py"))]
    return out


def violations(sources: list[tuple[str, Path]]) -> list[str]:
    wrong = []
    for package, path in sources:
        for line, target in _imports(path):
            if target not in RANK or target == package:
                continue
            if RANK[target] > RANK[package] or (package, target) in FORBIDDEN_PEERS:
                wrong.append(f"{path.name}:{line}: {package} imports {target}")
    return wrong


def test_every_import_points_down() -> None:
    wrong = violations(_sources())
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("package", "source"),
    [
        ("finagent", "def f():\n    import graphs.main\n"),  # lazy, and upwards
        ("policies", "from tools.screening import reason\n"),
        ("knowledge", "from agents.language import say\n"),
        ("tools", "import knowledge.types\n"),  # a peer it must not use
    ],
)
def test_the_check_catches_a_wrong_import(tmp_path: Path, package: str, source: str) -> None:
    path = tmp_path / "m.py"
    path.write_text(source)
    assert len(violations([(package, path)])) == 1
