"""What ``gatehouse attach`` records on the authorizer it creates, so ``gatehouse detach`` can
undo exactly that and nothing else.

The record lives in the authorizer's ``authType``: "an optional customer-defined field, used
in OpenAPI imports and exports without functional impact" (API Gateway API reference,
``CreateAuthorizer``). It is the one resource attach makes that can hold it, and it lives as
long as the attachment does. It marks the authorizer as made by attach and says, per method
attach switched (by route, ``"VERB /path"``: a resource re-created under the same path keeps
it), what that method was before:

- ``kind``: which Gatehouse authorizer (the apikey kind also turns ``apiKeyRequired`` on);
- ``switched``: every method attach moved onto the authorizer; detach touches only these, and
  refuses a method put on the authorizer some other way;
- ``was``: those that were not ``NONE`` before (``--replace``): ``"AWS_IAM"``,
  ``"COGNITO_USER_POOLS ID"`` or ``"CUSTOM ID"``;
- ``keyed``: (apikey kind) those that already required an API key, left on by detach.

The invoke statement needs no record: attach names the one it adds ``gatehouse-attach-API_ID``
and detach removes only that one, once no authorizer of the API calls the function.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, cast, get_args

from gatehouse.api_model import AuthorizerName
from gatehouse.attach_plan import ApiMethod, MethodSwitch

__all__ = ["MARKER", "MAX_RECORD_CHARS", "AttachRecord", "RecordError", "method_key"]

#: How a record starts: an ``authType`` that does not is not attach's (detach leaves it).
MARKER: Final = "gatehouse-attach "
#: A bound on the record: API Gateway documents no limit for ``authType``, so stay small. A
#: record that would be longer is not written (attach warns: detach cannot undo that one).
MAX_RECORD_CHARS: Final = 8192

_KINDS: Final = frozenset(get_args(AuthorizerName))
_ROUTE: Final = re.compile(r"[A-Z]+ /[^\s]*")
_PRIOR: Final = re.compile(r"AWS_IAM|(?:CUSTOM|COGNITO_USER_POOLS) [A-Za-z0-9]{1,64}")


class RecordError(ValueError):
    """An ``authType`` that starts like a record but cannot be read as one."""


def method_key(method: ApiMethod) -> str:
    """How a record names a method: its route, ``"GET /pets/{petId}"``."""
    return method.route


@dataclass(frozen=True, slots=True)
class AttachRecord:
    kind: AuthorizerName
    switched: frozenset[str] = frozenset()
    was: Mapping[str, str] = field(default_factory=dict)
    keyed: frozenset[str] = frozenset()

    def encode(self) -> str:
        document = {
            "v": 1,
            "kind": self.kind,
            "switched": sorted(self.switched),
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
            When it starts with :data:`MARKER` but is not a record this version writes:
            never anything else, whatever the text.
        """
        if not isinstance(auth_type, str) or not auth_type.startswith(MARKER):
            return None
        if len(auth_type) > MAX_RECORD_CHARS:
            raise RecordError(f"the record is over {MAX_RECORD_CHARS} characters")
        try:
            document = json.loads(auth_type[len(MARKER) :])
        except (ValueError, RecursionError):
            raise RecordError("the record is not JSON") from None
        if not isinstance(document, dict) or type(document.get("v")) is not int:
            raise RecordError("the record has no version")
        if document["v"] != 1:
            raise RecordError(f"the record is version {document['v']}, not 1")
        kind = document.get("kind")
        switched, was, keyed = document.get("switched"), document.get("was"), document.get("keyed")
        if not isinstance(kind, str) or kind not in _KINDS:
            raise RecordError("the record names no Gatehouse kind")
        if not _routes(switched) or not _routes(keyed) or not isinstance(was, dict):
            raise RecordError("the record's switched, was or keyed are malformed")
        if not _routes(list(was)) or not all(
            isinstance(v, str) and _PRIOR.fullmatch(v) for v in was.values()
        ):
            raise RecordError("the record's former authorizations are malformed")
        routes = frozenset(cast(list[str], switched))
        former = cast(dict[str, str], was)
        keyed_routes = frozenset(cast(list[str], keyed))
        if not set(former) <= routes or not keyed_routes <= routes:
            raise RecordError("the record describes methods it did not switch")
        return cls(
            kind=cast(AuthorizerName, kind),
            switched=routes,
            was=dict(former),
            keyed=keyed_routes,
        )

    def with_switches(self, switches: Iterable[MethodSwitch]) -> AttachRecord:
        """This record plus what ``switches`` are about to change (their methods as now)."""
        switched = set(self.switched)
        was = dict(self.was)
        keyed = set(self.keyed)
        for switch in switches:
            method = switch.method
            key = method_key(method)
            if not switch.set_authorizer or key in switched:
                continue  # already on this authorizer: recorded when it was switched
            switched.add(key)
            if method.authorization_type != "NONE":
                prior = method.authorization_type
                if method.authorization_type in ("CUSTOM", "COGNITO_USER_POOLS"):
                    prior += f" {method.authorizer_id}"
                was[key] = prior
            if self.kind == "apikey" and method.api_key_required:
                keyed.add(key)
        return replace(self, switched=frozenset(switched), was=was, keyed=frozenset(keyed))

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


def _routes(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, str) and _ROUTE.fullmatch(item) for item in value
    )
