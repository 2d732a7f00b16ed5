"""Logs and turns as operations see them: JSON log lines carrying the request and turn ids with personal
data redacted, and one span, latency and outcome count per graph turn.

Redaction runs on the formatted line, exception text included, so no logger anywhere (ours, uvicorn's,
a library's) can write an IBAN, card number, phone number, e-mail address or a customer's or payee's
name into the logs. The detectors are the ones that check replies (tools/pii.py, with their checksums),
plus libphonenumber for phone numbers, plus the names in the bank's customer profiles.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.config
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finagent.metrics import QUEUE_ITEMS, QUEUE_OLDEST_SECONDS, TURN_SECONDS, TURNS
from finagent.models import Customer, Payee, Thread, WorkItem, utcnow
from finagent.settings import Settings
from finagent.telemetry import tracer
from tools.pii import DETECTORS

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
turn_id_var: ContextVar[str | None] = ContextVar("turn_id", default=None)

_LOG_DETECTORS = [
    DETECTORS[name]
    for name in (
        "iban",
        "payment_card",
        "cn_resident_id",
        "email",
        "secret",
        "card_security_code",
        "national_id",
        "passport",
    )
]
# Numbers written without a country code are read as numbers of the demo bank's country.
PHONE_REGION = "DE"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_NAME_PART = 3


class Redactor:
    """Masks personal data in a log line. Knows the names of the bank's customers and their payees."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def learn(self, names: Iterable[str]) -> None:
        """Add names: the full name and each part of it long enough to identify someone."""
        parts = set()
        for name in names:
            name = " ".join(name.split())
            if not name:
                continue
            parts.add(name)
            parts.update(p for p in re.split(r"[\s,]+", name) if len(p) >= MIN_NAME_PART)
        with self._lock:
            if parts <= self._names:
                return
            self._names |= parts
            alternatives = "|".join(re.escape(n) for n in sorted(self._names, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def redact(self, text: str) -> str:
        spans = [s for detect in _LOG_DETECTORS for s in detect(text, ())]
        cuts = [(s.start, s.end, s.masked()) for s in spans]
        for match in phonenumbers.PhoneNumberMatcher(text, PHONE_REGION):
            cuts.append((match.start, match.end, "[phone]"))
        pattern = self._pattern
        if pattern is not None:
            cuts += [(m.start(), m.end(), "[name]") for m in pattern.finditer(text)]
        # Outermost first, overlaps dropped, replaced from the end so offsets stay right.
        kept: list[tuple[int, int, str]] = []
        for start, end, mask in sorted(cuts, key=lambda c: (c[0], -c[1])):
            if kept and start < kept[-1][1]:
                continue
            kept.append((start, end, mask))
        for start, end, mask in reversed(kept):
            text = text[:start] + mask + text[end:]
        return text


REDACTOR = Redactor()


async def learn_names(sessions: async_sessionmaker[AsyncSession], thread_id: str | None = None) -> None:
    """Teach the redactor the names of every customer and payee (at start), or of the customer of a
    conversation and its payees (at each turn, so that a customer added since is covered too)."""
    async with sessions() as session:
        people = select(Customer.name)
        payees = select(Payee.name)
        if thread_id is not None:
            owner = select(Thread.customer_id).where(Thread.id == thread_id).scalar_subquery()
            people = people.where(Customer.id == owner)
            payees = payees.where(Payee.customer_id == owner)
        names = [*(await session.scalars(people)).all(), *(await session.scalars(payees)).all()]
    REDACTOR.learn(names)


# Database drivers log every statement with its parameters at DEBUG: customers' messages, names, and
# LangGraph checkpoints as binary msgpack that no detector can read. Those lines never reach the logs,
# whatever LOG_LEVEL says.
_PARAMETER_DUMPERS = ("aiosqlite", "asyncpg", "psycopg", "sqlalchemy.engine", "sqlalchemy.pool")


class NoParameterDumps(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG or not record.name.startswith(_PARAMETER_DUMPERS)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request and turn ids; PII redacted."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": REDACTOR.redact(record.getMessage()),
        }
        if (request_id := request_id_var.get()) is not None:
            line["request_id"] = request_id
        if (turn_id := turn_id_var.get()) is not None:
            line["turn_id"] = turn_id
        if record.exc_info:
            line["exception"] = REDACTOR.redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class RedactingTextFormatter(logging.Formatter):
    """The plain-text alternative (LOG_FORMAT=text), redacted all the same."""

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(
            f"{k}={v}" for k, v in (("request", request_id_var.get()), ("turn", turn_id_var.get())) if v
        )
        return REDACTOR.redact(super().format(record) + (f" [{ids}]" if ids else ""))


def logging_config(settings: Settings) -> dict[str, Any]:
    """A dictConfig for the server and for uvicorn (`log_config=`): every logger through one handler."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if settings.log_format == "json"
        else {"()": RedactingTextFormatter, "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"finagent": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "finagent",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": settings.log_level}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))


def request_id(header: str | None) -> str:
    """The caller's X-Request-ID when it is a plain token (a proxy's), else a new one."""
    return header if header and _REQUEST_ID.fullmatch(header) else uuid.uuid4().hex


@dataclass
class Turn:
    id: str
    outcome: str = "error"


log = logging.getLogger("app.turns")


@asynccontextmanager
async def turn(
    sessions: async_sessionmaker[AsyncSession], kind: str, *, thread_id: str, run_id: str
) -> AsyncIterator[Turn]:
    """One graph turn: its id in every log line, a `turn` span (the graph's spans are its children),
    and its latency and outcome in the metrics. The caller sets `outcome` when the turn ends well."""
    current = Turn(id=uuid.uuid4().hex)
    token = turn_id_var.set(current.id)
    started = time.perf_counter()
    try:
        await learn_names(sessions, thread_id)
        attributes = {"finagent.turn.kind": kind, "finagent.thread_id": thread_id, "finagent.run_id": run_id}
        with tracer().start_as_current_span(f"turn {kind}", attributes=attributes) as span:
            try:
                yield current
            finally:
                span.set_attribute("finagent.turn.outcome", current.outcome)
    finally:
        elapsed = time.perf_counter() - started
        TURNS.labels(kind, current.outcome).inc()
        TURN_SECONDS.labels(kind).observe(elapsed)
        log.info("turn %s ended %s in %.3f s (thread %s)", kind, current.outcome, elapsed, thread_id)
        with contextlib.suppress(ValueError):  # closed from another context (a generator finalised late)
            turn_id_var.reset(token)


async def refresh_queue_gauges(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Set the work-queue gauges from the database, at scrape time (every replica sees the same)."""
    from finagent.work_queue import KIND_ROLE, OPEN

    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    WorkItem.kind,
                    WorkItem.claimed_by.is_not(None),
                    func.count(),
                    func.min(WorkItem.created_at),
                )
                .where(WorkItem.status == OPEN)
                .group_by(WorkItem.kind, WorkItem.claimed_by.is_not(None))
            )
        ).all()
    counts = {(kind, state): 0 for kind in KIND_ROLE for state in ("unclaimed", "claimed")}
    oldest: dict[str, Any] = {}
    for kind, claimed, count, first in rows:
        counts[(kind, "claimed" if claimed else "unclaimed")] = count
        if first is not None and (kind not in oldest or first < oldest[kind]):
            oldest[kind] = first
    for (kind, state), count in counts.items():
        QUEUE_ITEMS.labels(kind, state).set(count)
    now = utcnow()
    for kind in KIND_ROLE:
        since = oldest.get(kind)
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=now.tzinfo)
        QUEUE_OLDEST_SECONDS.labels(kind).set((now - since).total_seconds() if since is not None else 0)
