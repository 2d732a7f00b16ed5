"""The LangGraph checkpointer that matches the database: SQLite file or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from finagent.settings import Settings


def postgres_dsn(url: str) -> str:
    """SQLAlchemy's postgresql+asyncpg://... as the plain DSN psycopg wants."""
    return "postgresql://" + url.split("://", 1)[1]


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    url = settings.database
    if url.startswith("postgresql"):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        async with AsyncConnectionPool(
            postgres_dsn(url),
            max_size=10,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        ) as pool:
            pg_saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            await pg_saver.setup()
            yield pg_saver
    else:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        db_path = Path(url.split("///", 1)[-1])
        path = db_path.with_name(db_path.stem + "-checkpoints.db")
        path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            await saver.setup()
            yield saver
