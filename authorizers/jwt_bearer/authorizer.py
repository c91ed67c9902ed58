"""The JWT authorizer, assembled: configuration -> verifier, JWKS cache, revocation, rules.

``JwtAuthorizer.authenticate(request)`` reads the bearer token, verifies it and checks
revocation; ``decide(request)`` hands that verified token to the pure ``decide`` step (the
policy authorizer stops at ``authenticate`` and asks Cedar instead).
``handler.py`` builds one at cold start.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

from cachetools import LRUCache

from authorizers.core.clock import Clock, MonotonicClock, SystemClock
from authorizers.core.config import CoreConfig
from authorizers.core.deadline import Deadline
from authorizers.core.decision import Decision
from authorizers.core.exceptions import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    Reason,
)
from authorizers.core.observability import logger
from authorizers.core.request import Request
from authorizers.jwt_bearer.binding import CertificateBinding, check_certificate_binding
from authorizers.jwt_bearer.claims import VerifiedToken
from authorizers.jwt_bearer.config import ISSUERS_VAR, JwtConfig, UnmatchedRoutes
from authorizers.jwt_bearer.decide import decide
from authorizers.jwt_bearer.dpop import verify_proof
from authorizers.jwt_bearer.fetch import HttpsJsonFetcher
from authorizers.jwt_bearer.issuers import IssuerProfile
from authorizers.jwt_bearer.jwks import JwksCache
from authorizers.jwt_bearer.keys import ASYMMETRIC_ALGORITHMS, KeySet, VerificationKey
from authorizers.jwt_bearer.replay import DynamoDbReplayGuard, MemoryReplayGuard, ReplayGuard
from authorizers.jwt_bearer.revocation import DynamoDbRevocationList, RevocationList
from authorizers.jwt_bearer.session import CSRF_HEADER, check_csrf, cookie_value
from authorizers.jwt_bearer.token import scheme_and_token
from authorizers.jwt_bearer.verifier import JwtVerifier


class JwtAuthorizer:
    """Everything one JWT authorizer function needs, built once per cold start."""

    def __init__(
        self,
        config: JwtConfig,
        *,
        jwks: JwksCache,
        clock: Clock,
        revocation: RevocationList | None = None,
        replay: ReplayGuard | None = None,
    ) -> None:
        self.config = config
        self._jwks = jwks
        self._revocation = revocation
        self._clock = clock
        self._replay = replay or MemoryReplayGuard(clock=clock)
        # DPoP clients' keys, by proof header (dpop.py): bounded, and cleared with clear().
        self._proof_keys: LRUCache[bytes, tuple[VerificationKey, str]] = LRUCache(maxsize=1024)
        self._proof_headers: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=1024)
        # Issuers configured with a JWKS and no URI verify against those keys only.
        self._static: dict[str, KeySet] = {}
        for profile in config.issuers:
            if profile.preloaded_jwks is not None:
                self._install_jwks(profile, profile.preloaded_jwks)
        self.verifier = self.verifier_for(config.issuers)

    @property
    def core(self) -> CoreConfig:
        return self.config.core

    def verifier_for(self, issuers: Sequence[IssuerProfile]) -> JwtVerifier:
        """A verifier for other profiles of the configured issuers (the login function's ID
        tokens), sharing this authorizer's keys and settings."""
        config = self.config
        return JwtVerifier(
            issuers,
            key_lookup=self._key,
            clock=self._clock,
            leeway_s=config.leeway_s,
            max_token_bytes=config.max_token_bytes,
            principal_claim=config.principal_claim,
        )

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        *,
        in_lambda: bool,
        fetch: Callable[[str], object] | None = None,
        clock: Clock | None = None,
    ) -> Self:
        """Build from the settings, as the cold start does.

        ``fetch`` and ``clock`` replace the HTTPS fetcher and the wall clock (the testing kit's
        in-process issuers and time travel); the handler passes neither.
        """
        config = JwtConfig.from_environ(environ, in_lambda=in_lambda)
        settings = config.jwks
        fetcher = fetch or HttpsJsonFetcher(
            connect_timeout_s=min(1.0, settings.timeout_s),
            total_timeout_s=settings.timeout_s,
            max_bytes=settings.max_bytes,
            allow_loopback_http=settings.allow_loopback_http,
        )
        cache = JwksCache(
            fetch=fetcher,
            clock=clock or MonotonicClock(),  # time travel ages the key cache too
            max_age_s=settings.max_age_s,
            cooldown_s=settings.cooldown_s,
            stale_if_error_s=settings.stale_if_error_s,
            allow_loopback_http=settings.allow_loopback_http,
            on_event=_log_jwks_event,
        )
        revocation = None
        if config.revocation_table:
            revocation = DynamoDbRevocationList(
                config.revocation_table, cache_ttl_s=config.revocation_cache_s
            )
        wall = clock or SystemClock()
        replay = None
        if config.dpop_replay_table:
            replay = DynamoDbReplayGuard(config.dpop_replay_table, clock=wall)
        return cls(config, jwks=cache, clock=wall, revocation=revocation, replay=replay)

    def _install_jwks(self, profile: IssuerProfile, document: dict[str, Any]) -> None:
        """A configured JWKS: static keys, or a preload of the URI's cache. Both get the same
        checks; a set no token could verify against is a configuration error at cold start,
        not a 401 ``UnknownKey`` on every request."""
        try:
            if profile.jwks_uri is None:
                self._static[profile.issuer] = self._jwks.load_static(profile.issuer, document)
            else:
                self._jwks.preload(profile.jwks_uri, document)
        except ValueError as error:
            # The message is fixed text from jwks/keys (never a key or a value): safe to log.
            raise ConfigurationError(
                ISSUERS_VAR, f"issuer {profile.issuer}: 'jwks': {error}"
            ) from None

    def _key(self, profile: IssuerProfile, kid: str, deadline: Deadline | None) -> VerificationKey:
        static = self._static.get(profile.issuer)
        if static is not None:
            key = static.keys.get(kid)
            if key is None:
                raise AuthenticationError(Reason.UNKNOWN_KEY)
            return key
        uri = self._jwks.resolve(profile.issuer, profile.jwks_uri, deadline)
        return self._jwks.get_key(uri, kid, deadline)

    def authenticate(self, request: Request) -> VerifiedToken:
        """The verified, unrevoked token of ``request``; raises the core's 401 errors."""
        header = request.credential(self.config.header)
        cookie = self.config.session_cookie
        if header is None and cookie is not None:
            return self._authenticate_session(request, cookie)
        scheme, token = scheme_and_token(header)
        verified = self.verifier.verify(token, request.deadline)
        dpop = scheme == "dpop"
        if dpop or verified.profile.dpop is not CertificateBinding.OFF:
            self._check_dpop(verified, token, request, dpop=dpop)
        certificate = request.client_cert
        if check_certificate_binding(
            verified.claims,
            verified.profile.certificate_binding,
            None if certificate is None else certificate.pem,
            dpop_proven=dpop,
        ):
            verified = verified._replace(bound=True)
        self._check_revoked(verified, request)
        return verified

    def _authenticate_session(self, request: Request, cookie: str) -> VerifiedToken:
        """A browser's session cookie (session.py): a plain bearer token, taken on an unsafe
        method only with its CSRF proof. A bound token is refused: the browser holds no
        proof key, and the cookie is not the place for one."""
        # Split Cookie header lines are one list (RFC 9113 section 8.2.3); a name repeated with
        # another value is then found by cookie_value.
        token = cookie_value("; ".join(request.headers.get("cookie", ())), cookie)
        if not token:
            raise InvalidRequestError(Reason.MISSING_CREDENTIALS)
        verified = self.verifier.verify(token, request.deadline)
        profile = verified.profile
        if "cnf" in verified.claims or CertificateBinding.REQUIRED in (
            profile.dpop,
            profile.certificate_binding,
        ):
            raise AuthenticationError(Reason.UNBOUND_TOKEN)
        check_csrf(
            request.method,
            request.headers.single(CSRF_HEADER),
            token,
            principal=verified.principal,
        )
        self._check_revoked(verified, request)
        return verified._replace(session=True)

    def _check_revoked(self, verified: VerifiedToken, request: Request) -> None:
        if self._revocation is None:
            return
        ids = [
            value
            for name in ("jti", "origin_jti")
            if isinstance(value := verified.claims.get(name), str)
        ]
        if self._revocation.is_revoked(verified.profile.issuer, ids, request.deadline):
            raise AuthenticationError(Reason.REVOKED)

    def _check_dpop(
        self, verified: VerifiedToken, token: str, request: Request, *, dpop: bool
    ) -> None:
        """RFC 9449: a DPoP token with a fresh, single-use proof of its key; no DPoP-bound
        token without one."""
        mode = verified.profile.dpop
        cnf = verified.claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        if not dpop:
            if mode is CertificateBinding.REQUIRED or jkt is not None:
                raise AuthenticationError(Reason.UNBOUND_TOKEN)  # a DPoP token sent as Bearer
            return
        if mode is CertificateBinding.OFF:
            raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)  # no DPoP for this issuer
        if not isinstance(jkt, str):
            raise AuthenticationError(Reason.UNBOUND_TOKEN)  # a bearer token dressed as DPoP
        proof = request.headers.single("dpop")
        if proof is None:
            raise InvalidRequestError(Reason.MISSING_CREDENTIALS)
        if request.url is None or request.method is None:
            raise InvalidRequestError(Reason.MALFORMED_EVENT)
        config = self.config
        proven = verify_proof(
            proof,
            method=request.method,
            url=request.url,
            access_token=token,
            algorithms=ASYMMETRIC_ALGORITHMS,
            now=self._clock.now(),
            max_age_s=config.dpop_max_age_s,
            leeway_s=config.leeway_s,
            keys=self._proof_keys,
            headers=self._proof_headers,
        )
        if not hmac.compare_digest(proven.thumbprint, jkt):
            raise AuthenticationError(Reason.BINDING_MISMATCH)  # signed by another key
        expires_at = proven.iat + config.dpop_max_age_s + config.leeway_s
        if not self._replay.first_use(proven.thumbprint, proven.jti, expires_at, request.deadline):
            raise AuthenticationError(Reason.REPLAYED_PROOF)

    def decide(self, request: Request) -> Decision:
        return decide(
            self.authenticate(request),
            request,
            rules=self.config.rules,
            unmatched_allowed=self.config.unmatched is UnmatchedRoutes.ALLOW,
            context_claims=self.config.context_claims,
        )


def _log_jwks_event(name: str, uri: str) -> None:
    # The URI is configuration (an issuer's JWKS endpoint), safe to log; never a token.
    logger.info("jwks", extra={"jwks_event": name, "jwks_uri": uri})
