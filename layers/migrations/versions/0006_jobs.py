"""OGC API Processes jobs: ``onemap.jobs``, one row per asynchronous execution.

Jobs live in PostgreSQL so that every worker process sees every job (a client polls whichever
worker its request reaches) and a job outlives the process that ran it with a truthful status.

- ``owner``: the principal's name; only the owner and admins see the job.
- ``worker``: the advisory-lock id the running process holds (``layers/jobs.py``). A process that
  finds a job ``accepted``/``running`` whose worker's lock is free knows that worker is dead and
  marks the job ``failed``.
- ``response`` and ``outputs``: how the execute request asked for results (``raw``/``document``,
  which outputs), so ``/jobs/{id}/results`` answers as it was asked.

Revision ID: 0006_jobs
Revises: 0007_network (see down_revision)
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0006_jobs"
# Brief: down_revision "0005"; chained after 0007_network (merged from p-analysis, also on 0005) so this
# branch has one head. The lead re-chains the revisions when merging the branches.
down_revision = "0007_network"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE onemap.jobs (
          id uuid PRIMARY KEY,
          process_id text NOT NULL,
          owner text NOT NULL,
          status text NOT NULL DEFAULT 'accepted'
            CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
          inputs jsonb NOT NULL,
          outputs jsonb,
          response text NOT NULL DEFAULT 'raw' CHECK (response IN ('raw', 'document')),
          results jsonb,
          message text,
          failure jsonb,
          progress integer CHECK (progress BETWEEN 0 AND 100),
          worker integer,
          created timestamptz NOT NULL DEFAULT now(),
          started timestamptz,
          finished timestamptz,
          updated timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # The job list: a caller's own jobs, newest first; the restart sweep: the unfinished ones.
    op.execute("CREATE INDEX jobs_owner_created ON onemap.jobs (owner, created DESC)")
    op.execute("CREATE INDEX jobs_created ON onemap.jobs (created DESC)")
    op.execute("CREATE INDEX jobs_unfinished ON onemap.jobs (worker) WHERE status IN ('accepted', 'running')")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS onemap.jobs")
