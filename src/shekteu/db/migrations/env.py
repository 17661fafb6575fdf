"""Alembic environment: always run on the connection Shekteu hands over (see shekteu.db.upgrade)."""

from alembic import context

from shekteu.db.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
