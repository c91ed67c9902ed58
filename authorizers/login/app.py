"""The login function, assembled: settings -> the three routes, their IO and their answers.

``LoginApp.handle(event)`` serves ``GET /auth/login``, ``GET /auth/callback`` and
``GET /auth/logout`` from a Lambda proxy event (REST, HTTP API payload 1.0 or 2.0). IO here:
the sealing key from Secrets Manager (read once, on the first request, never at import), the
token request to the provider, the JWKS through the JWT authorizer, and the replay guard.
Every failure is a :class:`authorizers.login.flow.LoginError` or is turned into one here, and
answered in one place (:meth:`LoginApp.handle`): a refused step sets no session cookie (a
refused callback only clears its spent transaction).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from authorizers.core.clock import Clock, SystemClock
from authorizers.core.deadline import Deadline, call_within
from authorizers.core.exceptions import (
    AuthorizerError,
    ConfigurationError,
    InvalidRequestError,
    Reason,
    UpstreamError,
)
from authorizers.core.observability import logger
from authorizers.core.request import event_headers, event_query
from authorizers.core.upstream import LazyClient
from authorizers.jwt_bearer.authorizer import JwtAuthorizer
from authorizers.jwt_bearer.binding import CertificateBinding
from authorizers.jwt_bearer.claims import VerifiedToken
from authorizers.jwt_bearer.fetch import FetchError, HttpsJsonFetcher
from authorizers.jwt_bearer.issuers import IssuerKind, TokenUse
from authorizers.jwt_bearer.replay import DynamoDbReplayGuard, MemoryReplayGuard, ReplayGuard
from authorizers.jwt_bearer.session import cookie_value, csrf_proof
from authorizers.jwt_bearer.verifier import JwtVerifier
from authorizers.login import flow, responses
from authorizers.login.config import LoginConfig, jwt_environ
from authorizers.login.flow import LoginError, LoginFailure, Random, ReturnUrlError

#: The replay guard's "thumbprint" slot for a login's state (replay.py keys by it and an id).
_REPLAY_SCOPE = "login-state"
#: Browsers keep a cookie of at most 4,096 bytes, name and value (RFC 6265 section 6.1); a
#: bigger session would be dropped silently and the login would loop.
MAX_COOKIE_BYTES = 4000
#: A token that could not be checked (the JWKS unreachable) is an outage, not a bad token.
_UPSTREAM_REASONS = frozenset(
    {Reason.UPSTREAM_UNAVAILABLE, Reason.UPSTREAM_THROTTLED, Reason.UPSTREAM_TIMEOUT}
)


@dataclass(frozen=True, slots=True)
class ProxyRequest:
    """What the login routes read of a proxy event."""

    method: str
    path: str
    query: Mapping[str, str]
    cookie: str | None
    payload_v2: bool


Post = Callable[[str, Mapping[str, str]], object]


class LoginApp:
    """Everything one login function needs, built once per cold start."""

    def __init__(
        self,
        config: LoginConfig,
        jwt: JwtAuthorizer,
        *,
        secret: Callable[[], str],
        post: Post,
        clock: Clock,
        random: Random = secrets.token_bytes,
        replay: ReplayGuard | None = None,
    ) -> None:
        self.config = config
        self._jwt = jwt
        cookie = jwt.config.session_cookie
        if cookie is None:
            raise ConfigurationError(
                "GATEHOUSE_JWT_SESSION_COOKIE",
                "the login function sets the session cookie the JWT authorizer reads: "
                "set both to the same __Host- name, e.g. __Host-gatehouse-session",
            )
        self._session_cookie = cookie
        for profile in jwt.config.issuers:
            if CertificateBinding.REQUIRED in (profile.dpop, profile.certificate_binding):
                raise ConfigurationError(
                    "GATEHOUSE_JWT_ISSUERS",
                    f"issuer {profile.issuer} requires bound tokens, which a browser session "
                    "cannot prove (no key in the browser): use a bearer issuer for the login",
                )
            missing = profile.required_scopes - set(config.scopes)
            if missing:
                raise ConfigurationError(
                    "GATEHOUSE_LOGIN_SCOPES",
                    f"issuer {profile.issuer} requires {', '.join(sorted(missing))}, which the "
                    "login does not ask for: every session would be denied; add them",
                )
            if profile.token_use is TokenUse.ID:
                raise ConfigurationError(
                    "GATEHOUSE_JWT_ISSUERS",
                    f"issuer {profile.issuer} takes ID tokens; the session holds the access "
                    'token: set "token_use": "access"',
                )
        self._transaction_cookie = responses.transaction_cookie_name(cookie)
        self._secret = LazyClient(lambda: flow.sealing_key(secret()))
        self._post = post
        self._clock = clock
        self._random = random
        self._replay = replay or MemoryReplayGuard(clock=clock)
        # ID tokens: the API's issuers, with the app client as the audience (OpenID Connect
        # Core section 2: an ID token's aud is the client) and Cognito's token_use "id".
        self._id_verifier = jwt.verifier_for(
            [
                replace(
                    profile,
                    audiences=frozenset({config.client_id}),
                    token_use=TokenUse.ID if profile.kind is IssuerKind.COGNITO else None,
                    typ=None,
                    required_scopes=frozenset(),
                    required_groups=frozenset(),
                )
                for profile in jwt.config.issuers
            ]
        )

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        *,
        in_lambda: bool,
        fetch: Callable[[str], object] | None = None,
        post: Post | None = None,
        secret: Callable[[], str] | None = None,
        clock: Clock | None = None,
    ) -> LoginApp:
        """Build from the settings, as the cold start does (``fetch``, ``post``, ``secret``
        and ``clock`` replace the network, Secrets Manager and the wall clock in tests)."""
        jwt = JwtAuthorizer.from_environ(
            jwt_environ(environ), in_lambda=in_lambda, fetch=fetch, clock=clock
        )
        loopback = jwt.config.jwks.allow_loopback_http
        config = LoginConfig.from_environ(environ, allow_loopback_http=loopback)
        if post is None:
            timeout = jwt.config.jwks.timeout_s
            post = HttpsJsonFetcher(
                connect_timeout_s=min(1.0, timeout),
                total_timeout_s=timeout,
                allow_loopback_http=loopback,
            ).post_form
        wall = clock or SystemClock()
        replay: ReplayGuard | None = None
        if config.replay_table:
            replay = DynamoDbReplayGuard(config.replay_table, clock=wall)
        return cls(
            config,
            jwt,
            secret=secret or _secrets_manager(config.key_secret),
            post=post,
            clock=wall,
            replay=replay,
        )

    def handle(self, event: object, deadline: Deadline | None = None) -> dict[str, Any]:
        """The proxy response to ``event``; never raises."""
        payload_v2 = is_payload_v2(event)
        route = ""
        try:
            request = _proxy_request(event)
            if request.method != "GET":
                raise LoginError(LoginFailure.METHOD_NOT_ALLOWED)
            route = request.path.rstrip("/").rsplit("/", 1)[-1]
            if route == "login":
                return self._login(request, deadline)
            if route == "callback":
                return self._callback(request, deadline)
            if route == "logout":
                return self._logout(request)
            raise LoginError(LoginFailure.NOT_FOUND)
        except LoginError as error:
            failure = error.failure
        except InvalidRequestError:
            failure = LoginFailure.MALFORMED_REQUEST  # a cookie sent twice with two values
        except (AuthorizerError, FetchError) as error:
            # Configuration, Secrets Manager or JWKS trouble: fail closed, say which kind.
            failure = LoginFailure.UNAVAILABLE
            logger.error("login unavailable", extra={"error": type(error).__name__})
        except Exception as error:  # never a 500 (a traceback) to the browser
            failure = LoginFailure.UNAVAILABLE
            logger.error("login fault", extra={"error": type(error).__name__})
        logger.warning("login refused", extra={"login_failure": failure.value})
        # A refused callback ends its login: the state may be spent. Any other refusal leaves
        # a login in progress alone (a stray link must not cancel it).
        cleared = [responses.cookie(self._transaction_cookie, "", max_age=0)]
        return responses.refused(
            failure, payload_v2=payload_v2, cookies=cleared if route == "callback" else ()
        )

    def _key(self, deadline: Deadline | None) -> bytes:
        return call_within(deadline, lambda: bytes(self._secret.get()), upstream="secretsmanager")

    def _return_url(self, request: ProxyRequest) -> str:
        value = request.query.get("return_to", self.config.default_return)
        try:
            return flow.check_return_url(value, self.config.allowed_origins)
        except ReturnUrlError:
            raise LoginError(LoginFailure.RETURN_URL_REFUSED) from None

    def _login(self, request: ProxyRequest, deadline: Deadline | None) -> dict[str, Any]:
        config = self.config
        transaction = flow.start(
            self._return_url(request), now=self._clock.now(), random=self._random
        )
        location = flow.authorize_url(
            config.authorize_url,
            transaction,
            client_id=config.client_id,
            redirect_uri=config.redirect_uri,
            scopes=config.scopes,
        )
        sealed = flow.seal(self._key(deadline), transaction, random=self._random)
        return responses.redirect(
            location,
            [responses.cookie(self._transaction_cookie, sealed, max_age=config.transaction_s)],
            payload_v2=request.payload_v2,
        )

    def _callback(self, request: ProxyRequest, deadline: Deadline | None) -> dict[str, Any]:
        config = self.config
        now = self._clock.now()
        transaction = flow.unseal(
            self._key(deadline),
            cookie_value(request.cookie, self._transaction_cookie),
            now=now,
            max_age_s=config.transaction_s,
        )
        code = flow.check_callback(request.query, transaction)
        expires_at = transaction.started_at + config.transaction_s
        if not self._replay.first_use(_REPLAY_SCOPE, transaction.state, expires_at, deadline):
            raise LoginError(LoginFailure.REPLAYED_LOGIN)
        id_token, access_token = self._exchange(code, transaction, deadline)
        identity = self._verify(self._id_verifier, id_token, deadline)
        flow.check_nonce(identity.claims, transaction)
        access = self._verify(self._jwt.verifier, access_token, deadline)
        _check_pair(identity, access, self.config.client_id)
        if len(self._session_cookie) + len(access_token) > MAX_COOKIE_BYTES:
            raise LoginError(LoginFailure.SESSION_TOO_LARGE)
        max_age = int(float(access.claims["exp"]) - now)
        if max_age < 1:  # expired within the leeway: a cookie the browser drops at once
            raise LoginError(LoginFailure.INVALID_TOKENS)
        cookies = [
            responses.cookie(self._transaction_cookie, "", max_age=0),
            *responses.session_cookies(
                self._session_cookie, access_token, csrf_proof(access_token), max_age=max_age
            ),
        ]
        return responses.redirect(transaction.return_to, cookies, payload_v2=request.payload_v2)

    def _exchange(
        self, code: str, transaction: flow.Transaction, deadline: Deadline | None
    ) -> tuple[str, str]:
        """The authorization code and the PKCE verifier -> (ID token, access token)."""
        config = self.config
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": config.redirect_uri,
            "client_id": config.client_id,
            "code_verifier": transaction.verifier,
        }
        try:
            answer = call_within(
                deadline, lambda: self._post(config.token_url, form), upstream="token endpoint"
            )
        except FetchError as error:
            # A 400 invalid_grant (a spent code, a wrong verifier) is "unexpected http status",
            # an unreachable provider another fixed failure: the browser sees one answer, the
            # log tells them apart.
            logger.warning("token request failed", extra={"fetch_failure": error.failure.value})
            raise LoginError(LoginFailure.EXCHANGE_FAILED) from None
        except AuthorizerError as error:  # the invocation's deadline came first
            logger.warning("token request failed", extra={"reason": error.reason.value})
            raise LoginError(LoginFailure.EXCHANGE_FAILED) from None
        if not isinstance(answer, dict):
            raise LoginError(LoginFailure.EXCHANGE_FAILED)
        id_token, access_token = answer.get("id_token"), answer.get("access_token")
        token_type = answer.get("token_type")
        if (
            not isinstance(id_token, str)
            or not isinstance(access_token, str)
            or not isinstance(token_type, str)
            or token_type.lower() != "bearer"
        ):
            raise LoginError(LoginFailure.INVALID_TOKENS)
        return id_token, access_token

    @staticmethod
    def _verify(verifier: JwtVerifier, token: str, deadline: Deadline | None) -> VerifiedToken:
        try:
            return verifier.verify(token, deadline)
        except AuthorizerError as error:
            if isinstance(error, UpstreamError) or error.reason in _UPSTREAM_REASONS:
                raise  # the provider's keys unreachable: 503 Unavailable, logged as such
            raise LoginError(LoginFailure.INVALID_TOKENS) from None

    def _logout(self, request: ProxyRequest) -> dict[str, Any]:
        location = self.config.logout_url or self._return_url(request)
        return responses.redirect(
            location,
            responses.cleared_cookies(self._session_cookie),
            payload_v2=request.payload_v2,
        )


def _check_pair(identity: VerifiedToken, access: VerifiedToken, client_id: str) -> None:
    """The ID token and the access token must speak of one user, from one issuer, for this
    client: a bound token (``cnf``) has no place in a cookie either."""
    sub, other = identity.claims.get("sub"), access.claims.get("sub")
    aud = identity.claims.get("aud")
    azp = identity.claims.get("azp")
    if (
        not isinstance(sub, str)
        or not sub
        or not isinstance(other, str)
        or not hmac.compare_digest(sub.encode(), other.encode())
        or identity.profile.issuer != access.profile.issuer
        or "cnf" in access.claims
        # OpenID Connect Core 3.1.3.7: with several audiences, azp names this client.
        or (isinstance(aud, list) and len(aud) > 1 and azp != client_id)
        or (azp is not None and azp != client_id)
    ):
        raise LoginError(LoginFailure.INVALID_TOKENS)


def is_payload_v2(event: object) -> bool:
    """An HTTP API payload 2.0 event, answered in its own response format."""
    return isinstance(event, dict) and event.get("version") == "2.0"


def _proxy_request(event: object) -> ProxyRequest:
    if not isinstance(event, dict):
        raise LoginError(LoginFailure.MALFORMED_REQUEST)
    payload_v2 = is_payload_v2(event)
    try:
        if payload_v2:
            method, path = event["requestContext"]["http"]["method"], event["rawPath"]
        else:
            method, path = event["httpMethod"], event["path"]
        # Read as the authorizers read them (authorizers.core.request).
        headers, query = event_headers(event), _single(event_query(event), payload_v2=payload_v2)
    except (InvalidRequestError, KeyError, TypeError, AttributeError):
        raise LoginError(LoginFailure.MALFORMED_REQUEST) from None
    if not isinstance(method, str) or not isinstance(path, str):
        raise LoginError(LoginFailure.MALFORMED_REQUEST)
    cookie = "; ".join(headers.get("cookie", ())) or None
    return ProxyRequest(method.upper(), path, query, cookie, payload_v2)


def _single(query: Mapping[str, tuple[str, ...]], *, payload_v2: bool) -> dict[str, str]:
    """Query parameters, each once: a parameter sent twice with two values (``state``,
    ``code``) is refused, not resolved by picking one."""
    values: dict[str, str] = {}
    for name, received in query.items():
        if len(set(received)) > 1:
            raise LoginError(LoginFailure.MALFORMED_REQUEST)
        value = received[0]
        if payload_v2 and name in ("state", "code") and "," in value:
            # Payload 2.0 joins a repeated parameter with commas: neither value is ours.
            raise LoginError(LoginFailure.MALFORMED_REQUEST)
        values[name] = value
    return values


def _secrets_manager(secret_id: str) -> Callable[[], str]:
    def read() -> str:
        import boto3  # noqa: PLC0415 - on the first request, not at import
        from botocore.config import Config  # noqa: PLC0415

        config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2})
        client = boto3.client("secretsmanager", config=config)
        value = client.get_secret_value(SecretId=secret_id).get("SecretString")
        if not isinstance(value, str):
            raise ConfigurationError(
                "GATEHOUSE_LOGIN_KEY_SECRET", "the secret must hold a string of 32+ characters"
            )
        return value

    return read
