"""Alembic environment: runs migrations against the URL set by ``vetbot.db.upgrade``."""

from __future__ import annotations

from alembic import context

from vetbot.db import Base, create_db_engine, import_all_models

import_all_models()
target_metadata = Base.metadata
config = context.config


def run_migrations_online() -> None:
    """Run migrations in a transaction on a live connection."""
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = create_db_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
