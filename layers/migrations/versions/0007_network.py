"""The latest change of each layer in one index probe, for the network graph cache's stamp.

``analysis/network/cache.py`` checks on every use that a cached pipe-network graph is still
exact: it compares the newest ``onemap.changes`` id of the category's two layers with the one
the graph was built from. ``changes_feature (layer_id, fid, id)`` cannot answer
``max(id) WHERE layer_id = …`` without reading every change of the layer; this index answers it
with one backward probe, whatever the history's length.

Revision ID: 0007_network
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0007_network"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS changes_layer_latest ON onemap.changes (layer_id, id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS onemap.changes_layer_latest")
