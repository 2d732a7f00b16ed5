"""The progress bar of `finagent eval`: one bar per suite step, with live pass and fail counts."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sized
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

T = TypeVar("T")


class Progress:
    """Wraps rich's progress display; safe to call from the worker threads that run cases."""

    def __init__(self, console: Console | None = None, enabled: bool = True) -> None:
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[passed]} pass[/] [red]{task.fields[failed]} fail[/]"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self._task: TaskID | None = None
        self._lock = threading.Lock()
        self.passed = self.failed = 0

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._bar.stop()

    def start_cases(self, desc: str, total: int) -> None:
        with self._lock:
            self.passed = self.failed = 0
            self._task = self._bar.add_task(desc, total=total, passed=0, failed=0)

    def case_done(self, passed: bool) -> None:
        with self._lock:
            if passed:
                self.passed += 1
            else:
                self.failed += 1
            if self._task is not None:
                self._bar.update(self._task, advance=1, passed=self.passed, failed=self.failed)

    def iterate(self, items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
        if total is None and isinstance(items, Sized):
            total = len(items)
        task = self._bar.add_task(desc, total=total, passed="-", failed="-")
        for item in items:
            yield item
            self._bar.update(task, advance=1)
