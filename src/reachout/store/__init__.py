"""Persistence: SQLAlchemy Core over SQLite (default) or PostgreSQL, schema by Alembic."""
