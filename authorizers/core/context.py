"""The ``context`` an authorizer returns: flat, typed, small.

API Gateway accepts only string, number and boolean values in a REST authorizer's context; a
nested object or array, or ``null``, turns the whole call into a 500 at integration time. HTTP
API payload 1.0 reserves the key ``claims``. We also refuse ``principalId`` and
``integrationLatency``, which API Gateway puts beside the context for the backend, and keep the
serialized context under :data:`MAX_CONTEXT_BYTES`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Final

ContextValue = str | int | float | bool

#: Conservative cap on the serialized context (API Gateway documents 8 KB for the result).
MAX_CONTEXT_BYTES: Final = 8192
RESERVED_KEYS: Final = frozenset({"claims", "principalId", "integrationLatency"})
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


class ContextError(ValueError):
    """The context cannot be returned to API Gateway as it is (a bug in the caller)."""


def validate_context(
    context: Mapping[str, object], *, check_size: bool = True
) -> dict[str, ContextValue]:
    """Return a copy of ``context`` after checking every rule above.

    Keys are identifiers (letters, digits, underscore; they are used as
    ``$context.authorizer.<key>`` in mapping templates, where other characters break).

    Raises
    ------
    ContextError
        For a bad key, a reserved key, a value that is not str/int/float/bool (or is a
        non-finite float), or a serialized size over the cap.
    """
    checked: dict[str, ContextValue] = {}
    for key, value in context.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ContextError("context keys are identifiers of at most 64 characters")
        if key in RESERVED_KEYS:
            raise ContextError(f"context key {key!r} is reserved by API Gateway")
        if isinstance(value, bool | str | int) or (
            isinstance(value, float) and math.isfinite(value)
        ):
            checked[key] = value
        else:
            raise ContextError(f"context value for {key!r} must be a string, number or boolean")
    if not check_size:  # the caller bounds a larger document that contains the context
        return checked
    size = len(json.dumps(checked, separators=(",", ":")).encode("utf-8"))
    if size > MAX_CONTEXT_BYTES:
        raise ContextError(f"context is {size} bytes; the cap is {MAX_CONTEXT_BYTES}")
    return checked


def stringify_context(context: Mapping[str, ContextValue]) -> dict[str, str]:
    """What a REST backend sees: every value as a string, booleans as ``true``/``false``.

    Used by the local emulator and by tests that check what reaches the integration.
    """
    return {
        key: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for key, value in context.items()
    }
