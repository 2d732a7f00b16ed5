"""Demo data for development and tests: three customers with accounts, cards, payees and 90 days of
history, and one or two staff members per staff role. Refused in production by Settings
(SEED_DEMO_DATA=false)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finagent.auth import hash_password
from finagent.models import Account, Card, Customer, Payee, Transfer, User, utcnow

DEMO_USERS = [
    # username, password, role, subject, display name
    ("alice", "alice-demo", "customer", "cust-001", "Alice Martin"),
    ("bob", "bob-demo", "customer", "cust-002", "Bob Keller"),
    ("carol", "carol-demo", "customer", "cust-003", "Carol Nguyen"),
    ("ana", "ana-demo", "compliance_officer", "officer-ana", "Ana Weiss (Compliance)"),
    ("ben", "ben-demo", "compliance_officer", "officer-ben", "Ben Ott (Compliance)"),
    ("sara", "sara-demo", "supervisor", "staff-sara", "Sara Lind (Supervisor)"),
    ("otto", "otto-demo", "auditor", "staff-otto", "Otto Brandt (Audit)"),
    ("uma", "uma-demo", "underwriter", "staff-uma", "Uma Roth (Underwriting)"),
    ("kai", "kai-demo", "aml_analyst", "staff-kai", "Kai Berger (AML)"),
    ("sven", "sven-demo", "service_agent", "staff-sven", "Sven Haas (Service)"),
]


async def _add_missing_users(session: AsyncSession) -> None:
    """Demo users that an older demo database does not have yet (the staff roles came later)."""
    known = set((await session.scalars(select(User.username))).all())
    session.add_all(
        [
            User(username=u, password_hash=hash_password(p), role=r, subject=s, display_name=n)
            for u, p, r, s, n in DEMO_USERS
            if u not in known
        ]
    )


def _history(customer_id: str, account_id: str, salary: str, rent: str, landlord: str) -> list[Transfer]:
    now = utcnow()
    rows: list[Transfer] = []
    for month in range(3):
        day = now - timedelta(days=30 * month + 3)
        rows.append(
            Transfer(
                customer_id=customer_id,
                account_id=account_id,
                direction="in",
                amount=Decimal(salary),
                counterparty="Employer Payroll GmbH",
                counterparty_country="DE",
                at=day,
            )
        )
        rows.append(
            Transfer(
                customer_id=customer_id,
                account_id=account_id,
                direction="out",
                amount=Decimal(rent),
                counterparty=landlord,
                counterparty_country="DE",
                at=day + timedelta(days=1),
            )
        )
        rows.append(
            Transfer(
                customer_id=customer_id,
                account_id=account_id,
                direction="out",
                amount=Decimal("84.90"),
                counterparty="Stadtwerke Energie",
                counterparty_country="DE",
                at=day + timedelta(days=5),
            )
        )
    return rows


async def seed_demo_data(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Insert the demo data once; returns False when it is already there."""
    async with sessions() as session:
        if await session.scalar(select(User).limit(1)) is not None:
            await _add_missing_users(session)
            await session.commit()
            return False
        today = utcnow().date()
        session.add_all(
            [
                Customer(
                    id="cust-001",
                    name="Alice Martin",
                    country="DE",
                    kyc_status="verified",
                    risk_profile="C3",
                    account_opened=date(2019, 4, 1),
                    last_activity=today,
                ),
                Customer(
                    id="cust-003",
                    name="Carol Nguyen",
                    country="DE",
                    kyc_status="verified",
                    risk_profile="C4",
                    account_opened=date(2016, 2, 1),
                    last_activity=today,
                ),
                Customer(
                    id="cust-002",
                    name="Bob Keller",
                    country="DE",
                    kyc_status="verified",
                    risk_profile="C2",
                    account_opened=date(2022, 9, 15),
                    last_activity=today,
                ),
            ]
        )
        await session.flush()
        session.add_all(
            [
                Account(
                    id="acc-001",
                    customer_id="cust-001",
                    iban="DE44500105175407324931",
                    balance=Decimal("84250.00"),
                ),
                Account(
                    id="acc-002",
                    customer_id="cust-002",
                    iban="DE21500105170123456789",
                    balance=Decimal("6320.00"),
                ),
                Account(
                    id="acc-003",
                    customer_id="cust-003",
                    iban="DE68500105178297336485",
                    balance=Decimal("152400.00"),
                ),
                Card(id="card-004", customer_id="cust-003", product="Lakeshore Debit", last4="5562"),
                Card(id="card-001", customer_id="cust-001", product="Lakeshore Debit", last4="4821"),
                Card(id="card-002", customer_id="cust-001", product="Lakeshore Credit Gold", last4="9913"),
                Card(id="card-003", customer_id="cust-002", product="Lakeshore Debit", last4="3307"),
                Payee(
                    customer_id="cust-001",
                    name="Hausverwaltung Berlin",
                    iban="DE89370400440532013000",
                    country="DE",
                ),
                Payee(customer_id="cust-001", name="Anna Weber", iban="DE12500105170648489890", country="DE"),
                Payee(
                    customer_id="cust-002",
                    name="Mietservice Nord",
                    iban="DE02120300000000202051",
                    country="DE",
                ),
            ]
        )
        await session.flush()
        session.add_all(_history("cust-001", "acc-001", "5200.00", "1450.00", "Hausverwaltung Berlin"))
        session.add_all(_history("cust-002", "acc-002", "3100.00", "890.00", "Mietservice Nord"))
        session.add_all(_history("cust-003", "acc-003", "9800.00", "2300.00", "Immobilien Rhein GmbH"))
        await _add_missing_users(session)
        await session.commit()
        return True
