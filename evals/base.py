"""The contract every eval suite follows, so new suites join `finagent eval` without rework.

A suite is a module in ``evals/suites/`` with a ``run(ctx: SuiteContext) -> SuiteResult``
function, registered by name in ``evals/suites/__init__.py``.

Suites that score cases (a request, an attack, a conversation) report each one with
``ctx.case_done(passed)`` so the progress bar shows live pass and fail counts, and put one dict per
case in ``SuiteResult.items`` with the keys the report reads (see ``CASE_KEYS``). Suites that drive a
model take it from ``ctx.model_factory`` (the configured endpoint, or a scripted fake in tests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field

from finagent.settings import Settings

if TYPE_CHECKING:
    from evals.progress import Progress
    from finagent.llm import ChatModel, LLMMeter

T = TypeVar("T")
ModelFactory = Callable[["LLMMeter"], "ChatModel"]
"""Builds the model one case talks to, recording its calls into the case's meter."""

# What a case item may carry; the report reads these, suites add their own keys beside them.
CASE_KEYS = ("id", "split", "passed", "inputs", "outputs", "scores", "latency_s", "llm", "error")


def split_of(case_id: str) -> Literal["dev", "heldout"]:
    """The half a case belongs to: tune on dev, report held-out as figures only. A hash of the id, so
    the split is the same everywhere and a new case lands in a half without moving the others (the
    retrieval suite uses the same rule)."""
    digest = hashlib.sha256(f"finagent-split:{case_id}".encode()).hexdigest()
    return "dev" if int(digest, 16) % 2 == 0 else "heldout"


@dataclass
class SuiteContext:
    out_dir: Path
    settings: Settings
    options: dict[str, Any] = field(default_factory=dict)  # e.g. corpus=Path, questions=Path
    show_progress: bool = True
    repeat: int = 1  # --repeat K: each case runs K times (pass^k)
    concurrency: int = 1  # --concurrency N: cases run N at a time
    limit: int | None = None  # run only the first N cases of each split (the fast subset in tests)
    model_factory: ModelFactory | None = None
    reporter: Progress | None = None

    def progress(self, items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
        """Iterate with a progress bar (no pass/fail counts)."""
        if self.reporter is None or not self.show_progress:
            yield from items
            return
        yield from self.reporter.iterate(items, desc, total)

    def start_cases(self, desc: str, total: int) -> None:
        if self.reporter is not None:
            self.reporter.start_cases(desc, total)

    def case_done(self, passed: bool) -> None:
        if self.reporter is not None:
            self.reporter.case_done(passed)

    def make_model(self, meter: LLMMeter) -> ChatModel:
        if self.model_factory is None:
            from finagent.llm import chat_model_from_settings

            return chat_model_from_settings(self.settings, meter=meter)
        return self.model_factory(meter)


class Gate(BaseModel):
    """A regression gate: the run fails when ``metric`` falls below ``minimum`` or rises above
    ``maximum`` (a count that must stay 0, such as unapproved executions)."""

    metric: str
    minimum: float | None = None
    maximum: float | None = None

    def fails(self, value: float | None) -> bool:
        if value is None:
            return True
        return (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        )

    def describe(self) -> str:
        parts = [f">= {self.minimum}" if self.minimum is not None else "", f"<= {self.maximum}"
                 if self.maximum is not None else ""]  # fmt: skip
        return " and ".join(p for p in parts if p)


class SuiteResult(BaseModel):
    suite: str
    metrics: dict[str, float]
    gates: list[Gate] = Field(default_factory=list)
    items: list[dict[str, Any]] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    report_md: str = ""  # the suite's own Markdown section (tables, notes)
    charts: list[str] = Field(default_factory=list)  # PNG file names written into out_dir
    lower_is_better: list[str] = Field(default_factory=list)  # metrics where a rise is a regression

    def failed_gates(self) -> list[Gate]:
        return [g for g in self.gates if g.fails(self.metrics.get(g.metric))]


SuiteRunner = Callable[[SuiteContext], SuiteResult]
