"""The message a person needs from a Dagster step failure: the user's own exception, without
Dagster's wrappers or the exception class path."""

from __future__ import annotations

import re
from typing import Protocol

_CLASS_PREFIX = re.compile(r"^[\w.]+(Error|Exception|Failure): ")


class ErrorInfo(Protocol):
    """The fields read of Dagster's serialized error (a step failure's `.error`)."""

    @property
    def message(self) -> str: ...

    @property
    def cause(self) -> ErrorInfo | None: ...


def root_message(error: ErrorInfo | None) -> str:
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "failed"
    return _CLASS_PREFIX.sub("", error.message.strip(), count=1)
