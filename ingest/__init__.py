"""Batch ingest of survey deliveries: read, map, validate, stage, check, merge, report.

The ``import`` jobs are thin wrappers around :func:`ingest.run.run_delivery`.
One delivery is one transaction: :mod:`ingest.readers` stream the files, profiles map
their columns (:mod:`ingest.profiles`, :mod:`ingest.mapping`), rows are validated
(:mod:`ingest.validate`) and COPY'd into staging tables (:mod:`ingest.staged`), checked in
SQL (:mod:`ingest.checks`, plus the job's hooks from :mod:`ingest.hooks`, such as
:mod:`ingest.topology` for pipelines), then merged through :mod:`layers.bulk`
(:mod:`ingest.merge`). Pipeline rows are routed to their category's layers
(:mod:`ingest.routing`), inferring categories the delivery leaves out
(:mod:`ingest.inference`). Anything rejected beyond ``max_rejects`` rolls everything back.
"""
