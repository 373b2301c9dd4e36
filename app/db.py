"""The engine factory and table creation; the tables themselves are in ``app.rows``."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

from app.rows import Base


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def create_tables(engine: Engine) -> list[str]:
    """Create missing tables and columns; several processes starting at once on PostgreSQL take
    turns (an advisory lock), so none fails on a table another is creating."""
    from sqlalchemy import text

    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(741101)"))
        Base.metadata.create_all(connection)
    return add_missing_columns(engine)


def add_missing_columns(engine: Engine) -> list[str]:
    """Columns added to a table after a database was made (``create_all`` creates missing tables
    only): ``ALTER TABLE ... ADD COLUMN`` with the column's scalar default. Returns "table.column"s."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    added: list[str] = []
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                ddl = (
                    f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type.compile(engine.dialect)}"
                )
                default = getattr(column.default, "arg", None)
                if isinstance(default, bool):
                    ddl += f" DEFAULT {'true' if default else 'false'}"
                elif isinstance(default, int | float):
                    ddl += f" DEFAULT {default}"
                connection.execute(text(ddl))
                added.append(f"{table.name}.{column.name}")
    return added
