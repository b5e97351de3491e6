"""Errors of the backup package; the CLI prints them, the API never sees them."""

from __future__ import annotations


class BackupError(Exception):
    """Base class: something about backup, restore or verification failed."""


class BackupNotConfigured(BackupError):
    """``onemap backup setup`` has not been run for this cluster (or it has no private cluster)."""


class PgBackRestFailed(BackupError):
    """pgBackRest exited non-zero; the message carries the end of its output."""


class RestoreFailed(BackupError):
    """The restored cluster did not come up, or recovery stopped before the target."""


class Mismatch(BackupError):
    """A restored database differs from what the live one says for the same moment."""
