"""Which function wrote a log line, when the local stack runs every function in one process.

In Lambda each function has its own process, so Powertools' appended keys name the right function.
Here they are global to the process: without this, a stats line could carry the name of a notify
invocation that ran meanwhile. The dispatcher and the gateway wrap each invocation in `invocation`,
and `install` labels every record of the app's logger from it (a record attribute wins over appended
keys in Powertools' formatter).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

_current = threading.local()


@contextlib.contextmanager
def invocation(context: Any) -> Iterator[None]:
    previous = getattr(_current, "context", None)
    _current.context = context
    try:
        yield
    finally:
        _current.context = previous


class _FunctionLabel(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = getattr(_current, "context", None)
        if context is not None:
            record.function_name = context.function_name
            record.function_request_id = context.aws_request_id
            arn = getattr(context, "invoked_function_arn", None)
            if arn:
                record.function_arn = arn
        return True


_LABEL = _FunctionLabel()


def install(logger_name: str) -> None:
    """Label the records of `logger_name` (idempotent)."""
    logger = logging.getLogger(logger_name)
    if _LABEL not in logger.filters:
        logger.addFilter(_LABEL)
