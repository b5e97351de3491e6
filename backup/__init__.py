"""Off-site backup and point-in-time restore of the private cluster with pgBackRest.

Continuous WAL archiving and full/incremental backups go to two repositories: ``repo1`` next to
the cluster (fast restores) and ``repo2``, encrypted, standing for the remote site. Restores go
into a NEW cluster folder; the running cluster is never restored over.
"""
