"""Alembic's environment for the history schema: runs on the connection ``Store.migrate`` hands it."""

from alembic import context

from stream.history.schema import metadata

conn = context.config.attributes.get("connection")
if conn is None:  # pragma: no cover - the store always passes its connection
    raise RuntimeError("run the history migrations through stream.history.store.Store.migrate")
context.configure(connection=conn, target_metadata=metadata, render_as_batch=conn.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
