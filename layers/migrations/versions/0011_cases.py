"""数字城管 cases: the state machine in the database, case events, attachments, case numbers, roles.

- ``onemap.case_transitions`` (from_state, action, to_state, roles): the one table of legal moves.
  ``onemap.case_transition(from, action, roles)`` answers the next state or raises SQLSTATE
  ``OC409`` (no such move from that state; the message lists the allowed actions) or ``OC403``
  (the caller's roles may not take it; ``admin`` may take every move).
- ``data.city_cases`` is created here, from its built-in definition, so that the guard trigger
  can be attached: after every INSERT statement it checks each new version against the one it
  replaces. A state change must be a move of the table, for the action the writer declared in
  the transaction-local setting ``onemap.case_action`` (set only by :mod:`cases.workflow`), so a
  Part 4 PUT/PATCH can correct a description but never move a case. A new case starts
  ``reported``. ``onemap.case_action = '*'`` (the sample loader and benchmarks writing history in
  bulk) accepts any move of the table, and any first state.
- ``onemap.case_events``: who, when, why and which attachments, one row per version of a case
  (keyed by case fid + version), and the log the live feed (/cases/events) replays from its
  ``id`` after a reconnect; each INSERT statement notifies ``onemap_cases`` with its last id.
- ``onemap.case_attachments``: photos (bytes, SHA-256, type, size), EXIF already stripped.
- ``onemap.case_numbers``: the per-day sequence behind case numbers (YYYYMMDD + 4 digits).
- ``onemap.principals``: the 数字城管 roles and a handler's department.

Revision ID: 0011_cases
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0011_cases"
down_revision = "0009_overviews"
branch_labels = None
depends_on = None

ROLES = ("viewer", "editor", "admin", "inspector", "operator", "supervisor", "dispatcher", "handler", "leader")
OPEN = ("reported", "accepted", "dispatched", "returned", "extended", "completed", "verifying")
S, D, I, H, O = "supervisor", "dispatcher", "inspector", "handler", "operator"  # noqa: E741
# (from, action, to, roles): docs/domain.md §2.3 and issue 11's table.
TRANSITIONS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("reported", "accept", "accepted", (O, S)),
    ("reported", "reject", "rejected", (O, S)),
    ("accepted", "dispatch", "dispatched", (D,)),
    ("returned", "dispatch", "dispatched", (D,)),
    ("hung", "dispatch", "dispatched", (D, S)),
    ("dispatched", "complete", "completed", (H,)),
    ("dispatched", "return", "returned", (H,)),
    ("dispatched", "extend", "extended", (H, S)),  # asked by the department …
    ("extended", "extend", "dispatched", (S,)),  # … approved (new deadline) or refused by the supervisor
    ("completed", "verify", "verifying", (I,)),
    ("verifying", "close", "closed", (I,)),
    ("verifying", "redispatch", "dispatched", (I, D)),
    *[(state, "hang", "hung", (S,)) for state in OPEN],
    *[(state, "cancel", "cancelled", (S,)) for state in (*OPEN, "hung")],
]

TRANSITION_FUNCTION = """
CREATE FUNCTION onemap.case_transition(p_from text, p_action text, p_roles text[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  t onemap.case_transitions%ROWTYPE;
BEGIN
  SELECT * INTO t FROM onemap.case_transitions WHERE from_state = p_from AND action = p_action;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'action "%" is not allowed in state "%"; allowed there: %', p_action, p_from,
      coalesce((SELECT string_agg(action, ', ' ORDER BY action) FROM onemap.case_transitions
                WHERE from_state = p_from), 'none (the case is finished)')
      USING ERRCODE = 'OC409';
  END IF;
  IF NOT ('admin' = ANY(p_roles) OR t.roles && p_roles) THEN
    RAISE EXCEPTION 'action "%" needs the role %', p_action, array_to_string(t.roles, ' or ')
      USING ERRCODE = 'OC403';
  END IF;
  RETURN t.to_state;
END $$
"""

GUARD_FUNCTION = """
CREATE FUNCTION onemap.city_cases_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_action text := coalesce(current_setting('onemap.case_action', true), '');
  bad record;
BEGIN
  SELECT n.fid, n.version, n.state AS to_state, p.state AS from_state INTO bad
  FROM new_rows n
  LEFT JOIN data.city_cases p ON n.version > 1 AND p.fid = n.fid AND p.version = n.version - 1
  WHERE CASE
    WHEN n.version = 1 THEN v_action <> '*' AND n.state <> 'reported'
    WHEN p.state IS NOT DISTINCT FROM n.state THEN false
    WHEN v_action = '*' THEN NOT EXISTS (SELECT 1 FROM onemap.case_transitions t
                                         WHERE t.from_state = p.state AND t.to_state = n.state)
    ELSE NOT EXISTS (SELECT 1 FROM onemap.case_transitions t
                     WHERE t.from_state = p.state AND t.action = v_action AND t.to_state = n.state)
  END
  LIMIT 1;
  IF FOUND THEN
    IF bad.version = 1 THEN
      RAISE EXCEPTION 'case % must start in state "reported", not "%"', bad.fid, bad.to_state
        USING ERRCODE = 'OC409';
    END IF;
    RAISE EXCEPTION 'case %: "%" → "%" is not a move of the case workflow%', bad.fid, bad.from_state, bad.to_state,
      CASE WHEN v_action = '' THEN ' (states change only through POST /cases/{id}/actions/{action})'
           ELSE ' for action "' || v_action || '"' END
      USING ERRCODE = 'OC409';
  END IF;
  RETURN NULL;
END $$
"""


# What one current case version adds to the daily rollup (its sign flips when the version closes).
FACTS = """
  (x.reported_at AT TIME ZONE 'Asia/Shanghai')::date AS day, coalesce(x.district, '') AS district,
  coalesce(x.department, '') AS department, x.kind, x.small_class,
  (x.accepted_at IS NOT NULL)::int AS accepted, (x.dispatched_at IS NOT NULL)::int AS dispatched,
  (x.state = 'closed')::int AS closed,
  coalesce(x.dispatched_at IS NOT NULL AND x.completed_at <= x.deadline_at, false)::int AS on_time_disposal,
  coalesce(x.state = 'closed' AND x.dispatched_at IS NOT NULL AND x.completed_at <= x.deadline_at, false)::int
    AS on_time_close,
  (coalesce(x.rework_count, 0) > 0)::int AS rework,
  coalesce(x.dispatched_at IS NOT NULL AND x.completed_at > x.deadline_at, false)::int AS overdue_done,
  CASE WHEN x.state = 'closed' THEN extract(epoch FROM x.closed_at - x.reported_at) / 3600.0 ELSE 0 END AS handling_h
"""
ROLLUP_UPSERT = """
  INSERT INTO onemap.case_rollup AS r
  SELECT day, district, department, kind, small_class, sum(sign * accepted), sum(sign * dispatched), sum(sign * closed),
         sum(sign * on_time_disposal), sum(sign * on_time_close), sum(sign * rework), sum(sign * overdue_done),
         sum(sign * handling_h), sum(sign)
  FROM (<DELTA>) d GROUP BY day, district, department, kind, small_class
  ON CONFLICT (day, district, department, kind, small_class) DO UPDATE SET
    accepted = r.accepted + EXCLUDED.accepted, dispatched = r.dispatched + EXCLUDED.dispatched,
    closed = r.closed + EXCLUDED.closed, on_time_disposal = r.on_time_disposal + EXCLUDED.on_time_disposal,
    on_time_close = r.on_time_close + EXCLUDED.on_time_close, rework = r.rework + EXCLUDED.rework,
    overdue_done = r.overdue_done + EXCLUDED.overdue_done, handling_h = r.handling_h + EXCLUDED.handling_h,
    reported = r.reported + EXCLUDED.reported
"""
ROLLUP_FUNCTION = """
CREATE FUNCTION onemap.city_cases_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    <ADD>;
  ELSE
    <SUBTRACT>;
  END IF;
  RETURN NULL;
END $$
"""


def _create_rollup() -> None:
    # 综合评价 per day, district, department and class, kept by triggers as versions open and close,
    # so a year's district statistics and top classes read the rollup, not a million cases.
    op.execute(
        """
        CREATE TABLE onemap.case_rollup (
          day date NOT NULL, district text NOT NULL, department text NOT NULL, kind text NOT NULL,
          small_class text NOT NULL,
          accepted bigint NOT NULL, dispatched bigint NOT NULL, closed bigint NOT NULL,
          on_time_disposal bigint NOT NULL, on_time_close bigint NOT NULL, rework bigint NOT NULL,
          overdue_done bigint NOT NULL, handling_h double precision NOT NULL, reported bigint NOT NULL,
          PRIMARY KEY (day, district, department, kind, small_class)
        )
        """
    )
    facts = FACTS.strip()
    # Constant SQL assembled from the pieces above; no value comes from outside.
    add = ROLLUP_UPSERT.replace("<DELTA>", f"SELECT 1 AS sign, {facts} FROM new_rows x "  # noqa: S608
                                           "WHERE x.valid_to IS NULL")
    subtract = ROLLUP_UPSERT.replace(
        "<DELTA>", f"SELECT -1 AS sign, {facts} FROM old_rows x JOIN new_rows n USING (fid, version) "  # noqa: S608
        "WHERE x.valid_to IS NULL AND n.valid_to IS NOT NULL")
    op.execute(ROLLUP_FUNCTION.replace("<ADD>", add.strip()).replace("<SUBTRACT>", subtract.strip()))
    op.execute("CREATE TRIGGER city_cases_rollup_insert AFTER INSERT ON data.city_cases "
               "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION onemap.city_cases_rollup()")
    op.execute("CREATE TRIGGER city_cases_rollup_close AFTER UPDATE ON data.city_cases "
               "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
               "EXECUTE FUNCTION onemap.city_cases_rollup()")


def _create_case_table() -> None:
    # The registry's sync (after the migrations) creates every other layer's table; this one is
    # created here from the same definition so the guard can be attached in the same revision.
    # The definition's DDL is today's code, so this revision must follow every revision that DDL
    # relies on (0009_overviews: onemap.tile_zoom for the tile_zoom column).
    from layers.ddl import create_table_statements
    from layers.definitions import builtin_layers
    from layers.overview import KEY_FUNCTION_SQL

    # Today's DDL also needs onemap.tile_key (0013_tile_keys, a later revision that creates it
    # again for databases already past this one).
    op.execute(KEY_FUNCTION_SQL)
    layer = next(item for item in builtin_layers() if item.id == "city_cases")
    for statement in create_table_statements(layer):
        op.execute(statement)
    # The queue of finished states (by state, newest first) and the statistics (by report time) …
    for name, columns in (("state", "state, reported_at DESC"), ("reported", "reported_at")):
        op.execute(f"CREATE INDEX IF NOT EXISTS city_cases_cur_{name} ON data.city_cases ({columns}) "
                   "WHERE valid_to IS NULL")
    # … and the console and task lists, which read only open cases, newest first: a few thousand
    # among a million (measured: 100 ms → 0.2 ms for a handler's page of 50; benchmarks/cases.py).
    open_states = ", ".join(f"'{s}'" for s in (*OPEN, "hung"))
    for name, columns in (("reported", "reported_at DESC"), ("department", "department, reported_at DESC")):
        op.execute(f"CREATE INDEX IF NOT EXISTS city_cases_open_{name} ON data.city_cases ({columns}) "
                   f"INCLUDE (state) WHERE valid_to IS NULL AND state IN ({open_states})")


def upgrade() -> None:
    roles = ", ".join(f"'{r}'" for r in ROLES)
    op.execute("ALTER TABLE onemap.principals DROP CONSTRAINT IF EXISTS principals_roles_check")
    op.execute(f"ALTER TABLE onemap.principals ADD CONSTRAINT principals_roles_check "
               f"CHECK (roles <@ ARRAY[{roles}]::text[])")
    op.execute("ALTER TABLE onemap.principals ADD COLUMN department text")
    op.execute("ALTER TABLE onemap.principals ADD CONSTRAINT principals_handler_department "
               "CHECK (NOT 'handler' = ANY(roles) OR department IS NOT NULL)")

    op.execute(
        """
        CREATE TABLE onemap.case_transitions (
          from_state text NOT NULL,
          action text NOT NULL,
          to_state text NOT NULL,
          roles text[] NOT NULL,
          PRIMARY KEY (from_state, action)
        )
        """
    )
    values = ", ".join(
        f"('{a}', '{b}', '{c}', ARRAY[{', '.join(repr(r) for r in who)}]::text[])" for a, b, c, who in TRANSITIONS
    )
    # Literals from the constant table above, never from input.
    op.execute(f"INSERT INTO onemap.case_transitions (from_state, action, to_state, roles) VALUES {values}")  # noqa: S608
    op.execute(TRANSITION_FUNCTION)

    op.execute(
        """
        CREATE TABLE onemap.case_attachments (
          id bigserial PRIMARY KEY,
          case_fid bigint NOT NULL,
          sha256 bytea NOT NULL CHECK (length(sha256) = 32),
          media_type text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/heic')),
          bytes bytea NOT NULL,
          size integer NOT NULL CHECK (size > 0),
          width integer NOT NULL,
          height integer NOT NULL,
          taken_lon double precision,
          taken_lat double precision,
          uploaded_by text NOT NULL,
          uploaded_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX case_attachments_case ON onemap.case_attachments (case_fid, id)")
    op.execute(
        """
        CREATE TABLE onemap.case_events (
          id bigserial PRIMARY KEY,
          case_fid bigint NOT NULL,
          version integer NOT NULL,
          action text NOT NULL,
          from_state text,
          to_state text NOT NULL,
          actor text NOT NULL,
          at timestamptz NOT NULL DEFAULT now(),
          reason text,
          details jsonb NOT NULL DEFAULT '{}',
          attachments bigint[] NOT NULL DEFAULT '{}',
          department text,
          data jsonb NOT NULL,
          UNIQUE (case_fid, version)
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION onemap.case_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('onemap_cases', max(id)::text) FROM new_rows HAVING count(*) > 0;
          RETURN NULL;
        END $$
        """
    )
    op.execute("CREATE TRIGGER case_events_notify AFTER INSERT ON onemap.case_events "
               "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION onemap.case_events_notify()")
    op.execute("CREATE TABLE onemap.case_numbers (day date PRIMARY KEY, last integer NOT NULL)")

    _create_case_table()
    op.execute(GUARD_FUNCTION)
    op.execute("CREATE TRIGGER city_cases_guard AFTER INSERT ON data.city_cases "
               "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION onemap.city_cases_guard()")
    _create_rollup()


def downgrade() -> None:
    for trigger in ("city_cases_guard", "city_cases_rollup_insert", "city_cases_rollup_close"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON data.city_cases")
    op.execute("DROP FUNCTION IF EXISTS onemap.city_cases_guard(), onemap.city_cases_rollup()")
    op.execute("DROP TABLE IF EXISTS onemap.case_rollup")
    op.execute("DROP TABLE IF EXISTS onemap.case_numbers, onemap.case_events, onemap.case_attachments, "
               "onemap.case_transitions")
    op.execute("DROP FUNCTION IF EXISTS onemap.case_events_notify(), onemap.case_transition(text, text, text[])")
    op.execute("ALTER TABLE onemap.principals DROP CONSTRAINT IF EXISTS principals_handler_department")
    op.execute("ALTER TABLE onemap.principals DROP COLUMN IF EXISTS department")
    op.execute("ALTER TABLE onemap.principals DROP CONSTRAINT IF EXISTS principals_roles_check")
    op.execute("ALTER TABLE onemap.principals ADD CONSTRAINT principals_roles_check "
               "CHECK (roles <@ ARRAY['viewer', 'editor', 'admin']::text[])")
