"""Login function settings: ``GATEHOUSE_LOGIN_*`` -> a frozen, validated ``LoginConfig``.

The tokens are verified with the JWT authorizer's own settings (``GATEHOUSE_JWT_ISSUERS`` and
the rest, read by :class:`authorizers.jwt_bearer.config.JwtConfig`), and the session cookie is
the one that authorizer reads (``GATEHOUSE_JWT_SESSION_COOKIE``): one setting, so the two can
not disagree. docs/configuration.md lists every setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from authorizers.core.config import PREFIX, Settings
from authorizers.core.exceptions import ConfigurationError
from authorizers.jwt_bearer.fetch import FetchError, check_url
from authorizers.login.flow import ReturnUrlError, check_return_url, origin_of

LOGIN_PREFIX: Final = "GATEHOUSE_LOGIN_"


@dataclass(frozen=True, slots=True)
class LoginConfig:
    #: The identity provider's authorization and token endpoints (Cognito:
    #: ``https://<domain>/oauth2/authorize`` and ``/oauth2/token``).
    authorize_url: str
    token_url: str
    #: The public app client (no secret: PKCE is what protects the code, RFC 7636).
    client_id: str
    #: This function's ``/auth/callback`` URL, exactly as registered with the provider.
    redirect_uri: str
    scopes: tuple[str, ...]
    #: Origins (``https://app.example.com``) a return URL may point to, besides a path on
    #: the API's own host.
    allowed_origins: frozenset[str]
    default_return: str
    #: The Secrets Manager secret whose value is the key sealing the login transaction.
    key_secret: str
    transaction_s: int = 600
    #: Where ``/auth/logout`` sends the browser after clearing the cookies (the provider's
    #: end-session URL, so its session ends too); ``None``: the return URL.
    logout_url: str | None = None
    #: DynamoDB table making each login's ``state`` single-use across instances.
    replay_table: str | None = None

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, allow_loopback_http: bool = False
    ) -> LoginConfig:
        """Read and validate; raises ConfigurationError naming the first problem.

        ``allow_loopback_http``: the JWT settings' local-mode switch, which lets the provider's
        endpoints be ``http://127.0.0.1`` (tests and local mode only).
        """
        settings = Settings(environ)

        def url(name: str, hint: str) -> str:
            value = settings.text(name, hint=hint)
            return checked_url(name, hint, value)

        def checked_url(name: str, hint: str, value: str) -> str:
            try:
                check_url(value, allow_loopback_http=allow_loopback_http)
            except FetchError:
                raise ConfigurationError(name, f"{hint}: an https:// URL") from None
            return value

        scopes = settings.items(
            f"{LOGIN_PREFIX}SCOPES", hint="scopes, e.g. openid,email", default=("openid",)
        )
        if "openid" not in scopes:
            raise ConfigurationError(
                f"{LOGIN_PREFIX}SCOPES",
                "must include openid: the ID token carries the nonce the callback checks",
            )
        origins = frozenset(
            _origin(value, allow_loopback_http=allow_loopback_http)
            for value in settings.items(
                f"{LOGIN_PREFIX}ALLOWED_ORIGINS",
                hint="origins a return URL may name, e.g. https://app.example.com",
                default=(),
            )
        )
        default_return = settings.text(
            f"{LOGIN_PREFIX}DEFAULT_RETURN", hint="a path or allowed URL", default="/"
        )
        logout = settings.optional_text(f"{LOGIN_PREFIX}LOGOUT_URL")
        if logout is not None:
            checked_url(f"{LOGIN_PREFIX}LOGOUT_URL", "the provider's logout URL", logout)
        config = cls(
            authorize_url=url(f"{LOGIN_PREFIX}AUTHORIZE_URL", "the authorization endpoint"),
            token_url=url(f"{LOGIN_PREFIX}TOKEN_URL", "the token endpoint"),
            client_id=settings.text(f"{LOGIN_PREFIX}CLIENT_ID", hint="the app client id"),
            redirect_uri=url(f"{LOGIN_PREFIX}REDIRECT_URI", "this function's /auth/callback URL"),
            scopes=scopes,
            allowed_origins=origins,
            default_return=default_return,
            key_secret=settings.text(
                f"{LOGIN_PREFIX}KEY_SECRET",
                hint="the Secrets Manager secret (name or ARN) holding the sealing key",
            ),
            transaction_s=settings.integer(
                f"{LOGIN_PREFIX}TRANSACTION_SECONDS",
                default=600,
                minimum=60,
                maximum=3600,
                hint="how long a started login may take",
            ),
            logout_url=logout,
            replay_table=settings.optional_text(f"{LOGIN_PREFIX}REPLAY_TABLE"),
        )
        # Only our own prefix here; the JWT settings are checked by their own reader.
        settings.finish(
            also_known=[
                n for n in environ if n.startswith(PREFIX) and not n.startswith(LOGIN_PREFIX)
            ]
        )
        try:
            check_return_url(default_return, origins)
        except ReturnUrlError:
            raise ConfigurationError(
                f"{LOGIN_PREFIX}DEFAULT_RETURN",
                "a path on the API's host (/app) or a URL of an allowed origin",
            ) from None
        return config


def jwt_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """What the JWT settings reader sees: everything but the login settings."""
    return {k: v for k, v in environ.items() if not k.startswith(LOGIN_PREFIX)}


def _origin(value: str, *, allow_loopback_http: bool) -> str:
    parts = urlsplit(value)
    try:
        check_url(value, allow_loopback_http=allow_loopback_http)
        secure = True
    except FetchError:
        secure = False
    if (
        not secure
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ConfigurationError(
            f"{LOGIN_PREFIX}ALLOWED_ORIGINS",
            f"{value!r} is not an origin: https://host[:port], no path",
        )
    return origin_of(value)
