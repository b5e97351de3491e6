"""Writes without If-Match, the per-layer setting that refuses them, and sign-in lock-out.

- ``onemap.changes.unconditional``: the write named no version (no ``If-Match``, or ``If-Match: *``),
  so the audit trail tells a blind overwrite from a checked one.
- ``onemap.layers.require_if_match``: a layer that wants every edit to name the version it
  replaces (428 without ``If-Match``); off by default, because every write is a new version anyway.
- ``onemap.sign_in_failures``: recent failed password checks per name, and until when the name
  is locked. One row per name keeps the check a single primary-key read on every sign-in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Constant defaults: PostgreSQL adds these columns without rewriting the tables.
    op.execute("ALTER TABLE onemap.changes ADD COLUMN unconditional boolean NOT NULL DEFAULT false")
    op.execute("ALTER TABLE onemap.layers ADD COLUMN require_if_match boolean NOT NULL DEFAULT false")
    op.execute(
        """
        CREATE TABLE onemap.sign_in_failures (
          name text PRIMARY KEY,
          failures timestamptz[] NOT NULL DEFAULT '{}',
          locked_until timestamptz
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS onemap.sign_in_failures")
    op.execute("ALTER TABLE onemap.layers DROP COLUMN IF EXISTS require_if_match")
    op.execute("ALTER TABLE onemap.changes DROP COLUMN IF EXISTS unconditional")
