"""What a server's log says about the load: the error statuses it answered, its unhandled errors.

Rendered services log JSON lines in production (an access line per request, an
`unhandled_error` event with the exception); the reference logs only uvicorn's plain tracebacks.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

UVICORN_UNHANDLED = "Exception in ASGI application"
# The last line of a plain traceback: "ValueError: ..." or "asyncpg.exceptions.X: ...".
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout)\w*(: |$)")
MESSAGE_LENGTH = 160


@dataclass
class LogSummary:
    error_statuses: Counter[int] = field(default_factory=Counter)
    # "ExceptionType: message" of each unhandled error, counted.
    unhandled: Counter[str] = field(default_factory=Counter)


def summarize(log_path: Path, offset: int) -> LogSummary:
    """The part of the log from `offset` on (the load; what comes before is set-up)."""
    with log_path.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    summary = LogSummary()
    for number, line in enumerate(lines):
        if line.startswith("{"):
            _read_json_line(line, summary)
        elif UVICORN_UNHANDLED in line:
            summary.unhandled[_plain_exception(lines[number + 1 :])] += 1
    return summary


def _read_json_line(line: str, summary: LogSummary) -> None:
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return
    if event.get("event") == "request" and event.get("status", 0) >= HTTPStatus.BAD_REQUEST:
        summary.error_statuses[event["status"]] += 1
    elif event.get("event") == "unhandled_error":
        # structlog lists the exception that reached the handler first, then its causes.
        raised = (event.get("exception") or [{}])[0]
        described = f"{raised.get('exc_type', '?')}: {raised.get('exc_value', '')}"
        summary.unhandled[described[:MESSAGE_LENGTH]] += 1


def _plain_exception(following: list[str]) -> str:
    for line in following:
        if EXCEPTION_LINE.match(line):
            return line[:MESSAGE_LENGTH]
    return "an exception (no traceback found)"
