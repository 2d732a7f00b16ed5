"""Sign-in lock-outs per user name and per client address, kept in the database so that every server
process sees the same counts.

Every attempt is counted before its password is checked, so a burst of parallel guesses cannot slip
past the limit; a successful sign-in then clears the user name's count and takes its own attempt back
from the address's. More attempts than the limit within the window lock the key for the lock-out
period. A locked request is answered without looking at the user name or the password, so the answer
is the same whether the name exists or not.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finagent.models import LoginCounter
from finagent.settings import Settings

T = LoginCounter.__table__.c


@dataclass
class LoginThrottle:
    sessions: async_sessionmaker[AsyncSession]
    max_per_user: int
    max_per_address: int
    window_s: float
    lockout_s: float
    clock: Callable[[], float] = field(default=time.time)

    @classmethod
    def from_settings(cls, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> LoginThrottle:
        return cls(
            sessions=sessions,
            max_per_user=settings.login_max_failures,
            max_per_address=settings.login_max_failures_per_ip,
            window_s=settings.login_failure_window_s,
            lockout_s=settings.login_lockout_s,
        )

    async def admit(self, username: str, address: str) -> int | None:
        """Count an attempt to sign in as `username` from `address`; None to go ahead and check the
        password, or the seconds to wait (Retry-After) while the name or the address is locked."""
        now = self.clock()
        limits = {f"user:{username}": self.max_per_user, f"ip:{address}": self.max_per_address}
        async with self.sessions() as session:
            locked = await session.scalars(
                select(T.locked_until).where(T.key.in_(limits), T.locked_until > now)
            )
            wait = max(locked, default=None)
        if wait is not None:
            return self._seconds(wait - now)
        async with self.sessions() as session, session.begin():
            # Written first, so that on SQLite the transaction holds the write lock from its start.
            for key, limit in limits.items():  # always in this order: two requests never deadlock
                attempts, locked_until = await self._count(session, key, now)
                if locked_until > now:  # locked by a concurrent request since the check above
                    wait = max(wait or 0.0, locked_until - now)
                elif attempts > limit:
                    await session.execute(
                        update(LoginCounter)
                        .where(T.key == key)
                        .values(attempts=0, window_start=now, locked_until=now + self.lockout_s)
                    )
                    wait = max(wait or 0.0, self.lockout_s)
        await self._forget_stale(now)
        return None if wait is None else self._seconds(wait)

    async def succeeded(self, username: str, address: str) -> None:
        """The password was right: clear the name's count, and this attempt from the address's."""
        async with self.sessions() as session, session.begin():
            await session.execute(delete(LoginCounter).where(T.key == f"user:{username}"))
            await session.execute(
                update(LoginCounter)
                .where(T.key == f"ip:{address}", T.attempts > 0)
                .values(attempts=T.attempts - 1)
            )

    async def _count(self, session: AsyncSession, key: str, now: float) -> tuple[int, float]:
        """Add one attempt to `key` in one statement (a new window once the old one has passed); a
        locked key is left as it is. Returns the attempts and the lock after the statement."""
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        row = insert(LoginCounter).values(key=key, attempts=1, window_start=now, locked_until=0.0)
        locked = T.locked_until > now
        expired = T.window_start <= now - self.window_s
        upsert = row.on_conflict_do_update(
            index_elements=[T.key],
            set_={
                "attempts": case((locked, T.attempts), (expired, 1), else_=T.attempts + 1),
                "window_start": case((locked, T.window_start), (expired, now), else_=T.window_start),
            },
        ).returning(T.attempts, T.locked_until)
        attempts, locked_until = (await session.execute(upsert)).one()
        return int(attempts), float(locked_until)

    async def _forget_stale(self, now: float) -> None:
        """Drop the counts whose window and lock-out have both passed, so the table stays small."""
        async with self.sessions() as session, session.begin():
            stale = (
                select(T.key)
                .where(T.window_start <= now - self.window_s, T.locked_until <= now)
                .with_for_update(skip_locked=True)  # never wait on a row another sign-in is counting
            )
            await session.execute(delete(LoginCounter).where(T.key.in_(stale)))

    @staticmethod
    def _seconds(wait: float) -> int:
        return max(1, math.ceil(wait))
