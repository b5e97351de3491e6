"""Alembic migrations for One Map's system schema (registry, changesets, auth)."""
