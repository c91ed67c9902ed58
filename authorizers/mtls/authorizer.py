"""The mTLS authorizer, assembled: configuration -> trust anchors, rules, CRL store, cache.

``MtlsAuthorizer.authenticate(request)`` takes the client certificate API Gateway forwarded,
parses and inspects it (``certificate``), maps it to an identity (``rules``) and checks
revocation (``crl_store``); ``decide(request)`` hands the result to the pure ``decide`` step
(the policy authorizer stops at ``authenticate`` and asks Cedar instead).

Result cache: inspection and mapping (signature verification is most of the cost) are cached
by the certificate's SHA-256 fingerprint for ``cache_s`` seconds, bounded in size. Failures are
not cached. The validity window and revocation are checked on *every* request, hit or miss,
so a cached certificate stops working the moment it expires or a fresher CRL revokes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from cryptography.hazmat.primitives import hashes

from authorizers.core.cache import BoundedTTLCache
from authorizers.core.clock import Clock, MonotonicClock, SystemClock
from authorizers.core.config import CoreConfig
from authorizers.core.decision import Decision
from authorizers.core.exceptions import AuthenticationError, InvalidRequestError, Reason
from authorizers.core.observability import logger
from authorizers.core.request import Request
from authorizers.mtls.certificate import (
    CertificateFacts,
    check_validity,
    inspect,
    parse_pem,
    pem_fingerprint,
)
from authorizers.mtls.config import MtlsConfig, Revocation
from authorizers.mtls.crl_store import CrlStore, S3Fetcher
from authorizers.mtls.decide import decide
from authorizers.mtls.rules import Identity, map_identity


class MtlsAuthorizer:
    """Everything one mTLS authorizer function needs, built once per cold start."""

    def __init__(
        self,
        config: MtlsConfig,
        *,
        clock: Clock,
        crl_store: CrlStore | None,
        cache_clock: Clock | None = None,
    ) -> None:
        if config.revocation is Revocation.CRL and crl_store is None:
            raise ValueError("revocation is on: a CRL store is required")
        self.config = config
        self._clock = clock
        self._crls = crl_store if config.revocation is Revocation.CRL else None
        self._cache: BoundedTTLCache[str, tuple[CertificateFacts, Identity]] = BoundedTTLCache(
            maxsize=config.cache_size, ttl_seconds=config.cache_s, clock=cache_clock
        )

    @property
    def core(self) -> CoreConfig:
        return self.config.core

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, clock: Clock | None = None) -> Self:
        """Build from the settings, as the cold start does; ``clock`` replaces the wall clock
        that certificate and CRL validity are checked against (the testing kit)."""
        config = MtlsConfig.from_environ(environ)
        wall_clock = clock or SystemClock()
        store = None
        if config.revocation is Revocation.CRL:
            store = CrlStore(
                config.crl.sources,
                config.anchors,
                fetch=S3Fetcher(max_bytes=config.crl.max_bytes),
                clock=MonotonicClock(),
                wall_clock=wall_clock,
                refresh_s=config.crl.refresh_s,
                retry_s=config.crl.retry_s,
                stale_grace_s=config.crl.stale_grace_s,
                on_event=_log_crl_event,
            )
        return cls(config, clock=wall_clock, crl_store=store)

    def authenticate(self, request: Request) -> tuple[CertificateFacts, Identity]:
        """The inspected, mapped, unrevoked certificate; raises the core's 401/403 errors."""
        client_cert = request.client_cert
        if client_cert is None:
            # No certificate: a request on the default execute-api endpoint, which bypasses
            # the custom domain's mTLS. Refused.
            raise InvalidRequestError(Reason.MISSING_CREDENTIALS)
        # The cache key comes straight from the PEM's DER (no parse): a repeat of a certificate
        # inspected before costs a base64 decode and a hash, not an X.509 parse.
        fingerprint = pem_fingerprint(client_cert.pem)
        now = self._clock.now()
        cached = self._cache.get(fingerprint) if fingerprint is not None else None
        if cached is None:
            certificate = parse_pem(client_cert.pem)
            fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
            facts = inspect(certificate, self.config.anchors, self.config.policy, now)
            identity = map_identity(facts, self.config.rules)
            self._cache.put(fingerprint, (facts, identity))
        else:
            facts, identity = cached
            check_validity(facts.not_before, facts.not_after, now, self.config.policy.leeway_s)
        if self._crls is not None:
            crl = self._crls.revocation_list(facts.issuer_key_id, request.deadline)
            if crl.is_revoked(facts.serial):
                raise AuthenticationError(Reason.REVOKED)
        return facts, identity

    def decide(self, request: Request) -> Decision:
        facts, identity = self.authenticate(request)
        return decide(facts, identity, request)

    def clear(self) -> None:
        self._cache.clear()
        if self._crls is not None:
            self._crls.clear()


def _log_crl_event(name: str, key_id: str) -> None:
    # The key id names a configured CA: safe to log. Never a certificate or CRL body.
    logger.info("crl", extra={"crl_event": name, "ca_key_id": key_id})
