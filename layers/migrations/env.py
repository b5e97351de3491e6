"""Alembic environment: runs migrations over asyncpg through SQLAlchemy's async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, version_table_schema="onemap", include_schemas=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by layers.migrate"
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS onemap")
        await connection.commit()
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline SQL generation is not supported; run `onemap db migrate`")
asyncio.run(_run_online())
