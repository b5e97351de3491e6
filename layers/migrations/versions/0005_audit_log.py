"""The access audit log (hash-chained, append-only), sign-in backoff, token revocation.

- ``onemap.audit_log``: one row per security event or read of a non-public layer. A BEFORE INSERT
  trigger numbers the row (``seq``) and chains it: ``hash = sha256(prev_hash || canonical text)``
  where the canonical text is ``jsonb_build_object(...)::text`` of every column (jsonb's text form
  is deterministic). The previous hash comes from the one-row ``onemap.audit_head``, read
  ``FOR UPDATE`` once per transaction, so concurrent writers from any number of processes are
  serialised into one order (the row lock, held to commit, not a sequence, decides ``seq``).
- UPDATE and TRUNCATE are refused by triggers; DELETE only for rows a retention checkpoint
  (``onemap.audit_checkpoints``) already covers, which is what ``onemap audit purge`` writes
  first. Checkpoints themselves are append-only. A superuser can still bypass triggers
  (``session_replication_role = replica``); ``onemap audit verify`` then finds the edit.
- ``onemap.sign_in_failures.locks``: how many times in a row the name was locked, so each new
  lock lasts twice as long as the last (growing backoff).
- ``onemap.principals.token_version`` and ``onemap.revoked_tokens``: a JWT carries its ``jti``
  and the user's token version; sign-out revokes one ``jti``, an admin bumps the version to
  revoke every token of a user.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Keep in step with layers/audit.py CANONICAL (verify recomputes the chain with that copy).
CANONICAL = """jsonb_build_object(
  'seq', {r}.seq, 'at', (extract(epoch FROM {r}.at) * 1000000)::bigint, 'kind', {r}.kind,
  'actor', {r}.actor, 'credential', {r}.credential, 'layer', {r}.layer, 'area', {r}.area,
  'features', {r}.features, 'status', {r}.status, 'path', {r}.path, 'client', {r}.client,
  'detail', {r}.detail)::text"""

# The head row is read FOR UPDATE once per transaction (that row lock orders concurrent writers
# until commit); later rows of the same transaction chain on from transaction-local settings, and
# the head is written once per statement. Updating the head row for every row instead made a
# 500-row batch walk an ever longer chain of row versions (measured: 142 µs per event).
CHAIN_FUNCTION = """
CREATE FUNCTION onemap.audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  last_seq bigint;
  last_hash bytea;
BEGIN
  IF coalesce(current_setting('onemap.audit_seq', true), '') = '' THEN
    SELECT seq, hash INTO last_seq, last_hash FROM onemap.audit_head FOR UPDATE;
  ELSE
    last_seq := current_setting('onemap.audit_seq')::bigint;
    last_hash := decode(current_setting('onemap.audit_hash'), 'hex');
  END IF;
  NEW.seq := last_seq + 1;
  NEW.prev_hash := last_hash;
  NEW.hash := sha256(last_hash || convert_to(<CANONICAL>, 'UTF8'));
  PERFORM set_config('onemap.audit_seq', NEW.seq::text, true),
          set_config('onemap.audit_hash', encode(NEW.hash, 'hex'), true);
  RETURN NEW;
END $$
"""
HEAD_FUNCTION = """
CREATE FUNCTION onemap.audit_head_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('onemap.audit_seq', true), '') <> '' THEN
    UPDATE onemap.audit_head SET seq = current_setting('onemap.audit_seq')::bigint,
                                 hash = decode(current_setting('onemap.audit_hash'), 'hex');
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE onemap.audit_log (
          seq bigint PRIMARY KEY,
          at timestamptz NOT NULL DEFAULT now(),
          kind text NOT NULL,
          actor text NOT NULL,
          credential text,
          layer text,
          area text,
          features integer,
          status integer,
          path text,
          client text,
          detail jsonb,
          prev_hash bytea NOT NULL,
          hash bytea NOT NULL
        )
        """
    )
    # The search filters: by time (and purge), by layer, by actor.
    op.execute("CREATE INDEX audit_log_at ON onemap.audit_log USING brin (at)")
    op.execute("CREATE INDEX audit_log_layer ON onemap.audit_log (layer, seq) WHERE layer IS NOT NULL")
    op.execute("CREATE INDEX audit_log_actor ON onemap.audit_log (actor, seq)")
    op.execute("CREATE TABLE onemap.audit_head (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
               "seq bigint NOT NULL, hash bytea NOT NULL)")
    op.execute("INSERT INTO onemap.audit_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'))")
    op.execute(
        """
        CREATE TABLE onemap.audit_checkpoints (
          id bigserial PRIMARY KEY,
          purged_through bigint NOT NULL,
          last_hash bytea NOT NULL,
          purged_rows bigint NOT NULL,
          before timestamptz NOT NULL,
          at timestamptz NOT NULL DEFAULT now(),
          actor text NOT NULL
        )
        """
    )
    op.execute(CHAIN_FUNCTION.replace("<CANONICAL>", CANONICAL.format(r="NEW")))
    op.execute(
        """
        CREATE FUNCTION onemap.audit_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF OLD.seq <= (SELECT coalesce(max(purged_through), 0) FROM onemap.audit_checkpoints) THEN
              RETURN OLD;  -- the retention purge: a checkpoint already holds this row's place in the chain
            END IF;
          END IF;
          RAISE EXCEPTION 'onemap.audit_log is append-only (% refused; purge with onemap audit purge)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION onemap.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'onemap.% is append-only (% refused)', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(HEAD_FUNCTION)
    op.execute("CREATE TRIGGER audit_chain BEFORE INSERT ON onemap.audit_log "
               "FOR EACH ROW EXECUTE FUNCTION onemap.audit_chain()")
    op.execute("CREATE TRIGGER audit_head AFTER INSERT ON onemap.audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION onemap.audit_head_update()")
    for table, guard in (("audit_log", "audit_purge_only"), ("audit_checkpoints", "audit_append_only")):
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON onemap.{table} "
                   f"FOR EACH ROW EXECUTE FUNCTION onemap.{guard}()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON onemap.{table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION onemap.audit_append_only()")
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON onemap.{table} FROM PUBLIC")

    op.execute("ALTER TABLE onemap.sign_in_failures ADD COLUMN locks integer NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE onemap.principals ADD COLUMN token_version integer NOT NULL DEFAULT 0")
    op.execute(
        """
        CREATE TABLE onemap.revoked_tokens (
          jti text PRIMARY KEY,
          expires_at timestamptz NOT NULL
        )
        """
    )
    op.execute("ALTER TABLE onemap.api_keys ADD COLUMN replaced_by bigint REFERENCES onemap.api_keys(id)")


def downgrade() -> None:
    op.execute("ALTER TABLE onemap.api_keys DROP COLUMN IF EXISTS replaced_by")
    op.execute("DROP TABLE IF EXISTS onemap.revoked_tokens")
    op.execute("ALTER TABLE onemap.principals DROP COLUMN IF EXISTS token_version")
    op.execute("ALTER TABLE onemap.sign_in_failures DROP COLUMN IF EXISTS locks")
    op.execute("DROP TABLE IF EXISTS onemap.audit_log, onemap.audit_head, onemap.audit_checkpoints")
    op.execute("DROP FUNCTION IF EXISTS onemap.audit_chain(), onemap.audit_head_update(), "
               "onemap.audit_append_only(), onemap.audit_purge_only()")
