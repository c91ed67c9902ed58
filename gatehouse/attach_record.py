"""What ``gatehouse attach`` records on the authorizer it creates, so ``gatehouse detach`` can
undo exactly that and nothing else.

On a REST API the record lives in the authorizer's ``authType``: "an optional
customer-defined field, used in OpenAPI imports and exports without functional impact" (API
Gateway API reference, ``CreateAuthorizer``). It is the one resource attach makes that can
hold it, and it lives as long as the attachment does. An HTTP API's authorizer has no such
field, so there the record is kept in tags of the API (:func:`to_tags`), keyed by the
authorizer's id. It marks the authorizer as made by attach and says, per method or route
attach switched (by route, ``"VERB /path"`` or ``"$default"``: a resource re-created under
the same path keeps it), what that method was before:

- ``kind``: which Gatehouse authorizer (the apikey kind also turns ``apiKeyRequired`` on);
- ``switched``: every method attach moved onto the authorizer; detach touches only these, and
  refuses a method put on the authorizer some other way;
- ``was``: those that were not ``NONE`` before (``--replace``): ``"AWS_IAM"``,
  ``"COGNITO_USER_POOLS ID"``, ``"CUSTOM ID"`` or (HTTP) ``"JWT ID"``;
- ``scopes``: (HTTP) the authorization scopes of a JWT route, which API Gateway accepts only
  with JWT authorization, so attach clears them and detach puts them back;
- ``keyed``: (apikey kind) those that already required an API key, left on by detach;
- ``deployed``: (HTTP) the stages deployed since attach last switched routes; a stage without
  automatic deployment that is not listed still serves the routes as they were, so the next
  attach with that ``--stage`` deploys it (a stopped run, or another stage, is finished).

The invoke statement needs no record: attach names the one it adds ``gatehouse-attach-API_ID``
and detach removes only that one, once no authorizer of the API calls the function.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, cast, get_args

from gatehouse.api_model import AuthorizerName
from gatehouse.attach_plan import ApiMethod, MethodSwitch

__all__ = [
    "MARKER",
    "MAX_RECORD_CHARS",
    "MAX_TAG_RECORD_CHARS",
    "AttachRecord",
    "RecordError",
    "method_key",
    "record_owner",
    "record_tags",
]

#: How a record starts: an ``authType`` that does not is not attach's (detach leaves it).
MARKER: Final = "gatehouse-attach "
#: A bound on the record: API Gateway documents no limit for ``authType``, so stay small. A
#: record that would be longer is not written (attach warns: detach cannot undo that one).
MAX_RECORD_CHARS: Final = 8192

#: An HTTP API record is split over tags of at most 256 characters (API Gateway's limit on a
#: tag value), in API Gateway's tag alphabet (base64 is within it), at most this many tags.
_TAG_VALUE_CHARS: Final = 256
_MAX_TAGS: Final = 8
#: The longest record an HTTP API can hold (base64 makes 3 characters 4).
MAX_TAG_RECORD_CHARS: Final = _TAG_VALUE_CHARS * _MAX_TAGS // 4 * 3
_TAG_PREFIX: Final = "gatehouse-attach/"

_KINDS: Final = frozenset(get_args(AuthorizerName))
_ROUTE: Final = re.compile(r"[A-Z]+ /[^\s]*|\$default")
_PRIOR: Final = re.compile(r"AWS_IAM|(?:CUSTOM|COGNITO_USER_POOLS|JWT) [A-Za-z0-9]{1,64}")
_SCOPE: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,256}")  # RFC 6749 section 3.3
_STAGE: Final = re.compile(r"[A-Za-z0-9_$.-]{1,128}")
_MAX_SCOPES: Final = 50


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
    scopes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    deployed: frozenset[str] = frozenset()

    def encode(self) -> str:
        document: dict[str, object] = {
            "v": 1,
            "kind": self.kind,
            "switched": sorted(self.switched),
            "was": dict(sorted(self.was.items())),
            "keyed": sorted(self.keyed),
        }
        if self.scopes:
            document["scopes"] = {k: list(v) for k, v in sorted(self.scopes.items())}
        if self.deployed:
            document["deployed"] = sorted(self.deployed)
        return MARKER + json.dumps(document, separators=(",", ":"))

    def to_tags(self, authorizer_id: str) -> dict[str, str] | None:
        """The record as tags of an HTTP API (None: too long for :data:`MAX_TAG_RECORD_CHARS`)."""
        text = base64.b64encode(self.encode().encode()).decode()
        if len(text) > _TAG_VALUE_CHARS * _MAX_TAGS:
            return None
        chunks = [text[i : i + _TAG_VALUE_CHARS] for i in range(0, len(text), _TAG_VALUE_CHARS)]
        return {f"{_TAG_PREFIX}{authorizer_id}/{n}": chunk for n, chunk in enumerate(chunks)}

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], authorizer_id: str) -> AttachRecord | None:
        """The record an HTTP API's tags hold for the authorizer; None when they hold none.

        Raises
        ------
        RecordError
            Tags that start a record but do not make one (a missing part, not base64).
        """
        keys = record_tags(tags, authorizer_id)
        if not keys:
            return None
        if keys != [f"{_TAG_PREFIX}{authorizer_id}/{n}" for n in range(len(keys))]:
            raise RecordError("the record's tags are not numbered 0, 1, ... without a gap")
        text = "".join(tags[key] for key in keys)
        try:
            decoded = base64.b64decode(text, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise RecordError("the record's tags are not base64") from None
        record = cls.decode(decoded)
        if record is None:
            raise RecordError("the record's tags hold no record")
        return record

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
        scopes = _scopes(document.get("scopes", {}))
        deployed = document.get("deployed", [])
        if not isinstance(deployed, list) or not all(
            isinstance(stage, str) and _STAGE.fullmatch(stage) for stage in deployed
        ):
            raise RecordError("the record's deployed stages are malformed")
        if not set(former) <= routes or not keyed_routes <= routes or not set(scopes) <= routes:
            raise RecordError("the record describes methods it did not switch")
        return cls(
            kind=cast(AuthorizerName, kind),
            switched=routes,
            was=dict(former),
            keyed=keyed_routes,
            scopes=scopes,
            deployed=frozenset(deployed),
        )

    def with_switches(self, switches: Iterable[MethodSwitch]) -> AttachRecord:
        """This record plus what ``switches`` are about to change (their methods as now).

        A method already recorded but no longer on the authorizer (a detach stopped half way,
        then the method changed by hand) is recorded again as it is now, so a later detach
        restores that, never an older state that could be more open.
        """
        switched = set(self.switched)
        was = dict(self.was)
        keyed = set(self.keyed)
        scopes = dict(self.scopes)
        for switch in switches:
            method = switch.method
            key = method_key(method)
            if not switch.set_authorizer:
                continue  # already on this authorizer: recorded when it was switched
            switched.add(key)
            was.pop(key, None)
            scopes.pop(key, None)
            keyed.discard(key)
            if method.authorization_type != "NONE":
                prior = method.authorization_type
                if method.authorization_type in ("CUSTOM", "COGNITO_USER_POOLS", "JWT"):
                    prior += f" {method.authorizer_id}"
                was[key] = prior
            if self.kind == "apikey" and method.api_key_required:
                keyed.add(key)
            if method.scopes:
                scopes[key] = method.scopes
        return replace(
            self, switched=frozenset(switched), was=was, keyed=frozenset(keyed), scopes=scopes
        )

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


def record_tags(tags: Mapping[str, str], authorizer_id: str | None = None) -> list[str]:
    """The keys of ``tags`` that hold attach records: of ``authorizer_id``'s, or of any."""
    prefix = _TAG_PREFIX + (f"{authorizer_id}/" if authorizer_id is not None else "")
    keys = [key for key in tags if key.startswith(prefix)]
    return sorted(keys, key=lambda key: (key.rsplit("/", 1)[0], _part(key)))


def record_owner(key: str) -> str:
    """The authorizer id a record tag (from :func:`record_tags`) belongs to."""
    return key[len(_TAG_PREFIX) :].rsplit("/", 1)[0]


def _part(key: str) -> int:
    number = key.rsplit("/", 1)[1]
    return int(number) if number.isdigit() and len(number) < 4 else 1_000


def _scopes(value: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not all(
        isinstance(key, str)
        and _ROUTE.fullmatch(key)
        and isinstance(items, list)
        and 0 < len(items) <= _MAX_SCOPES
        and all(isinstance(item, str) and _SCOPE.fullmatch(item) for item in items)
        for key, items in value.items()
    ):
        raise RecordError("the record's scopes are malformed")
    return {key: tuple(items) for key, items in value.items()}


def _routes(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, str) and _ROUTE.fullmatch(item) for item in value
    )
