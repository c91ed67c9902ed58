"""The mapping language: certificate facts -> principal and tenant, or Deny."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from authorizers.core.exceptions import AccessDeniedError, Reason
from authorizers.mtls.certificate import CertificateFacts
from authorizers.mtls.rules import Field, Identity, RuleError, compile_pattern, map_identity
from authorizers.mtls.rules import parse_rule as _parse_rule

FP = "ab" * 32
FACTS = CertificateFacts(
    fingerprint=FP,
    serial=0x1001,
    issuer_key_id="c0ffee",
    subject_cn="device-1",
    dns_names=("D-1.Devices.Example.com",),
    uris=("spiffe://example.org/tenant/acme/device/d-1",),
    emails=("ops+d1@example.com",),
    not_before=0,
    not_after=1,
)
SPIFFE_RULE = {
    "san_uri": "spiffe://example.org/tenant/{tenant}/device/{device}",
    "principal": "device:{device}",
    "tenant": "{tenant}",
}


def identity(facts: CertificateFacts, *rules: dict[str, Any]) -> Identity:
    return map_identity(facts, [_parse_rule(r) for r in rules])


def denied(facts: CertificateFacts, *rules: dict[str, Any]) -> Reason:
    with pytest.raises(AccessDeniedError) as caught:
        identity(facts, *rules)
    return caught.value.reason


def test_spiffe_id_maps_to_principal_and_tenant():
    assert identity(FACTS, SPIFFE_RULE) == Identity(principal="device:d-1", tenant="acme", rule=1)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"san_dns": "{device}.devices.example.com", "principal": "{device}"}, "d-1"),
        ({"san_email": "{user}@example.com", "principal": "user:{user}"}, "user:ops+d1"),
        ({"subject_cn": "{cn}", "principal": "{cn}"}, "device-1"),
        ({"subject_cn": "device-*", "principal": "fleet"}, "fleet"),
    ],
    ids=["dns-case-insensitive", "email", "cn", "wildcard-literal-principal"],
)
def test_each_field_maps(rule, expected):
    result = identity(FACTS, rule)
    assert result.principal == expected and result.tenant is None


def test_san_mismatch_is_denied():
    other = replace(FACTS, uris=("spiffe://evil.example/tenant/acme/device/d-1",))
    assert denied(other, SPIFFE_RULE) is Reason.POLICY_DENY


def test_first_applying_rule_wins():
    result = identity(
        FACTS,
        {"san_dns": "{d}.other.example.com", "principal": "other"},
        {"subject_cn": "{cn}", "principal": "cn:{cn}"},
        SPIFFE_RULE,
    )
    assert result == Identity(principal="cn:device-1", tenant=None, rule=2)


def test_dns_capture_cannot_span_labels():
    # "{device}.devices.example.com" must not capture "a.b" from "a.b.devices.example.com"
    deep = replace(FACTS, dns_names=("a.b.devices.example.com",))
    rule = {"san_dns": "{device}.devices.example.com", "principal": "{device}"}
    assert denied(deep, rule) is Reason.POLICY_DENY


@pytest.mark.parametrize("segment", ["..", ".", "a/b", "a%2Fb", ""])
def test_uri_capture_cannot_traverse_or_escape_a_segment(segment):
    uri = f"spiffe://example.org/tenant/acme/device/{segment}"
    assert denied(replace(FACTS, uris=(uri,)), SPIFFE_RULE) is Reason.POLICY_DENY


def test_two_matching_sans_with_different_ids_are_ambiguous_and_denied():
    two = replace(
        FACTS,
        uris=(
            "spiffe://example.org/tenant/acme/device/d-1",
            "spiffe://example.org/tenant/other/device/d-9",
        ),
    )
    assert denied(two, SPIFFE_RULE) is Reason.POLICY_DENY


def test_same_identity_twice_is_not_ambiguous():
    two = replace(FACTS, uris=FACTS.uris * 2)
    assert identity(two, SPIFFE_RULE).principal == "device:d-1"


def test_fingerprint_pin_mismatch_is_denied_and_does_not_fall_through():
    pinned = {**SPIFFE_RULE, "fingerprints": ["cd" * 32]}
    fallback = {"subject_cn": "{cn}", "principal": "{cn}"}
    assert denied(FACTS, pinned, fallback) is Reason.UNTRUSTED_CERTIFICATE


def test_fingerprint_pin_match_is_allowed_in_colon_notation():
    colons = ":".join(["AB"] * 32)
    assert identity(FACTS, {**SPIFFE_RULE, "fingerprints": [colons]}).principal == "device:d-1"


def test_issuer_restriction_skips_other_cas():
    rule = {**SPIFFE_RULE, "issuer": "DE:AD"}
    assert denied(FACTS, rule) is Reason.POLICY_DENY
    assert identity(FACTS, {**SPIFFE_RULE, "issuer": "C0:FF:EE"}).tenant == "acme"


def test_certificate_without_cn_never_matches_a_cn_rule():
    assert denied(replace(FACTS, subject_cn=None), {"subject_cn": "*", "principal": "x"}) is (
        Reason.POLICY_DENY
    )


def test_overlong_principal_is_denied():
    long_cn = replace(FACTS, subject_cn="x" * 200)
    assert denied(long_cn, {"subject_cn": "{cn}", "principal": "{cn}"}) is Reason.POLICY_DENY


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"san_uri": "x", "principal": "p", "tennant": "t"}, "unknown key 'tennant'"),
        ({"principal": "p"}, "exactly one of"),
        ({"san_uri": "x", "san_dns": "y", "principal": "p"}, "exactly one of"),
        ({"san_uri": 3, "principal": "p"}, "must be a string"),
        ({"san_uri": "", "principal": "p"}, "non-empty pattern"),
        ({"san_uri": "x"}, "'principal' is required"),
        ({"san_uri": "{a}", "principal": "{b}"}, "does not capture"),
        ({"san_uri": "{a}", "principal": ""}, "must not be empty"),
        ({"san_uri": "{a}", "principal": "a b"}, "may hold only"),
        ({"san_uri": "{a}", "principal": "{a}", "tenant": 1}, "'tenant' must be"),
        ({"san_uri": "{a}/{a}", "principal": "{a}"}, "appears twice"),
        ({"san_uri": "{a}{b}", "principal": "{a}"}, "literal text between"),
        ({"san_uri": "{A}", "principal": "p"}, "brace"),
        ({"san_uri": "x}", "principal": "p"}, "brace"),
        ({"san_uri": "x", "principal": "p", "issuer": "zz"}, "key id"),
        ({"san_uri": "x", "principal": "p", "fingerprints": []}, "non-empty list"),
        ({"san_uri": "x", "principal": "p", "fingerprints": ["ab"]}, "64 hex"),
    ],
)
def test_invalid_rules_are_refused_with_a_reason(item, message):
    with pytest.raises(RuleError, match=message):
        _parse_rule(item)


def test_literal_regex_characters_are_literal():
    pattern = compile_pattern(Field.SAN_URI, "https://a.example/(x)+/{id}")
    assert pattern.fullmatch("https://a.example/(x)+/7")
    assert not pattern.fullmatch("https://aXexample/(x)+/7")
