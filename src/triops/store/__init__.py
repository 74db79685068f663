"""Persistence: the SQL store (SQLite by default, PostgreSQL for teams), its schema, migrations and repositories."""
