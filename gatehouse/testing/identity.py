"""Identity providers in-process: an OIDC issuer and a moto Cognito user pool.

Both are *fetch sources*: callables ``source(url) -> object`` that answer the HTTPS GETs the JWT
authorizer makes (the JWKS, the discovery document) without a socket. Pass them to
:func:`gatehouse.testing.authorizer` (``http=issuer``); a URL no source knows fails as an
unreachable issuer would (401 ``UpstreamUnavailable``).

>>> issuer = OidcIssuer()
>>> settings = issuer.settings(audiences=["orders-api"])
>>> settings["issuer"], settings["algorithms"]
('https://issuer.example.test/', ['RS256', 'ES256'])
>>> token = issuer.token(aud="orders-api", scope="orders:read")
"""

from __future__ import annotations

import gzip
import itertools
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from authorizers.jwt_bearer.dpop import ath_of, jwk_thumbprint
from authorizers.jwt_bearer.fetch import FetchError, FetchFailure

__all__ = ["CognitoPool", "FetchSource", "OidcIssuer", "serve"]

_ALGORITHMS = {"RS256": "rsa", "ES256": "ec"}


class FetchSource(Protocol):
    """Answers one URL with a JSON document, or raises :class:`LookupError` if it is not its."""

    def __call__(self, url: str) -> object: ...


def serve(sources: FetchSource | Iterable[FetchSource]) -> FetchSource:
    """One fetch function over several sources (each tried in turn)."""
    chain = [sources] if callable(sources) else list(sources)

    def fetch(url: str) -> object:
        for source in chain:
            try:
                return source(url)
            except LookupError:
                continue
        # The fetcher's own failure, as for a host that does not answer.
        raise FetchError(FetchFailure.CONNECT)

    return fetch


class DpopKey:
    """A client's DPoP key (RFC 9449): its public JWK and thumbprint, and signed proofs.

    Example: a token bound to the key, sent with a fresh proof::

        key = DpopKey()
        token = issuer.token(aud="orders-api", cnf={"jkt": key.thumbprint})
        headers = {
            "Authorization": f"DPoP {token}",
            "DPoP": key.proof("GET", "https://api.example.com/orders/7", token),
        }
    """

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._serial = itertools.count(1)

    @property
    def jwk(self) -> dict[str, Any]:
        """The public key, as a proof's ``jwk`` header carries it."""
        document: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(self._key.public_key()))
        return document

    @property
    def thumbprint(self) -> str:
        """RFC 7638 thumbprint: the ``cnf.jkt`` of tokens bound to this key."""
        return jwk_thumbprint(self.jwk)

    def proof(
        self,
        method: str,
        url: str,
        access_token: str,
        *,
        iat: float | None = None,
        jti: str | None = None,
        header: Mapping[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A proof for ``method`` ``url`` and ``access_token`` (``ath``), issued now unless
        ``iat``; ``header`` and ``claims`` override or add members (a claim given as ``None``
        is left out), for proofs that must fail."""
        body: dict[str, Any] = {
            "jti": jti or f"proof-{next(self._serial)}-{time.time_ns()}",
            "htm": method,
            "htu": url,
            "iat": int(time.time() if iat is None else iat),
            "ath": ath_of(access_token),
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        headers = {"typ": "dpop+jwt", "jwk": self.jwk, **(header or {})}
        return jwt.encode(body, self._key, algorithm="ES256", headers=headers)


class OidcIssuer:
    """An OpenID Connect issuer: signing keys (RSA and EC), its JWKS and discovery document,
    and tokens with any claims.

    Parameters
    ----------
    issuer:
        The ``iss`` value, exactly as configured (a trailing ``/`` is kept).
    """

    def __init__(self, issuer: str = "https://issuer.example.test/") -> None:
        self.issuer = issuer
        self.jwks_uri = issuer.rstrip("/") + "/.well-known/jwks.json"
        self.discovery_uri = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self._serial = itertools.count(1)
        self._keys: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {}
        self._current: dict[str, str] = {}
        for alg in _ALGORITHMS:
            self.rotate(alg, keep_old=False)

    def rotate(self, alg: str = "RS256", *, keep_old: bool = True) -> str:
        """A new signing key for ``alg``; the old one stays published unless ``keep_old`` is
        false (a retired key: its tokens then fail with ``UnknownKey``). Returns the new kid."""
        if alg not in _ALGORITHMS:
            raise ValueError(f"alg must be one of {', '.join(_ALGORITHMS)}")
        kid = f"{_ALGORITHMS[alg]}-{next(self._serial)}"
        key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if alg == "RS256"
            else ec.generate_private_key(ec.SECP256R1())
        )
        old = self._current.get(alg)
        if old is not None and not keep_old:
            del self._keys[old]
        self._keys[kid] = key
        self._current[alg] = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        """The published JWKS (public keys only)."""
        keys = []
        for kid, key in self._keys.items():
            public = key.public_key()
            text = (
                RSAAlgorithm.to_jwk(public)
                if isinstance(public, rsa.RSAPublicKey)
                else ECAlgorithm.to_jwk(public)
            )
            keys.append({**json.loads(text), "kid": kid, "use": "sig"})
        return {"keys": keys}

    def discovery(self) -> dict[str, Any]:
        """The OpenID Connect discovery document."""
        return {"issuer": self.issuer, "jwks_uri": self.jwks_uri}

    def settings(
        self,
        *,
        audiences: Sequence[str],
        algorithms: Sequence[str] = ("RS256", "ES256"),
        discover: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        """This issuer's entry for ``GATEHOUSE_JWT_ISSUERS`` (``discover``: no ``jwks_uri``,
        found through the discovery document)."""
        entry: dict[str, Any] = {
            "type": "oidc",
            "issuer": self.issuer,
            "audiences": list(audiences),
            "algorithms": list(algorithms),
        }
        if not discover:
            entry["jwks_uri"] = self.jwks_uri
        return {**entry, **extra}

    def token(
        self,
        *,
        alg: str = "RS256",
        kid: str | None = None,
        expires_in: float = 600,
        headers: Mapping[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed token: ``iss``, ``sub``, ``iat`` and ``exp`` (``expires_in`` from now;
        negative for an expired token) unless given in ``claims``; a claim given as ``None`` is
        left out."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "user-1",
            "iat": now,
            "exp": int(now + expires_in),
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        kid = kid or self._current[alg]
        key = self._keys.get(kid) or self._keys[self._current[alg]]
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid, **(headers or {})})

    def __call__(self, url: str) -> object:
        if url == self.jwks_uri:
            return self.jwks()
        if url == self.discovery_uri:
            return self.discovery()
        raise LookupError(url)


class CognitoPool:
    """A Cognito user pool in moto, with real access and id tokens (moto signs them).

    Use it inside ``moto.mock_aws()`` (the ``gatehouse_cognito`` fixture does): it creates the
    pool, app clients, groups and users through boto3, and, as a fetch source, serves moto's
    JWKS at the pool's Cognito JWKS URL, so the JWT authorizer verifies moto's tokens with no
    socket.

    >>> # with moto.mock_aws():
    >>> #     pool = CognitoPool.create(region="eu-west-1")
    >>> #     client = pool.app_client("web")
    >>> #     pool.user("alice", groups=["admins"])
    >>> #     token = pool.access_token("alice", client)
    """

    PASSWORD = "Gatehouse-test-1!"  # noqa: S105 - moto's users only

    def __init__(
        self, client: Any, pool_id: str, region: str, *, server_url: str | None = None
    ) -> None:
        self.cognito = client
        self.pool_id = pool_id
        self.region = region
        self.server_url = server_url
        # moto's tokens carry the real Cognito issuer, in either mode: the issuer check is the
        # production one; only where the JWKS is fetched differs.
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        self.jwks_uri = f"{self.issuer}/.well-known/jwks.json"

    @classmethod
    def create(
        cls,
        *,
        region: str = "eu-west-1",
        name: str = "gatehouse-test",
        server_url: str | None = None,
    ) -> CognitoPool:
        """A new pool: under ``mock_aws`` (in-process), or in the moto server at
        ``server_url`` (server mode: the authorizer fetches the JWKS over loopback HTTP)."""
        import boto3  # noqa: PLC0415 - only the Cognito fixtures need it

        client = boto3.client(
            "cognito-idp",
            region_name=region,
            endpoint_url=server_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        )
        pool_id = client.create_user_pool(PoolName=name)["UserPool"]["Id"]
        return cls(client, pool_id, region, server_url=server_url)

    def app_client(self, name: str) -> str:
        """A new app client (no secret, password auth); returns its client id."""
        return str(
            self.cognito.create_user_pool_client(
                UserPoolId=self.pool_id,
                ClientName=name,
                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            )["UserPoolClient"]["ClientId"]
        )

    def user(self, username: str, *, groups: Sequence[str] = ()) -> None:
        """A confirmed user in ``groups`` (groups are created on first use)."""
        existing = {
            g["GroupName"] for g in self.cognito.list_groups(UserPoolId=self.pool_id)["Groups"]
        }
        for group in groups:
            if group not in existing:
                self.cognito.create_group(GroupName=group, UserPoolId=self.pool_id)
        self.cognito.admin_create_user(
            UserPoolId=self.pool_id, Username=username, MessageAction="SUPPRESS"
        )
        self.cognito.admin_set_user_password(
            UserPoolId=self.pool_id, Username=username, Password=self.PASSWORD, Permanent=True
        )
        for group in groups:
            self.cognito.admin_add_user_to_group(
                UserPoolId=self.pool_id, Username=username, GroupName=group
            )

    def _auth(self, username: str, client_id: str) -> Mapping[str, str]:
        result = self.cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": self.PASSWORD},
        )
        return result["AuthenticationResult"]  # type: ignore[no-any-return]

    def access_token(self, username: str, client_id: str) -> str:
        """A real access token for ``username`` through ``client_id``."""
        return self._auth(username, client_id)["AccessToken"]

    def id_token(self, username: str, client_id: str) -> str:
        """A real id token for ``username`` through ``client_id``."""
        return self._auth(username, client_id)["IdToken"]

    def settings(
        self,
        *,
        client_ids: Sequence[str],
        token_use: str = "access",  # noqa: S107 - a token kind, not a password
        **extra: Any,
    ) -> dict[str, Any]:
        """This pool's entry for ``GATEHOUSE_JWT_ISSUERS``; in server mode with the moto
        server's JWKS URL (set ``jwt_allow_loopback_http=True`` on the authorizer too)."""
        entry: dict[str, Any] = {
            "type": "cognito",
            "user_pool_id": self.pool_id,
            "client_ids": list(client_ids),
            "token_use": token_use,
            "algorithms": ["RS256"],
        }
        if self.server_url is not None:
            entry["jwks_uri"] = f"{self.server_url}/{self.pool_id}/.well-known/jwks.json"
        return {**entry, **extra}

    def __call__(self, url: str) -> object:
        if url == self.jwks_uri:
            return _moto_jwks()
        raise LookupError(url)


def _moto_jwks() -> object:
    """moto's Cognito signing key set, as its server would serve it."""
    data = resources.files("moto.cognitoidp").joinpath("resources/jwks-public.json.gz")
    return json.loads(gzip.decompress(data.read_bytes()))
