"""Batch ingest of survey deliveries: read, map, validate, stage, merge, report.

The ``import`` jobs are thin wrappers around :func:`ingest.load.run_delivery`.
One delivery is one transaction: rows are COPY'd into staging tables, checked in SQL
(duplicates, pipeline topology, back-dated versions), then merged through
:mod:`layers.bulk`. Anything rejected beyond ``max_rejects`` rolls everything back.
"""
