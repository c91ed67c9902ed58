"""Render a :class:`Decision` into what API Gateway expects back, for every event kind.

- REST (TOKEN, REQUEST), HTTP API payload 1.0, WebSocket: an IAM policy response with
  ``principalId``, ``policyDocument``, ``context`` and (REST only) ``usageIdentifierKey``.
- HTTP API payload 2.0: the IAM form, or the simple form ``{"isAuthorized", "context"}`` when
  the authorizer is configured for simple responses.

Why not Powertools' ``APIGatewayAuthorizerResponse`` for the IAM form: it drops the ARN
partition in ``from_route_arn`` (China/GovCloud policies never match), rejects legal path
characters (``%``, ``:``, ``~``, ``@``, ``=``), cannot express the root path, emits
``Condition`` as a list, and does not validate ``context``; each quirk has a test in
``tests/unit/core/test_powertools_quirks.py``. Resources here come from
:mod:`authorizers.core.routes`, already partition-correct. The simple form is what
Powertools' ``APIGatewayAuthorizerResponseV2.asdict()`` gives (``isAuthorized``, and
``context`` when not empty), written here: importing any Powertools data class imports the
whole ``data_classes`` package, ~45 ms of every cold start.
"""

from __future__ import annotations

import json
from typing import Any, Final

from authorizers.core.config import HttpResponseFormat
from authorizers.core.context import ContextError, validate_context
from authorizers.core.decision import Decision, Effect, render_policy
from authorizers.core.iam_match import PolicyDocumentError, PolicyOutcome, evaluate_policy
from authorizers.core.request import EventKind, Request
from authorizers.core.route_arn import MAX_RESOURCE_CHARS

#: Cap on the whole serialized response (API Gateway's documented authorizer result size).
MAX_RESPONSE_BYTES: Final = 8192
_USAGE_KEY_KINDS: Final = frozenset({EventKind.REST_TOKEN, EventKind.REST_REQUEST})
_COUNTED_CHARS: Final = 32


class ResponseError(ValueError):
    """The decision cannot be rendered into a response API Gateway accepts (a bug upstream)."""


def render(decision: Decision, request: Request, http_format: HttpResponseFormat) -> dict[str, Any]:
    """The response for ``decision`` to ``request``.

    Checks before anything leaves: the context is flat and small, the policy actually gives
    ``decision.effect`` for this request (an Allow that the policy would deny, or the reverse,
    is a bug and must not ship; the ``Decision`` class methods guarantee it by construction,
    so only decisions built otherwise are re-evaluated), every resource fits API Gateway's
    limit, and the response fits the size cap.

    Raises
    ------
    ResponseError
        When any check fails; the pipeline then answers with a deny-all.
    """
    try:
        # The whole response is size-checked below, which bounds the context too.
        context = validate_context(decision.context, check_size=False)
    except ContextError as error:
        raise ResponseError(str(error)) from None
    if request.kind is EventKind.HTTP_V2 and http_format is HttpResponseFormat.SIMPLE:
        simple: dict[str, Any] = {"isAuthorized": decision.effect is Effect.ALLOW}
        if context:
            simple["context"] = context
        return _sized(simple)
    if not decision.principal_id:
        raise ResponseError("principalId must not be empty")
    policy = render_policy(decision.resources)
    if not decision.consistent:
        try:
            outcome = evaluate_policy(policy, request.arn.arn)
        except PolicyDocumentError as error:  # e.g. a resource over API Gateway's 512 characters
            raise ResponseError(str(error)) from None
        if (outcome is PolicyOutcome.ALLOW) != (decision.effect is Effect.ALLOW):
            raise ResponseError(f"the policy gives {outcome} for a {decision.effect} decision")
    elif any(
        len(r) > MAX_RESOURCE_CHARS for r in decision.resources.allow + decision.resources.deny
    ):
        raise ResponseError(f"a resource is longer than {MAX_RESOURCE_CHARS} characters")
    response: dict[str, Any] = {"principalId": decision.principal_id, "policyDocument": policy}
    if context:
        response["context"] = context
    if decision.usage_identifier_key is not None and request.kind in _USAGE_KEY_KINDS:
        response["usageIdentifierKey"] = decision.usage_identifier_key
    return _sized(response)


def _sized(response: dict[str, Any]) -> dict[str, Any]:
    # Serializing costs more than bounding: a response whose bound fits needs no dumps.
    if _bound(response) <= MAX_RESPONSE_BYTES:
        return response
    size = len(json.dumps(response, separators=(",", ":")).encode("utf-8"))
    if size > MAX_RESPONSE_BYTES:
        raise ResponseError(f"response is {size} bytes; the cap is {MAX_RESPONSE_BYTES}")
    return response


def _bound(value: object) -> int:
    """An upper bound of ``value``'s compact JSON size in bytes (``json.dumps`` escapes to
    ASCII): 12 bytes a character (an astral character is two ``\\uXXXX`` escapes), the exact
    size of a long printable ASCII string, 24 a literal, a float or an int below 10**18.
    Anything else is unbounded (the exact check runs).
    """
    # Exact types, for speed; a subclass (a str enum...) is left to the exact check.
    if type(value) is str:
        if len(value) > _COUNTED_CHARS and value.isascii() and value.isprintable():
            # Written as it is, with a backslash before each '"' and '\\'. Counted for long
            # strings only (resource ARNs): 12x theirs would send every policy of a few dozen
            # resources to json.dumps, and counting short ones costs more than it saves.
            return len(value) + value.count('"') + value.count("\\") + 2
        return 12 * len(value) + 2
    if type(value) is dict:
        total = 2
        for key, item in value.items():
            total += _bound(key) + _bound(item) + 2
        return total
    if type(value) is list or type(value) is tuple:
        total = 2
        for item in value:
            total += _bound(item) + 1
        return total
    if value is None or type(value) is bool or type(value) is float:
        return 24  # the longest float repr is 24 characters ("-1.2345678901234567e-308")
    if type(value) is int and -(10**18) < value < 10**18:
        return 24
    return MAX_RESPONSE_BYTES + 1
