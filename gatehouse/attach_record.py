"""What ``gatehouse attach`` records on the authorizer it creates, so ``gatehouse detach`` can
undo exactly that and nothing else.

The record lives in the authorizer's ``authType``: "an optional customer-defined field, used
in OpenAPI imports and exports without functional impact" (API Gateway API reference,
``CreateAuthorizer``). It is the one resource attach makes that can hold it, and it lives as
long as the attachment does. It marks the authorizer as made by attach and holds what the
methods were before: only what detach could not infer, so a plain attach writes a few bytes.

- ``kind``: which Gatehouse authorizer (the apikey kind also turns ``apiKeyRequired`` on);
- ``was``: the methods that were not ``NONE`` before attach switched them (``--replace``):
  ``"RESOURCE_ID VERB"`` -> ``"AWS_IAM"``, ``"COGNITO_USER_POOLS ID"`` or ``"CUSTOM ID"``;
- ``keyed``: (apikey kind) the methods that already required an API key, left on by detach.

Every other method on the authorizer was ``NONE`` (and, for apikey, did not require a key).
The invoke statement needs no record: attach names the one it adds ``gatehouse-attach-API_ID``
and detach removes only that one, once no authorizer of the API calls the function.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, cast, get_args

from gatehouse.api_model import AuthorizerName
from gatehouse.attach_plan import ApiMethod, MethodSwitch

__all__ = ["MARKER", "MAX_RECORD_CHARS", "AttachRecord", "RecordError", "method_key"]

#: How a record starts: an ``authType`` that does not is not attach's (detach leaves it).
MARKER: Final = "gatehouse-attach "
#: A bound on the record: API Gateway documents no limit for ``authType``, so stay small.
MAX_RECORD_CHARS: Final = 4096

_KINDS: Final = frozenset(get_args(AuthorizerName))
_PRIOR_TYPES: Final = frozenset({"AWS_IAM", "COGNITO_USER_POOLS", "CUSTOM"})


class RecordError(ValueError):
    """An ``authType`` that starts like a record but cannot be read as one."""


def method_key(method: ApiMethod) -> str:
    return f"{method.resource_id} {method.method}"


@dataclass(frozen=True, slots=True)
class AttachRecord:
    kind: AuthorizerName
    was: Mapping[str, str] = field(default_factory=dict)
    keyed: frozenset[str] = frozenset()

    def encode(self) -> str:
        document = {
            "v": 1,
            "kind": self.kind,
            "was": dict(sorted(self.was.items())),
            "keyed": sorted(self.keyed),
        }
        return MARKER + json.dumps(document, separators=(",", ":"))

    @classmethod
    def decode(cls, auth_type: object) -> AttachRecord | None:
        """The record in an authorizer's ``authType``; None when it holds none (not attach's).

        Raises
        ------
        RecordError
            When it starts with :data:`MARKER` but is not a record this version writes.
        """
        if not isinstance(auth_type, str) or not auth_type.startswith(MARKER):
            return None
        try:
            document = json.loads(auth_type[len(MARKER) :])
        except ValueError:
            raise RecordError("the record is not JSON") from None
        if not isinstance(document, dict) or document.get("v") != 1:
            raise RecordError("the record is not version 1")
        kind, was, keyed = document.get("kind"), document.get("was"), document.get("keyed")
        if kind not in _KINDS or not isinstance(was, dict) or not isinstance(keyed, list):
            raise RecordError("the record lacks kind, was or keyed")
        if not all(
            isinstance(k, str) and isinstance(v, str) and v.split(" ")[0] in _PRIOR_TYPES
            for k, v in was.items()
        ) or not all(isinstance(k, str) for k in keyed):
            raise RecordError("the record's methods are malformed")
        return cls(
            kind=cast(AuthorizerName, kind),
            was=dict(was),
            keyed=frozenset(keyed),
        )

    def with_switches(self, switches: Iterable[MethodSwitch]) -> AttachRecord:
        """This record plus what ``switches`` are about to change (their methods as now)."""
        was = dict(self.was)
        keyed = set(self.keyed)
        for switch in switches:
            method = switch.method
            if not switch.set_authorizer:
                continue  # already on this authorizer: what it was before is recorded already
            if method.authorization_type != "NONE":
                prior = method.authorization_type
                if method.authorizer_id:
                    prior += f" {method.authorizer_id}"
                was[method_key(method)] = prior
            if self.kind == "apikey" and method.api_key_required:
                keyed.add(method_key(method))
        return replace(self, was=was, keyed=frozenset(keyed))

    def prior(self, method: ApiMethod) -> tuple[str, str | None]:
        """(authorizationType, authorizerId) ``method`` had before attach switched it."""
        recorded = self.was.get(method_key(method))
        if recorded is None:
            return "NONE", None
        kind, _, authorizer_id = recorded.partition(" ")
        return kind, authorizer_id or None

    def turned_key_on(self, method: ApiMethod) -> bool:
        """Whether attach turned ``apiKeyRequired`` on for ``method`` (apikey kind)."""
        return self.kind == "apikey" and method_key(method) not in self.keyed
