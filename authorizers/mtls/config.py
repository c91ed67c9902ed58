"""mTLS authorizer settings: environment variables -> a frozen, validated ``MtlsConfig``.

The trust anchors (``GATEHOUSE_MTLS_TRUST_ANCHORS``) and the rules (``GATEHOUSE_MTLS_RULES``)
have no defaults. Revocation is on unless ``GATEHOUSE_MTLS_REVOCATION=off`` says otherwise, and
then every anchor needs a CRL source. Unknown variables, unknown rule keys and CRL sources for
unknown CAs are errors. docs/mtls.md documents every setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from authorizers.core.config import CoreConfig, Settings, json_list
from authorizers.core.exceptions import ConfigurationError
from authorizers.core.settings_file import read_settings
from authorizers.mtls.certificate import CertificatePolicy, TrustAnchor, load_trust_anchors
from authorizers.mtls.crl_store import S3Location
from authorizers.mtls.rules import MAX_RULES, Rule, RuleError, parse_rule

ANCHORS_VAR: Final = "GATEHOUSE_MTLS_TRUST_ANCHORS"
RULES_VAR: Final = "GATEHOUSE_MTLS_RULES"
CRLS_VAR: Final = "GATEHOUSE_MTLS_CRLS"
MAX_ANCHORS: Final = 32
MAX_BUNDLE_BYTES: Final = 1_048_576


class Revocation(StrEnum):
    CRL = "crl"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class CrlSettings:
    sources: Mapping[str, S3Location]
    refresh_s: float = 300
    retry_s: float = 30
    stale_grace_s: float = 0
    max_bytes: int = 10_485_760


@dataclass(frozen=True, slots=True)
class MtlsConfig:
    core: CoreConfig
    anchors: tuple[TrustAnchor, ...]
    rules: tuple[Rule, ...]
    policy: CertificatePolicy
    revocation: Revocation
    crl: CrlSettings
    cache_s: float = 60
    cache_size: int = 1000

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> MtlsConfig:
        """The settings from ``environ`` and the settings file it names, if any
        (``GATEHOUSE_CONFIG_FILE``, :mod:`authorizers.core.settings_file`)."""
        return read_settings(environ, cls._read)

    @classmethod
    def _read(cls, environ: Mapping[str, str]) -> MtlsConfig:
        """Read and validate every setting; raises ConfigurationError naming the first problem.

        Reads the trust anchor file when the setting is a path (cold start only).
        """
        settings = Settings(environ)
        core = CoreConfig.read(settings)
        anchors = _anchors(
            settings.text(ANCHORS_VAR, hint="a PEM bundle of CA certificates, or a file path")
        )
        rules = parse_rules(settings.text(RULES_VAR, hint="a JSON list of rules (docs/mtls.md)"))
        policy = CertificatePolicy(
            leeway_s=settings.number(
                "GATEHOUSE_MTLS_LEEWAY_SECONDS", default=60, minimum=0, maximum=300
            ),
            min_rsa_bits=settings.integer(
                "GATEHOUSE_MTLS_MIN_RSA_BITS", default=2048, minimum=2048, maximum=16384
            ),
            require_client_auth_eku=settings.boolean(
                "GATEHOUSE_MTLS_REQUIRE_CLIENT_AUTH", default=True
            ),
        )
        revocation = Revocation(
            settings.choice("GATEHOUSE_MTLS_REVOCATION", Revocation, default=Revocation.CRL)
        )
        crls_text = settings.optional_text(CRLS_VAR)
        sources = parse_crl_sources(crls_text, anchors) if crls_text else {}
        crl = CrlSettings(
            sources=sources,
            refresh_s=settings.number(
                "GATEHOUSE_MTLS_CRL_REFRESH_SECONDS", default=300, minimum=30, maximum=86400
            ),
            retry_s=settings.number(
                "GATEHOUSE_MTLS_CRL_RETRY_SECONDS", default=30, minimum=5, maximum=3600
            ),
            stale_grace_s=3600
            * settings.number("GATEHOUSE_MTLS_CRL_STALE_HOURS", default=0, minimum=0, maximum=168),
            max_bytes=settings.integer(
                "GATEHOUSE_MTLS_CRL_MAX_BYTES",
                default=10_485_760,
                minimum=1024,
                maximum=52_428_800,
            ),
        )
        config = cls(
            core=core,
            anchors=anchors,
            rules=rules,
            policy=policy,
            revocation=revocation,
            crl=crl,
            cache_s=settings.number(
                "GATEHOUSE_MTLS_CACHE_SECONDS", default=60, minimum=1, maximum=300
            ),
            cache_size=settings.integer(
                "GATEHOUSE_MTLS_CACHE_SIZE", default=1000, minimum=1, maximum=100_000
            ),
        )
        settings.finish()
        if revocation is Revocation.CRL:
            uncovered = [a.key_id for a in anchors if a.key_id not in sources]
            if uncovered:
                raise ConfigurationError(
                    CRLS_VAR,
                    f"CA {uncovered[0]} has no CRL; give every trust anchor one, or set "
                    "GATEHOUSE_MTLS_REVOCATION=off to accept certificates without a "
                    "revocation check",
                )
        elif sources:
            raise ConfigurationError(CRLS_VAR, "is set while GATEHOUSE_MTLS_REVOCATION=off")
        return config


def _anchors(value: str) -> tuple[TrustAnchor, ...]:
    if "-----BEGIN" in value:
        bundle = value
    else:
        path = Path(value)
        if not path.is_absolute():
            raise ConfigurationError(ANCHORS_VAR, "must be PEM text or an absolute file path")
        try:
            data = path.read_bytes()[: MAX_BUNDLE_BYTES + 1]
        except OSError:
            raise ConfigurationError(ANCHORS_VAR, "names a file that cannot be read") from None
        if len(data) > MAX_BUNDLE_BYTES:
            raise ConfigurationError(ANCHORS_VAR, "names a file over 1 MiB")
        bundle = data.decode("ascii", errors="replace")
    try:
        anchors = load_trust_anchors(bundle)
    except ValueError as error:
        raise ConfigurationError(ANCHORS_VAR, str(error)) from None
    if not anchors:
        raise ConfigurationError(ANCHORS_VAR, "holds no certificate")
    if len(anchors) > MAX_ANCHORS:
        raise ConfigurationError(ANCHORS_VAR, f"holds more than {MAX_ANCHORS} CAs")
    return anchors


def parse_rules(text: str) -> tuple[Rule, ...]:
    """``GATEHOUSE_MTLS_RULES`` -> rules, in order."""
    items = json_list(RULES_VAR, text)
    if len(items) > MAX_RULES:
        raise ConfigurationError(RULES_VAR, f"has more than {MAX_RULES} rules")
    rules: list[Rule] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ConfigurationError(RULES_VAR, f"rule {index}: must be a JSON object")
        try:
            rules.append(parse_rule(item))
        except RuleError as error:
            raise ConfigurationError(RULES_VAR, f"rule {index}: {error}") from None
    return tuple(rules)


def parse_crl_sources(text: str, anchors: tuple[TrustAnchor, ...]) -> dict[str, S3Location]:
    """``GATEHOUSE_MTLS_CRLS``: a JSON object, CA key id (hex, colons allowed) -> s3:// URI."""
    try:
        items = json.loads(text)
    except ValueError:
        raise ConfigurationError(CRLS_VAR, "is not valid JSON; expected a JSON object") from None
    if not isinstance(items, dict) or not items:
        raise ConfigurationError(CRLS_VAR, "must be a non-empty JSON object")
    known = {anchor.key_id for anchor in anchors}
    sources: dict[str, S3Location] = {}
    for raw_id, uri in items.items():
        key_id = raw_id.replace(":", "").strip().lower()
        if key_id not in known:
            raise ConfigurationError(
                CRLS_VAR, f"key id {key_id} is not the key id of a trust anchor"
            )
        if key_id in sources:
            raise ConfigurationError(CRLS_VAR, f"key id {key_id} is listed twice")
        if not isinstance(uri, str):
            raise ConfigurationError(CRLS_VAR, f"CRL of {key_id}: must be an s3://bucket/key URI")
        try:
            sources[key_id] = S3Location.parse(uri)
        except ValueError as error:
            raise ConfigurationError(CRLS_VAR, f"CRL of {key_id}: {error}") from None
    return sources
