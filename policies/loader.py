"""Loads a folder of YAML policy packs and validates them, with errors a policy author can act on."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from policies.schema import DecisionReason, PolicyPack, RuleBase

R = TypeVar("R", bound=RuleBase)


@dataclass(frozen=True)
class PolicyProblem:
    file: str
    rule_id: str | None
    field: str
    message: str

    def __str__(self) -> str:
        rule = f" rule {self.rule_id}" if self.rule_id else ""
        return f"{self.file}:{rule} field '{self.field}': {self.message}"


class PolicyLoadError(ValueError):
    """Raised when a pack folder does not validate; ``problems`` lists every finding."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class PolicySet:
    """The validated packs of one folder, indexed for the engine."""

    packs: tuple[PolicyPack, ...]
    content_hash: str
    rules: dict[str, tuple[str, RuleBase]] = field(default_factory=dict)  # id -> (pack, rule)

    @property
    def version(self) -> str:
        packs = ",".join(f"{p.pack}@{p.version}" for p in self.packs)
        return f"sha256:{self.content_hash[:12]} ({packs})"

    def of_kind(self, rule_type: type[R]) -> list[R]:
        return [r for _, r in self.rules.values() if isinstance(r, rule_type) and r.enabled]

    def pack_of(self, rule_id: str) -> str:
        return self.rules[rule_id][0]

    @property
    def decision_reasons(self) -> dict[str, DecisionReason]:
        """The closed list of reasons officers decide with, from every pack."""
        return {code: reason for pack in self.packs for code, reason in pack.decision_reasons.items()}


def pack_files(policy_dir: Path) -> list[Path]:
    return sorted(p for p in policy_dir.glob("*.y*ml") if p.suffix in {".yaml", ".yml"})


def _problems_from(error: ValidationError, file: str, raw: dict[str, Any]) -> list[PolicyProblem]:
    problems = []
    listed = raw.get("rules")
    raw_rules: list[Any] = listed if isinstance(listed, list) else []
    for err in error.errors():
        loc = list(err["loc"])
        rule_id = None
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            index = loc[1]
            entry = raw_rules[index] if index < len(raw_rules) else None
            rule_id = str(entry.get("id")) if isinstance(entry, dict) and entry.get("id") else f"#{index + 1}"
            loc = loc[3:] if len(loc) > 2 and isinstance(loc[2], str) and loc[2] in _KINDS else loc[2:]
        where = ".".join(str(p) for p in loc) or "(rule)"
        problems.append(PolicyProblem(file, rule_id, where, err["msg"]))
    return problems


_KINDS = {
    "velocity", "structuring", "split_payments", "rapid_in_out", "round_trip", "new_payee_large",
    "fan_in", "fan_out", "round_amount", "dormant_reactivation", "jurisdiction", "linked_alerts",
    "watchlist", "approval_threshold", "action_catalogue", "sufficient_funds", "kyc_gate", "suitability",
    "risk_questionnaire", "allocation", "scorecard_cutoff", "affordability", "prohibited_claim",
    "required_disclosure", "pii",
}  # fmt: skip


def load_policy_set(policy_dir: Path) -> PolicySet:
    """Parse and validate every pack; raise one PolicyLoadError listing all problems."""
    files = pack_files(policy_dir)
    problems: list[PolicyProblem] = []
    if not files:
        raise PolicyLoadError([PolicyProblem(str(policy_dir), None, "(folder)", "no *.yaml policy packs")])
    digest = hashlib.sha256()
    packs: list[PolicyPack] = []
    for path in files:
        text = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + text + b"\0")
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problems.append(PolicyProblem(path.name, None, "(yaml)", str(exc).replace("\n", " ")))
            continue
        if not isinstance(raw, dict):
            problems.append(PolicyProblem(path.name, None, "(document)", "a pack must be a mapping"))
            continue
        try:
            packs.append(PolicyPack.model_validate(raw))
        except ValidationError as exc:
            problems.extend(_problems_from(exc, path.name, raw))
    rules: dict[str, tuple[str, RuleBase]] = {}
    seen: dict[str, list[str]] = defaultdict(list)
    for pack in packs:
        for rule in pack.rules:
            seen[rule.id].append(pack.pack)
            rules[rule.id] = (pack.pack, rule)
    for rule_id, where in seen.items():
        if len(where) > 1:
            problems.append(PolicyProblem(",".join(where), rule_id, "id", "duplicate rule id"))
    codes: dict[str, list[str]] = defaultdict(list)
    for pack in packs:
        for code in pack.decision_reasons:
            codes[code].append(pack.pack)
    for code, where in codes.items():
        if len(where) > 1:
            problems.append(
                PolicyProblem(",".join(where), None, f"decision_reasons.{code}", "duplicate code")
            )
    names = [p.pack for p in packs]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(PolicyProblem(name, None, "pack", "duplicate pack name"))
    if problems:
        raise PolicyLoadError(problems)
    return PolicySet(packs=tuple(packs), content_hash=digest.hexdigest(), rules=rules)
