"""Certificate -> principal and tenant: a small, explicit mapping language.

``GATEHOUSE_MTLS_RULES`` is a JSON list of rules, tried in order; the first rule that
*applies* decides. A rule::

    {"san_uri": "spiffe://example.org/tenant/{tenant}/device/{device}",
     "issuer": "<CA key id, hex>",          # optional: only certificates of this CA
     "fingerprints": ["<sha256 hex>"],      # optional: pin the exact certificates
     "principal": "device:{device}",        # required
     "tenant": "{tenant}"}                  # optional

- **One field per rule**: exactly one of ``san_uri``, ``san_dns``, ``san_email``,
  ``subject_cn``. The pattern must match a whole value of that field.
- **Patterns**: literal text, ``{name}`` (captures one *segment*) and ``*`` (one segment, not
  captured). A segment is a run of safe characters that never crosses a separator, so
  ``{device}.devices.example.com`` cannot capture ``a.b``, and a URI segment cannot be ``..``:

  ============== ===============================================
  ``san_dns``    ``[a-z0-9-]+`` (names compare lower-cased)
  ``san_uri``    ``[A-Za-z0-9_~-][A-Za-z0-9._~-]*``
  ``san_email``  ``[A-Za-z0-9_+-][A-Za-z0-9._+-]*``
  ``subject_cn`` ``[A-Za-z0-9_-][A-Za-z0-9 ._@+-]*``
  ============== ===============================================

- **Templates** (``principal``, ``tenant``) are literal text plus ``{name}`` of captures of
  the same rule; a template naming anything else is a configuration error.
- **Applies** when the issuer (if given) is the certificate's CA and the pattern matches. If
  several values of the field match with *different* captures (two SPIFFE ids naming two
  devices), the certificate is ambiguous and denied: we do not pick one.
- **Pins**: a rule that applies and lists ``fingerprints`` denies every other certificate; it
  never falls through to a later rule.
- **No rule applies**: Deny (``PolicyDeny``).

Why our own: the Kong/Envoy mappings (CN or SAN equality, or a lookup) are either too coarse
for SPIFFE-style ids or need a registry; regular expressions in configuration invite
unanchored or catastrophic patterns. This language is anchored, linear, and small enough to
document in one table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from authorizers.core.exceptions import AccessDeniedError, Reason
from authorizers.mtls.certificate import CertificateFacts

MAX_RULES: Final = 100
MAX_PRINCIPAL_CHARS: Final = 128
_NAME: Final = r"[a-z][a-z0-9_]{0,31}"
_TOKEN: Final = re.compile(r"\{(" + _NAME + r")\}|\*")
_TEMPLATE_LITERAL: Final = re.compile(r"[A-Za-z0-9._:/@+#=-]*")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_KEY_ID: Final = re.compile(r"[0-9a-f]{2,128}")
_RULE_KEYS: Final = frozenset(
    {
        "san_uri",
        "san_dns",
        "san_email",
        "subject_cn",
        "issuer",
        "fingerprints",
        "principal",
        "tenant",
    }
)


class Field(StrEnum):
    SAN_URI = "san_uri"
    SAN_DNS = "san_dns"
    SAN_EMAIL = "san_email"
    SUBJECT_CN = "subject_cn"


_SEGMENT: Final = {
    Field.SAN_DNS: r"[a-z0-9-]+",
    Field.SAN_URI: r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*",
    Field.SAN_EMAIL: r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*",
    Field.SUBJECT_CN: r"[A-Za-z0-9_-][A-Za-z0-9 ._@+-]*",
}


class RuleError(ValueError):
    """A rule is not valid; the message says which part and why (never echoes a secret)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a certificate is, according to the first rule that applied."""

    principal: str
    tenant: str | None
    rule: int


@dataclass(frozen=True, slots=True)
class Rule:
    field: Field
    pattern: re.Pattern[str]
    principal: str
    tenant: str | None = None
    issuer: str | None = None
    fingerprints: frozenset[str] = frozenset()

    def captures(self, facts: CertificateFacts) -> list[dict[str, str]]:
        """The distinct capture sets of the field's values that match (empty: no match)."""
        found: list[dict[str, str]] = []
        for value in _values(facts, self.field):
            match = self.pattern.fullmatch(value)
            if match is not None and match.groupdict() not in found:
                found.append(match.groupdict())
        return found


def _values(facts: CertificateFacts, field: Field) -> tuple[str, ...]:
    if field is Field.SAN_URI:
        return facts.uris
    if field is Field.SAN_DNS:
        return tuple(name.lower() for name in facts.dns_names)
    if field is Field.SAN_EMAIL:
        return facts.emails
    return () if facts.subject_cn is None else (facts.subject_cn,)


def compile_pattern(field: Field, text: str) -> re.Pattern[str]:
    """A rule pattern -> an anchored regular expression with one named group per capture."""
    if not text:
        raise RuleError(f"{field.value!r} must be a non-empty pattern")
    if field is Field.SAN_DNS:
        text = text.lower()
    segment = _SEGMENT[field]
    parts: list[str] = []
    names: set[str] = set()
    position = 0
    for token in _TOKEN.finditer(text):
        if parts and token.start() == position:
            # "{a}{b}" or "{a}*": where one ends is a guess, and backtracking grows with it.
            raise RuleError(f"{field.value!r} needs literal text between captures")
        parts.append(_literal(field, text[position : token.start()]))
        name = token.group(1)
        if name is None:
            parts.append(f"(?:{segment})")
        else:
            if name in names:
                raise RuleError(f"capture {{{name}}} appears twice in {field.value!r}")
            names.add(name)
            parts.append(f"(?P<{name}>{segment})")
        position = token.end()
    parts.append(_literal(field, text[position:]))
    return re.compile("".join(parts))


def _literal(field: Field, text: str) -> str:
    if "{" in text or "}" in text:
        raise RuleError(f"{field.value!r} has a brace that is not a {{name}} capture")
    return re.escape(text)


def _check_template(key: str, template: str, captures: set[str]) -> None:
    position = 0
    for token in re.finditer(r"\{([^{}]*)\}", template):
        if not _TEMPLATE_LITERAL.fullmatch(template[position : token.start()]):
            raise RuleError(f"{key!r} may hold only letters, digits, ._:/@+#=- and {{name}}")
        if token.group(1) not in captures:
            raise RuleError(
                f"{key!r} uses {{{token.group(1)}}}, which the pattern does not capture"
            )
        position = token.end()
    if not _TEMPLATE_LITERAL.fullmatch(template[position:]):
        raise RuleError(f"{key!r} may hold only letters, digits, ._:/@+#=- and {{name}}")
    if not template:
        raise RuleError(f"{key!r} must not be empty")


def parse_rule(item: Mapping[str, Any]) -> Rule:
    """One JSON rule -> :class:`Rule`; :class:`RuleError` names the first problem."""
    unknown = sorted(set(item) - _RULE_KEYS)
    if unknown:
        raise RuleError(f"unknown key {unknown[0]!r}")
    fields = [f for f in Field if f.value in item]
    if len(fields) != 1:
        raise RuleError("needs exactly one of 'san_uri', 'san_dns', 'san_email', 'subject_cn'")
    field = fields[0]
    text = item[field.value]
    if not isinstance(text, str):
        raise RuleError(f"{field.value!r} must be a string")
    pattern = compile_pattern(field, text)
    captures = set(pattern.groupindex)
    principal = item.get("principal")
    if not isinstance(principal, str):
        raise RuleError("'principal' is required: a template such as 'device:{device}'")
    _check_template("principal", principal, captures)
    tenant = item.get("tenant")
    if tenant is not None:
        if not isinstance(tenant, str):
            raise RuleError("'tenant' must be a string template")
        _check_template("tenant", tenant, captures)
    issuer = item.get("issuer")
    if issuer is not None:
        if not isinstance(issuer, str) or not _KEY_ID.fullmatch(_hex(issuer)):
            raise RuleError("'issuer' must be a CA key id in hex")
        issuer = _hex(issuer)
    pins = item.get("fingerprints")
    fingerprints: frozenset[str] = frozenset()
    if pins is not None:
        if not isinstance(pins, list) or not pins or not all(isinstance(p, str) for p in pins):
            raise RuleError("'fingerprints' must be a non-empty list of SHA-256 hex strings")
        fingerprints = frozenset(_hex(p) for p in pins)
        if not all(_HEX64.fullmatch(p) for p in fingerprints):
            raise RuleError("'fingerprints' must be SHA-256 fingerprints (64 hex digits)")
    return Rule(
        field=field,
        pattern=pattern,
        principal=principal,
        tenant=tenant,
        issuer=issuer,
        fingerprints=fingerprints,
    )


def _hex(value: str) -> str:
    """``AB:CD:..`` or ``abcd..`` -> ``abcd..``."""
    return value.replace(":", "").strip().lower()


def _render(template: str, captures: Mapping[str, str]) -> str:
    return re.sub(r"\{([a-z0-9_]+)\}", lambda m: captures[m.group(1)], template)


def map_identity(facts: CertificateFacts, rules: Sequence[Rule]) -> Identity:
    """The identity of the first rule that applies (see the module docstring).

    Raises
    ------
    AccessDeniedError
        ``POLICY_DENY`` when no rule applies or the match is ambiguous;
        ``UNTRUSTED_CERTIFICATE`` when the applying rule pins other fingerprints.
    """
    for index, rule in enumerate(rules, start=1):
        if rule.issuer is not None and rule.issuer != facts.issuer_key_id:
            continue
        found = rule.captures(facts)
        if not found:
            continue
        if len(found) > 1:
            raise AccessDeniedError(Reason.POLICY_DENY)
        if rule.fingerprints and facts.fingerprint not in rule.fingerprints:
            raise AccessDeniedError(Reason.UNTRUSTED_CERTIFICATE)
        principal = _render(rule.principal, found[0])
        if len(principal) > MAX_PRINCIPAL_CHARS:
            raise AccessDeniedError(Reason.POLICY_DENY)
        tenant = None if rule.tenant is None else _render(rule.tenant, found[0])
        return Identity(principal=principal, tenant=tenant, rule=index)
    raise AccessDeniedError(Reason.POLICY_DENY)
