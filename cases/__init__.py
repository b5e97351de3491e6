"""The 数字城管 domain: case states and transitions, deadlines on a working-time calendar, location
to unit grid and component, attachments, the live event log and the evaluation statistics.

SQL lives here (``sql/*.sql``) beside :mod:`analysis` and :mod:`ingest`; every case version is
written through :mod:`layers.versioning` (the one versioned write path).
"""
