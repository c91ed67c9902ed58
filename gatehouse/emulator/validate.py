"""Is an authorizer's response one API Gateway accepts? (§4.4, §6 step 5; HTTP API simple
responses: :func:`validate_simple_response`)

Anything else is a 500 ``AuthorizerConfigurationException`` and is never cached: not an object;
no (or an empty) ``principalId``; ``policyDocument`` missing, not an object, or not a policy
the IAM evaluator accepts (``Statement`` neither list nor object, a ``Resource`` over 512
characters, ...); ``context`` not an object of string/number/boolean/null values; a
``usageIdentifierKey`` that is not a string; the whole response over 8 KB.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

from authorizers.core.iam_match import PolicyDocumentError, evaluate_policy

#: API Gateway documents an 8 KB authorizer result for WebSocket APIs; used for REST too.
MAX_RESPONSE_BYTES: Final = 8192


class InvalidResponse(ValueError):
    """Why a response was refused (for the emulator's log; the client sees ``null``)."""


def validate_response(payload: object, method_arn: str) -> Mapping[str, Any]:
    """``payload`` if API Gateway would accept it as a REST authorizer response."""
    if not isinstance(payload, Mapping):
        raise InvalidResponse("the response is not a JSON object")
    principal = payload.get("principalId")
    if (
        not isinstance(principal, str | int | float)
        or isinstance(principal, bool)
        or principal == ""
    ):
        raise InvalidResponse("principalId is missing or empty")
    try:
        evaluate_policy(payload.get("policyDocument"), method_arn)
    except PolicyDocumentError as error:
        raise InvalidResponse(f"policyDocument: {error}") from None
    context = payload.get("context")
    if context is not None:
        if not isinstance(context, Mapping):
            raise InvalidResponse("context is not an object")
        for key, value in context.items():
            if not _scalar(value):
                raise InvalidResponse(f"context value {key!r} is not a string, number or boolean")
    usage_key = payload.get("usageIdentifierKey")
    if usage_key is not None and not isinstance(usage_key, str):
        raise InvalidResponse("usageIdentifierKey is not a string")
    return _sized(payload)


def validate_simple_response(payload: object) -> Mapping[str, Any]:
    """``payload`` if an HTTP API with simple responses accepts it: ``isAuthorized`` a boolean,
    ``context`` (optional) an object, the whole under 8 KB."""
    if not isinstance(payload, Mapping):
        raise InvalidResponse("the response is not a JSON object")
    if not isinstance(payload.get("isAuthorized"), bool):
        raise InvalidResponse("isAuthorized is missing or not a boolean")
    context = payload.get("context")
    if context is not None and not isinstance(context, Mapping):
        raise InvalidResponse("context is not an object")
    return _sized(payload)


def _sized(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    size = len(json.dumps(payload, separators=(",", ":"), default=str).encode("utf-8"))
    if size > MAX_RESPONSE_BYTES:
        raise InvalidResponse(f"the response is {size} bytes, over {MAX_RESPONSE_BYTES}")
    return payload


def _scalar(value: object) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def stringify_context(context: Mapping[str, Any] | None) -> dict[str, str | None]:
    """What a REST backend sees: values as strings (``true``/``false``), ``null`` kept."""
    shown: dict[str, str | None] = {}
    for key, value in (context or {}).items():
        if value is None:
            shown[key] = None
        elif isinstance(value, bool):
            shown[key] = "true" if value else "false"
        else:
            shown[key] = str(value)
    return shown
