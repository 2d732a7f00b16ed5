"""Relational schema. Alembic migrations in `migrations/` create it; tests run it on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import Date, TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC time that reads back time-zone aware on SQLite too (which stores it without the zone), so
    the queue can compare it with now()."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))  # finagent.auth.Role: customer or a staff role
    subject: Mapped[str] = mapped_column(String(64))  # customer id or staff id
    display_name: Mapped[str] = mapped_column(String(128))


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    country: Mapped[str] = mapped_column(String(2), default="DE")
    kyc_status: Mapped[str] = mapped_column(String(16), default="verified")
    risk_profile: Mapped[str | None] = mapped_column(String(2), nullable=True)
    account_opened: Mapped[date] = mapped_column(Date)
    last_activity: Mapped[date | None] = mapped_column(Date, nullable=True)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    iban: Mapped[str] = mapped_column(String(34), unique=True)
    balance: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")


class Card(Base):
    __tablename__ = "cards"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    product: Mapped[str] = mapped_column(String(64))
    last4: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | blocked


class Payee(Base):
    __tablename__ = "payees"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
    country: Mapped[str] = mapped_column(String(2), default="DE")


class Transfer(Base):
    """Ledger of money movements, used as screening history and written by executed transfers."""

    __tablename__ = "transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    counterparty: Mapped[str] = mapped_column(String(128))
    counterparty_country: Mapped[str] = mapped_column(String(2), default="DE")
    at: Mapped[datetime] = mapped_column(index=True)
    action_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)


class Thread(Base):
    __tablename__ = "threads"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), default="answered")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Action(Base):
    """A proposed side effect: its arguments, the verdict that judged it, and what became of it."""

    __tablename__ = "actions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id"), index=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)  # the LangGraph thread that holds it
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str] = mapped_column(String(300))
    rationale: Mapped[str] = mapped_column(Text, default="")
    verdict: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The verdict of the re-check just before the side effect, when it refused to run (invariant 10).
    recheck_verdict: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # confirm | pending_approval | approved | executed | rejected | blocked | cancelled | failed | refused
    status: Mapped[str] = mapped_column(String(32))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    executed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WorkItem(Base):
    """One thing a person decides: a held action (approval), an AML alert, a loan referral, a hand-off, a
    complaint. finagent.work_queue owns its life; `subject_type`/`subject_id` point at what it is about."""

    __tablename__ = "work_items"
    __table_args__ = (
        UniqueConstraint("kind", "subject_id"),  # enqueueing the same subject twice is a no-op
        # The queue page: open items of one role, most urgent first, then the SLA that runs out first.
        Index("ix_work_items_queue", "status", "role", "priority", "sla_due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # approval | aml_alert | loan_referral | handoff | complaint
    # pending while open; then kind-specific: approved | rejected | resolved | dismissed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 1 urgent, 2 high, 3 normal, 4 low
    role: Mapped[str] = mapped_column(String(32))  # the candidate role that works it
    title: Mapped[str] = mapped_column(String(300))  # what the list shows and text search looks in
    subject_type: Mapped[str] = mapped_column(String(32))  # action | alert | thread | application ...
    subject_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # for display only, never decided on
    approvals_needed: Mapped[int] = mapped_column(Integer, default=1)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Approvals: rejected automatically after this.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WorkItemEvent(Base):
    """A work item's history (queued, claimed, released, reassigned, escalated, decided, expired ...).
    Also the feed of live queue notifications: its id is the SSE event id."""

    __tablename__ = "work_item_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RevokedToken(Base):
    """Session tokens revoked at sign-out, shared by every server process; kept until they expire."""

    __tablename__ = "revoked_tokens"
    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # Unix seconds, the token's `exp`


class ApprovalDecision(Base):
    __tablename__ = "approval_decisions"
    __table_args__ = (UniqueConstraint("item_id", "approver"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    approver: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # approve | reject
    reason_code: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Execution(Base):
    """One row per executed side effect: the unique key is what makes execution happen once."""

    __tablename__ = "executions"
    idempotency_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("actions.id"))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only, hash-chained: each entry's hash covers its content and the previous hash."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48), index=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class LoginCounter(Base):
    """Sign-in attempts per user name or client address in the current window, shared by every server
    process (finagent.login_throttle). Times are Unix seconds: the rows are compared, never shown."""

    __tablename__ = "login_counters"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # "user:<name>" | "ip:<address>"
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[float] = mapped_column(Float, index=True)
    locked_until: Mapped[float] = mapped_column(Float, default=0.0)


class RiskProfile(Base):
    """A customer's investor profile: the questionnaire in progress, or its scored result. One row per
    attempt; a completed row is the profile of record until it expires, the customer retakes the
    questionnaire, or says their situation changed (status "withdrawn")."""

    __tablename__ = "risk_profiles"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    # in_progress | active | superseded | withdrawn | abandoned
    status: Mapped[str] = mapped_column(String(16), index=True)
    questionnaire_version: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(Text, default="")  # the engine's version: packs and hash
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)  # question id -> option id
    current_question: Mapped[str | None] = mapped_column(String(64), nullable=True)  # asked, not answered
    language: Mapped[str] = mapped_column(String(2), default="en")  # the questionnaire's language
    risk_class: Mapped[str | None] = mapped_column(String(2), nullable=True)
    score: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # points, caps, drivers
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Holding(Base):
    """The demo holdings ledger: one row per executed order leg (a fund bought, or sold by a
    rebalance). A position is the sum of its rows; `action_id` + `product_id` is unique, so a retried
    execution cannot book a leg twice."""

    __tablename__ = "holdings"
    __table_args__ = (UniqueConstraint("action_id", "product_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    product_id: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # EUR; negative for a sale
    portfolio_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("actions.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SuitabilityReport(Base):
    """The suitability report of one recommendation or order, as the customer reads it (HTML), with
    what the audit needs: questionnaire version, market-data snapshot and policy version."""

    __tablename__ = "suitability_reports"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id"), index=True)
    action_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("risk_profiles.id"))
    questionnaire_version: Mapped[str] = mapped_column(String(32))
    market_data_snapshot: Mapped[str] = mapped_column(String(200))
    policy_version: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the tool's numbers and the reasons
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AmlAlert(Base):
    """One alert per screened transaction (the unique tx_id makes a redelivered transaction a no-op),
    written by the monitoring workers (`finagent monitor run`) and the network job."""

    __tablename__ = "aml_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    tx_id: Mapped[str] = mapped_column(String(128), unique=True)
    source: Mapped[str] = mapped_column(String(16), default="stream")  # stream | network
    account: Mapped[str] = mapped_column(String(64), index=True)  # the paying account
    counterparty: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    occurred_at: Mapped[datetime] = mapped_column()  # the transfer's own time
    score: Mapped[float] = mapped_column(Float, index=True)
    rules_hit: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | closed | escalated
    enqueued_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
