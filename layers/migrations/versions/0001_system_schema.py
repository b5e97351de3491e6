"""System schema: layer registry, changesets and per-feature changes, auth principals.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE SCHEMA IF NOT EXISTS onemap")
    op.execute("CREATE SCHEMA IF NOT EXISTS data")
    op.execute("CREATE SEQUENCE IF NOT EXISTS onemap.feature_id_seq AS bigint START 1000")
    op.execute(
        """
        CREATE TABLE onemap.layers (
          id text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]{0,49}$'),
          title_zh text NOT NULL,
          title_en text NOT NULL,
          description_zh text,
          description_en text,
          grp text NOT NULL CHECK (grp IN ('一张图', '管线', '建筑', '网格', 'overlay')),
          kind text NOT NULL DEFAULT 'vector' CHECK (kind IN ('vector', 'raster')),
          geometry_type text,
          schema jsonb NOT NULL DEFAULT '{"fields": []}',
          access text NOT NULL CHECK (access IN ('public', 'internal', 'restricted')),
          style_id text,
          min_zoom smallint NOT NULL DEFAULT 0 CHECK (min_zoom BETWEEN 0 AND 24),
          max_zoom smallint NOT NULL DEFAULT 22 CHECK (max_zoom BETWEEN 0 AND 24),
          temporal_start timestamptz,
          temporal_end timestamptz,
          metadata jsonb NOT NULL DEFAULT '{}',
          builtin boolean NOT NULL DEFAULT true,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          CHECK (min_zoom <= max_zoom),
          CHECK (kind = 'raster' OR geometry_type IS NOT NULL)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE onemap.changesets (
          id bigserial PRIMARY KEY,
          actor text NOT NULL,
          source text NOT NULL CHECK (source IN ('api', 'import', 'sample', 'admin', 'test')),
          recorded_at timestamptz NOT NULL DEFAULT now(),
          note text,
          details jsonb NOT NULL DEFAULT '{}'
        )
        """
    )
    op.execute(
        """
        CREATE TABLE onemap.changes (
          id bigserial PRIMARY KEY,
          changeset_id bigint NOT NULL REFERENCES onemap.changesets(id),
          layer_id text NOT NULL REFERENCES onemap.layers(id),
          fid bigint NOT NULL,
          op text NOT NULL CHECK (op IN ('insert', 'replace', 'update', 'retire')),
          version_before integer,
          version_after integer NOT NULL,
          recorded_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX changes_feature ON onemap.changes (layer_id, fid, id)")
    op.execute("CREATE INDEX changes_changeset ON onemap.changes (changeset_id)")
    op.execute(
        """
        CREATE TABLE onemap.principals (
          id bigserial PRIMARY KEY,
          name text NOT NULL UNIQUE,
          kind text NOT NULL CHECK (kind IN ('user', 'system')),
          display_name text,
          password_hash text,
          roles text[] NOT NULL DEFAULT '{viewer}',
          grants text[] NOT NULL DEFAULT '{}',
          disabled boolean NOT NULL DEFAULT false,
          created_at timestamptz NOT NULL DEFAULT now(),
          CHECK (roles <@ ARRAY['viewer', 'editor', 'admin']::text[])
        )
        """
    )
    op.execute(
        """
        CREATE TABLE onemap.api_keys (
          id bigserial PRIMARY KEY,
          principal_id bigint NOT NULL REFERENCES onemap.principals(id),
          prefix text NOT NULL,
          key_hash text NOT NULL UNIQUE,
          label text,
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz,
          revoked_at timestamptz,
          last_used_at timestamptz
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS onemap.api_keys")
    op.execute("DROP TABLE IF EXISTS onemap.principals")
    op.execute("DROP TABLE IF EXISTS onemap.changes")
    op.execute("DROP TABLE IF EXISTS onemap.changesets")
    op.execute("DROP TABLE IF EXISTS onemap.layers")
    op.execute("DROP SEQUENCE IF EXISTS onemap.feature_id_seq")
