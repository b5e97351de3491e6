"""Source-row fingerprints on feature versions, so re-deliveries skip unchanged rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _tables() -> list[str]:
    bind = op.get_bind()
    ids = [r[0] for r in bind.execute(sa.text("SELECT id FROM onemap.layers WHERE kind = 'vector'"))]
    return [i for i in ids if bind.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"),
                                           {"t": f'data."{i}"'}).scalar()]


def upgrade() -> None:
    for layer_id in _tables():
        op.execute(f'ALTER TABLE data."{layer_id}" ADD COLUMN IF NOT EXISTS src_hash bytea')


def downgrade() -> None:
    for layer_id in _tables():
        op.execute(f'ALTER TABLE data."{layer_id}" DROP COLUMN IF EXISTS src_hash')
