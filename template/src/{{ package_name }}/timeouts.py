"""Deadlines for work that may never end, such as a call to a server that stopped answering."""

import asyncio
from collections.abc import Awaitable


async def finish_within(work: Awaitable[object], timeout_seconds: float) -> bool:
    """Awaits `work` until the deadline, then abandons it and returns False.

    Its error, if it ends with one, is raised. A connection to a server that stopped
    answering can take longer to cancel than the timeout itself, so the cancellation is
    not awaited.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=timeout_seconds)
    if not done:
        task.cancel()
        return False
    task.result()
    return True
