"""``onemap backup schedule --print``: the cron lines and systemd timers that take the backups.

Nothing is installed: the operator pastes what is printed. WAL is archived continuously by the
server itself; the schedule only takes base backups (a weekly full, daily incrementals) and, through
``onemap backup verify``, proves weekly that the remote copy restores.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# (name, systemd OnCalendar, cron fields, onemap arguments)
JOBS = (
    ("full", "Sun *-*-* 01:30:00", "30 1 * * 0", "backup run --type full"),
    ("incr", "Mon..Sat *-*-* 01:30:00", "30 1 * * 1-6", "backup run --type incr"),
    ("verify", "Sun *-*-* 04:00:00", "0 4 * * 0", "backup verify"),
)


def onemap_exe() -> str:
    """The ``onemap`` program of this installation (the virtualenv's, when run from one)."""
    beside = Path(sys.executable).parent / "onemap"
    return str(beside) if beside.exists() else shutil.which("onemap") or "onemap"


def crontab(workdir: Path, user: str, log_dir: Path) -> str:
    """/etc/cron.d lines (with the user field) that run the backup jobs from ``workdir``, logging to ``log_dir``."""
    exe = onemap_exe()
    lines = ["# One Map backups (onemap backup schedule --print); times are the machine's local time",
             "SHELL=/bin/sh"]
    lines += [f"{cron} {user} cd {workdir} && {exe} {args} >> {log_dir / 'cron.log'} 2>&1"
              for _, _, cron, args in JOBS]
    return "\n".join(lines) + "\n"


def systemd_units(workdir: Path, user: str) -> str:
    """A service and a timer per job, separated by ``# file:`` headers naming where each goes."""
    exe = onemap_exe()
    parts: list[str] = []
    for name, calendar, _, args in JOBS:
        parts.append(
            f"# file: /etc/systemd/system/onemap-backup-{name}.service\n"
            f"[Unit]\nDescription=One Map backup: {args}\n\n"
            f"[Service]\nType=oneshot\nUser={user}\nWorkingDirectory={workdir}\nExecStart={exe} {args}\n"
        )
        parts.append(
            f"# file: /etc/systemd/system/onemap-backup-{name}.timer\n"
            f"[Unit]\nDescription=One Map backup schedule: {name}\n\n"
            f"[Timer]\nOnCalendar={calendar}\nPersistent=true\nRandomizedDelaySec=300\n\n"
            f"[Install]\nWantedBy=timers.target\n"
        )
    parts.append("# then: systemctl daemon-reload && systemctl enable --now "
                 + " ".join(f"onemap-backup-{n}.timer" for n, *_ in JOBS))
    return "\n".join(parts) + "\n"
