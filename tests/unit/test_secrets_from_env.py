"""Secrets come from the environment only, through the one Settings class, and none has a default."""

from __future__ import annotations

import ast
from pathlib import Path

from pydantic import SecretStr

from finagent.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CODE = ["app", "agents", "tools", "graphs", "knowledge", "policies", "finagent", "evals", "bench"]
CODE += ["server.py"]


def _reads_environment(tree: ast.AST) -> list[int]:
    """Lines that read a variable: os.getenv(...), os.environ.get(...), os.environ[...] as a value."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            if target in ("os.getenv", "os.environ.get", "environ.get", "getenv"):
                lines.append(node.lineno)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and ast.unparse(node.value) in ("os.environ", "environ")
        ):
            lines.append(node.lineno)
    return lines


def test_only_settings_reads_the_environment() -> None:
    offenders = []
    for top in CODE:
        for path in [ROOT / top] if top.endswith(".py") else (ROOT / top).rglob("*.py"):
            if path == ROOT / "finagent" / "settings.py":
                continue
            lines = _reads_environment(ast.parse(path.read_text(), str(path)))
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in lines]
    assert offenders == []


def test_the_scan_sees_a_read() -> None:
    assert _reads_environment(ast.parse("import os\nkey = os.environ['LLM_API_KEY']\n")) == [2]
    assert _reads_environment(ast.parse("import os\nos.environ['HF_HUB_OFFLINE'] = '1'\n")) == []


def test_no_secret_setting_has_a_default() -> None:
    secrets = {
        name: field
        for name, field in Settings.model_fields.items()
        if SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
    }
    assert {"auth_secret", "llm_api_key", "embedding_api_key"} <= set(secrets)
    assert all(field.default is None for field in secrets.values())
    assert Settings.model_fields["database_url"].default == ""  # no password baked in
