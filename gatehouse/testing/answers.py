"""What API Gateway does with an authorizer's answer: the status of a request, and of another
request that API Gateway answers from its authorizer cache.

API Gateway caches an authorizer's whole response per identity source (nothing of the route is
in the key), then evaluates the cached policy against each request's ARN: IAM rules, ``*``
crossing ``/``, any matching Deny winning ("Configure an API Gateway Lambda authorizer",
caching; "Output from an API Gateway Lambda authorizer"). A 401 and a failed invocation are
not cached. :func:`replay` answers exactly that, with the same IAM matcher the runtime checks
its own policies with (:mod:`authorizers.core.iam_match`), so a team can prove its own route
rules are cache-safe: the answer to ``GET /orders/7`` must never open ``DELETE /orders/7``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authorizers.core.iam_match import PolicyOutcome, evaluate_policy

__all__ = [
    "Answer",
    "assert_allows",
    "assert_denies",
    "assert_unauthorized",
    "replay",
]


@dataclass(frozen=True, slots=True)
class Answer:
    """One invocation: the event, the response (``None`` for a 401) and the reason.

    ``reason`` is the context's ``reason`` of a Deny, or the 401's reason; a simple HTTP API
    response (``isAuthorized``) carries none.
    """

    event: Mapping[str, Any] = field(repr=False)
    response: Mapping[str, Any] | None
    reason: str | None = None

    @property
    def status(self) -> int:
        """What the client gets for this event's own request: 200, 401 or 403."""
        return _status(self, _arn(self.event))


def replay(answer: Answer, request: str | None = None) -> int:
    """The status API Gateway gives ``request`` (``"DELETE /orders/7"``) when it answers it
    from the cache entry ``answer`` made: the same identity source, another route.

    Raises ``ValueError`` for a 401 answer: nothing is cached, the next request invokes the
    authorizer again.
    """
    if answer.response is None:
        raise ValueError("a 401 is not cached: API Gateway invokes the authorizer again")
    return _status(answer, _arn(answer.event, request))


def assert_allows(answer: Answer, request: str | None = None) -> None:
    """The request (default: the answer's own; else replayed from the cache) gets 200."""
    _expect(answer, request, 200)


def assert_denies(answer: Answer, request: str | None = None, *, reason: str | None = None) -> None:
    """The request gets 403 (for the answer's own request, with ``reason`` if given)."""
    _expect(answer, request, 403)
    if reason is not None and request is None and answer.reason != reason:
        raise AssertionError(f"denied with reason {answer.reason!r}, expected {reason!r}")


def assert_unauthorized(answer: Answer, *, reason: str | None = None) -> None:
    """The answer is a 401 (with ``reason`` if given)."""
    if answer.response is not None:
        raise AssertionError(f"expected 401, got {answer.status}: {_describe(answer)}")
    if reason is not None and answer.reason != reason:
        raise AssertionError(f"401 with reason {answer.reason!r}, expected {reason!r}")


def _expect(answer: Answer, request: str | None, expected: int) -> None:
    got = answer.status if request is None else replay(answer, request)
    if got != expected:
        what = "its own request" if request is None else f"{request} (from the cache)"
        raise AssertionError(f"expected {expected} for {what}, got {got}: {_describe(answer)}")


def _status(answer: Answer, arn: str) -> int:
    response = answer.response
    if response is None:
        return 401
    if "isAuthorized" in response:  # simple response: one verdict for every route
        return 200 if response["isAuthorized"] is True else 403
    outcome = evaluate_policy(response.get("policyDocument"), arn)
    return 200 if outcome is PolicyOutcome.ALLOW else 403


def _arn(event: Mapping[str, Any], request: str | None = None) -> str:
    own = event.get("methodArn") or event.get("routeArn")
    if not isinstance(own, str):
        raise ValueError("the event has no methodArn or routeArn")
    if request is None:
        return own
    method, _, path = request.partition(" ")
    if not method or not path.startswith("/"):
        raise ValueError(f"request must look like 'GET /orders/7', not {request!r}")
    api_stage = "/".join(own.split("/", 2)[:2])  # arn:...:<api-id>/<stage>
    return f"{api_stage}/{method}{path}"


def _describe(answer: Answer) -> str:
    if answer.response is None:
        return f"401 ({answer.reason})"
    if "isAuthorized" in answer.response:
        return f"isAuthorized={answer.response['isAuthorized']}"
    statements = answer.response.get("policyDocument", {}).get("Statement", [])
    parts = [f"{s.get('Effect')} {s.get('Resource')}" for s in statements]
    reason = f", reason {answer.reason}" if answer.reason else ""
    return "; ".join(parts) + reason
