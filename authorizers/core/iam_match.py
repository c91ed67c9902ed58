"""Evaluate an authorizer's policy document against a request ARN the way API Gateway does.

Rules (AWS: "Control access for invoking an API" for the ``execute-api`` ARN format, "IAM JSON
policy elements: Resource" for its wildcards, "Policy evaluation logic" for Deny over Allow
over the implicit deny): statements whose Action matches ``execute-api:Invoke``
apply; a Resource pattern is an IAM glob, anchored at both ends, case-sensitive, where ``*``
matches any run of characters *including* ``/`` and ``?`` matches one character. Any matching
Deny wins; otherwise any matching Allow allows; otherwise the request is implicitly denied.

``NotResource`` is honoured (the statement applies when the ARN matches none of the patterns).
``Condition`` keys are not documented for authorizer policies, so we stay conservative: an Allow
with a Condition never applies, a Deny with a Condition always does. ``NotAction`` and shapes
API Gateway would reject raise :class:`PolicyDocumentError` (the emulator answers 500).

Used by the decision renderer (to check a decision against its own policy), by the local
emulator, and by the tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Final

from authorizers.core.route_arn import MAX_RESOURCE_CHARS

INVOKE_ACTION: Final = "execute-api:Invoke"
_VERSIONS: Final = frozenset({"2012-10-17", "2008-10-17"})


class PolicyOutcome(StrEnum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


class PolicyDocumentError(ValueError):
    """The policy document is not one API Gateway would accept."""


@lru_cache(maxsize=4096)
def _glob(pattern: str, *, case_sensitive: bool = True) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.compile("".join(parts), flags)


def glob_matches(pattern: str, value: str) -> bool:
    """IAM resource glob: anchored, case-sensitive, ``*`` crosses ``/``."""
    return _glob(pattern).fullmatch(value) is not None


def _strings(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyDocumentError(f"{what} must be a string or a non-empty list of strings")


def _statements(document: object) -> list[Mapping[str, object]]:
    if not isinstance(document, Mapping):
        raise PolicyDocumentError("policyDocument must be an object")
    if document.get("Version") not in _VERSIONS:
        raise PolicyDocumentError("policyDocument.Version must be 2012-10-17")
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyDocumentError("policyDocument.Statement must be a non-empty list")
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise PolicyDocumentError("each Statement must be an object")
    return statements


def evaluate_policy(document: object, arn: str) -> PolicyOutcome:
    """Decide ``arn`` against ``document``.

    Raises
    ------
    PolicyDocumentError
        When the document is malformed or uses what we do not evaluate (``NotAction``).
    """
    allowed = denied = False
    for statement in _statements(document):
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyDocumentError("Effect must be Allow or Deny")
        if "NotAction" in statement:
            raise PolicyDocumentError("NotAction is not supported in authorizer policies")
        actions = _strings(statement.get("Action"), "Action")
        if not any(_glob(a, case_sensitive=False).fullmatch(INVOKE_ACTION) for a in actions):
            continue
        if ("Resource" in statement) == ("NotResource" in statement):
            raise PolicyDocumentError("a Statement needs exactly one of Resource or NotResource")
        negated = "NotResource" in statement
        patterns = _strings(statement.get("NotResource" if negated else "Resource"), "Resource")
        if any(len(p) > MAX_RESOURCE_CHARS for p in patterns):
            raise PolicyDocumentError(f"a Resource is longer than {MAX_RESOURCE_CHARS} characters")
        matched = any(glob_matches(p, arn) for p in patterns) != negated
        if not matched:
            continue
        if effect == "Deny":
            denied = True
        elif "Condition" not in statement:
            allowed = True
    if denied:
        return PolicyOutcome.EXPLICIT_DENY
    return PolicyOutcome.ALLOW if allowed else PolicyOutcome.IMPLICIT_DENY


def clear() -> None:
    """Drop compiled patterns (tests)."""
    _glob.cache_clear()
