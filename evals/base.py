"""The contract every eval suite follows, so new suites join `finagent eval` without rework.

A suite is a module in ``evals/suites/`` with a ``run(ctx: SuiteContext) -> SuiteResult``
function, registered by name in ``evals/suites/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from finagent.settings import Settings

T = TypeVar("T")


@dataclass
class SuiteContext:
    out_dir: Path
    settings: Settings
    options: dict[str, Any] = field(default_factory=dict)  # e.g. corpus=Path, questions=Path
    show_progress: bool = True

    def progress(self, items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
        from tqdm import tqdm

        yield from tqdm(items, desc=desc, total=total, disable=not self.show_progress)


class Gate(BaseModel):
    """A regression gate: the run fails when ``metric`` falls below ``minimum``."""

    metric: str
    minimum: float


class SuiteResult(BaseModel):
    suite: str
    metrics: dict[str, float]
    gates: list[Gate] = Field(default_factory=list)
    items: list[dict[str, Any]] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    report_md: str = ""  # the suite's own Markdown section (tables, notes)
    charts: list[str] = Field(default_factory=list)  # PNG file names written into out_dir

    def failed_gates(self) -> list[Gate]:
        return [g for g in self.gates if self.metrics.get(g.metric, float("-inf")) < g.minimum]


SuiteRunner = Callable[[SuiteContext], SuiteResult]
