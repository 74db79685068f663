"""Repositories: SQL for each area of the store, SQLAlchemy Core with bound parameters only."""
