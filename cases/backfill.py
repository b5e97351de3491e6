"""Events for case versions written in bulk (the sample loader, the benchmark's million cases).

A case moved through :mod:`cases.workflow` logs its event as it moves; versions that arrive through
:mod:`layers.bulk` get theirs here, set-based, afterwards — so every version has its history row.
"""

from __future__ import annotations

import asyncpg

from cases.statements import bound

REASONS = {
    "reason_reject": "示例数据：不属于城市管理范围", "reason_return": "示例数据：不属本部门职责，退回重新派遣",
    "reason_extend": "示例数据：需采购材料，申请延期", "reason_hang": "示例数据：需专项整治，挂账督办",
    "reason_cancel": "示例数据：重复上报，作废",
}


async def backfill_events(conn: asyncpg.Connection, *, actor: str = "onemap-sample") -> int:
    """Log one event per case version that has none; returns how many were logged."""
    sql, args = bound("backfill_events", {"actor": actor, **REASONS})
    done = await conn.execute(sql, *args)
    return int(str(done).rsplit(" ", 1)[-1])


async def allow_bulk_history(conn: asyncpg.Connection) -> None:
    """Let this transaction write case versions in any state the workflow can reach (history in bulk).

    The guard trigger still refuses a version whose state is not a legal move from the one before.
    """
    await conn.execute("SELECT set_config('onemap.case_action', '*', true)")
