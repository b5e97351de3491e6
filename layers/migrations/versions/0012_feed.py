"""The change feed: a commit-order sequence over the audit tables, webhook subscriptions, deliveries.

Change ids follow write order, not commit order: two transactions can commit out of id order, so a
feed cursor that is just "the last change id" would skip a row that commits later with a smaller id.
So every transaction that writes ``onemap.changes`` or ``onemap.bulk_changes`` is numbered at its
commit, in commit order:

- both tables get ``xid`` (``xid8``, default ``pg_current_xact_id()``: the writing top-level
  transaction); rows written before this revision get the pseudo-transaction ``'1'`` (seq 0), through a
  constant default first, so the tables are not rewritten.
- an AFTER INSERT statement trigger on each table records the transaction once in
  ``onemap.feed_commits`` (xid, seq NULL);
- a deferred constraint trigger on ``onemap.feed_commits`` runs at COMMIT: it takes a
  transaction-level advisory lock, draws ``seq`` from ``onemap.feed_seq`` and notifies
  ``onemap_feed``. The lock is held until the commit is visible, so the next writer draws its
  number only after this one committed: seq order is commit order, and the committed seqs any
  snapshot sees form a prefix (gaps only from rolled-back transactions). The cost is that writers
  commit one at a time (the lock spans their commit record's flush).

``onemap.subscriptions`` are webhooks (owner principal, layers, operations, cursor, state);
``onemap.deliveries`` log every attempt. Delivery workers claim due subscriptions with
``FOR UPDATE SKIP LOCKED`` and a lease, so two app instances never deliver the same batch twice.

Revision ID: 0012_feed
Revises: 0011_cases
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0012_feed"
down_revision = "0011_cases"
branch_labels = None
depends_on = None

FEED_LOCK_KEY = 7_301_200_001  # pg_advisory_xact_lock key of the commit sequencer


def upgrade() -> None:
    op.execute("CREATE SEQUENCE onemap.feed_seq")
    op.execute(
        """
        CREATE TABLE onemap.feed_commits (
          xid xid8 PRIMARY KEY,
          seq bigint UNIQUE,
          committed_at timestamptz
        )
        """
    )
    op.execute("INSERT INTO onemap.feed_commits (xid, seq, committed_at) VALUES ('1'::xid8, 0, now())")
    for table in ("changes", "bulk_changes"):
        # A constant default fills existing rows without rewriting the table; new rows name their writer.
        op.execute(f"ALTER TABLE onemap.{table} ADD COLUMN xid xid8 NOT NULL DEFAULT '1'::xid8")
        op.execute(f"ALTER TABLE onemap.{table} ALTER COLUMN xid SET DEFAULT pg_current_xact_id()")
        op.execute(f"CREATE INDEX {table}_feed ON onemap.{table} (layer_id, xid)")
    op.execute(
        """
        CREATE FUNCTION onemap.feed_note_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO onemap.feed_commits (xid) VALUES (pg_current_xact_id()) ON CONFLICT (xid) DO NOTHING;
          RETURN NULL;
        END $$
        """
    )
    for table in ("changes", "bulk_changes"):
        op.execute(
            f"CREATE TRIGGER feed_note AFTER INSERT ON onemap.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION onemap.feed_note_transaction()"
        )
    op.execute(
        f"""
        CREATE FUNCTION onemap.feed_stamp_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          n bigint;
        BEGIN
          PERFORM pg_advisory_xact_lock({FEED_LOCK_KEY});
          n := nextval('onemap.feed_seq');
          UPDATE onemap.feed_commits SET seq = n, committed_at = clock_timestamp() WHERE xid = NEW.xid;
          PERFORM pg_notify('onemap_feed', n::text);
          RETURN NULL;
        END $$
        """  # noqa: S608 (FEED_LOCK_KEY is a constant)
    )
    # Named to sort last: constraint triggers fire in name order, and nothing may wait after the lock.
    op.execute(
        "CREATE CONSTRAINT TRIGGER zz_feed_stamp AFTER INSERT ON onemap.feed_commits "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION onemap.feed_stamp_commit()"
    )
    op.execute(
        """
        CREATE TABLE onemap.subscriptions (
          id bigserial PRIMARY KEY,
          url text NOT NULL,
          secret text NOT NULL,
          layers text[] NOT NULL,
          ops text[] NOT NULL DEFAULT '{insert,update,retire}',
          cursor text NOT NULL DEFAULT '0',
          state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused')),
          failures integer NOT NULL DEFAULT 0,
          next_attempt timestamptz NOT NULL DEFAULT now(),
          lease_until timestamptz,
          lease_token text,
          last_error text,
          last_delivered_at timestamptz,
          created_by text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          deleted_at timestamptz,
          CHECK (ops <@ ARRAY['insert', 'update', 'retire']::text[] AND cardinality(ops) > 0),
          CHECK (cardinality(layers) > 0)
        )
        """
    )
    op.execute("CREATE INDEX subscriptions_due ON onemap.subscriptions (next_attempt) "
               "WHERE state = 'active' AND deleted_at IS NULL")
    op.execute(
        """
        CREATE TABLE onemap.deliveries (
          id bigserial PRIMARY KEY,
          subscription_id bigint NOT NULL REFERENCES onemap.subscriptions(id),
          attempted_at timestamptz NOT NULL DEFAULT now(),
          cursor_from text NOT NULL,
          cursor_to text NOT NULL,
          mutations integer NOT NULL,
          status integer,
          error text,
          ok boolean NOT NULL,
          elapsed_ms double precision
        )
        """
    )
    op.execute("CREATE INDEX deliveries_subscription ON onemap.deliveries (subscription_id, id)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS onemap.deliveries")
    op.execute("DROP TABLE IF EXISTS onemap.subscriptions")
    for table in ("changes", "bulk_changes"):
        op.execute(f"DROP TRIGGER IF EXISTS feed_note ON onemap.{table}")
        op.execute(f"DROP INDEX IF EXISTS onemap.{table}_feed")
        op.execute(f"ALTER TABLE onemap.{table} DROP COLUMN IF EXISTS xid")
    op.execute("DROP TABLE IF EXISTS onemap.feed_commits")
    op.execute("DROP FUNCTION IF EXISTS onemap.feed_stamp_commit()")
    op.execute("DROP FUNCTION IF EXISTS onemap.feed_note_transaction()")
    op.execute("DROP SEQUENCE IF EXISTS onemap.feed_seq")
