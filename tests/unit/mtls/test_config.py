"""mTLS settings: required trust anchors and rules, secure defaults, unknown keys refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authorizers.core.exceptions import ConfigurationError
from authorizers.mtls.config import MtlsConfig, Revocation
from tests.unit.mtls.pki import pem, pki

RULES = json.dumps([{"san_uri": "spiffe://example.org/{id}", "principal": "{id}"}])


def env(**overrides: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "GATEHOUSE_MTLS_TRUST_ANCHORS": pki().bundle,
        "GATEHOUSE_MTLS_RULES": RULES,
        "GATEHOUSE_MTLS_CRLS": json.dumps(
            {pki().ca.key_id: "s3://crls/ca.crl", pki().other_ca.key_id: "s3://crls/other.crl"}
        ),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as caught:
        MtlsConfig.from_environ(environ)
    return str(caught.value)


def test_minimal_configuration_has_secure_defaults():
    config = MtlsConfig.from_environ(env())
    assert [a.key_id for a in config.anchors] == [pki().ca.key_id, pki().other_ca.key_id]
    assert config.revocation is Revocation.CRL
    assert config.policy.leeway_s == 60 and config.policy.min_rsa_bits == 2048
    assert config.policy.require_client_auth_eku
    assert config.crl.stale_grace_s == 0 and config.crl.refresh_s == 300
    assert config.cache_s == 60 and config.cache_size == 1000


def test_trust_anchors_are_required():
    assert error(env(GATEHOUSE_MTLS_TRUST_ANCHORS=None)).startswith(
        "GATEHOUSE_MTLS_TRUST_ANCHORS: required and not set"
    )


def test_rules_are_required():
    assert "GATEHOUSE_MTLS_RULES: required" in error(env(GATEHOUSE_MTLS_RULES=None))


def test_unknown_setting_is_an_error_with_a_suggestion():
    message = error(env(GATEHOUSE_MTLS_CRL_STALE_HOUR="4"))
    assert "did you mean GATEHOUSE_MTLS_CRL_STALE_HOURS?" in message


def test_every_anchor_needs_a_crl_while_revocation_is_on():
    only_one = json.dumps({pki().ca.key_id: "s3://crls/ca.crl"})
    message = error(env(GATEHOUSE_MTLS_CRLS=only_one))
    assert f"CA {pki().other_ca.key_id} has no CRL" in message
    assert "GATEHOUSE_MTLS_CRLS: CA" in error(env(GATEHOUSE_MTLS_CRLS=None))


def test_revocation_off_is_explicit_and_excludes_crl_sources():
    config = MtlsConfig.from_environ(env(GATEHOUSE_MTLS_REVOCATION="off", GATEHOUSE_MTLS_CRLS=None))
    assert config.revocation is Revocation.OFF
    assert "is set while" in error(env(GATEHOUSE_MTLS_REVOCATION="off"))


def test_crl_key_ids_accept_colon_notation_and_must_name_an_anchor():
    colons = ":".join(pki().ca.key_id[i : i + 2] for i in range(0, 40, 2)).upper()
    sources = {colons: "s3://crls/ca.crl", pki().other_ca.key_id: "s3://crls/o.crl"}
    config = MtlsConfig.from_environ(env(GATEHOUSE_MTLS_CRLS=json.dumps(sources)))
    assert pki().ca.key_id in config.crl.sources
    assert "is not the key id of a trust anchor" in error(
        env(GATEHOUSE_MTLS_CRLS=json.dumps({"00ff": "s3://b/k"}))
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[]", "non-empty JSON object"),
        ("{", "not valid JSON"),
        ('{"KEY": 3}', "s3://bucket/key"),
        ('{"KEY": "https://x/y"}', "s3://bucket/key"),
        ('{"KEY": "s3://b/a", "key": "s3://b/c"}', "listed twice"),
    ],
)
def test_bad_crl_sources_are_refused(value, message):
    value = value.replace("KEY", pki().ca.key_id.upper()).replace("key", pki().ca.key_id)
    assert message in error(env(GATEHOUSE_MTLS_CRLS=value))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[]", "non-empty JSON list"),
        ("nope", "not valid JSON"),
        ("[1]", "rule 1: must be a JSON object"),
        ('[{"san_uri": "{a}", "principal": "{b}"}]', "rule 1: 'principal' uses {b}"),
        (json.dumps([{"subject_cn": "*", "principal": "p"}] * 101), "more than 100"),
    ],
)
def test_bad_rules_are_refused(value, message):
    assert message in error(env(GATEHOUSE_MTLS_RULES=value))


def test_trust_anchors_from_an_absolute_file(tmp_path: Path):
    bundle = tmp_path / "truststore.pem"
    bundle.write_text(pki().bundle)
    config = MtlsConfig.from_environ(env(GATEHOUSE_MTLS_TRUST_ANCHORS=str(bundle)))
    assert len(config.anchors) == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("truststore.pem", "absolute file path"),
        ("/nonexistent/truststore.pem", "cannot be read"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "PEM bundle"),
        (pem(pki().leaf()), "not a CA"),
    ],
)
def test_bad_trust_anchors_are_refused_without_echoing_them(value, message):
    text = error(env(GATEHOUSE_MTLS_TRUST_ANCHORS=value))
    assert message in text and "BEGIN" not in text


def test_minimum_rsa_size_cannot_go_below_2048():
    assert "GATEHOUSE_MTLS_MIN_RSA_BITS: out of range" in error(
        env(GATEHOUSE_MTLS_MIN_RSA_BITS="1024")
    )


def test_stale_grace_is_given_in_hours():
    config = MtlsConfig.from_environ(env(GATEHOUSE_MTLS_CRL_STALE_HOURS="4"))
    assert config.crl.stale_grace_s == 4 * 3600
