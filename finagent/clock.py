"""The time the work queue reads: SLA due times, claim and approval expiry, escalation.

Injectable so that tests move time instead of sleeping: `Clock.advance` shifts what `now()` returns for
everything that holds this clock (the server's sweep, the queue API). Production never moves it: the
only way to do so over HTTP is an endpoint that exists in ENVIRONMENT=test alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class Clock:
    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> datetime:
        """Move time forward (never back: a due time once passed stays passed); returns the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += timedelta(seconds=seconds)
        return self.now()
