"""Authorizers under test: built from settings exactly as the Lambda cold start builds them.

:func:`authorizer` reads the settings through the authorizer's own ``from_environ`` (so the
settings file, unknown-key errors and every check apply), wraps the result in the handler's
real entry point (:func:`authorizers.core.pipeline.lambda_handler_for`: logging context, error
mapping, response rendering) and never touches ``os.environ`` or reloads a module. Each call
builds a fresh authorizer, with fresh caches.

>>> from gatehouse.testing import OidcIssuer, authorizer, build_event
>>> issuer = OidcIssuer()
>>> gate = authorizer("jwt", jwt_issuers=[issuer.settings(audiences=["orders-api"])],
...                   http=issuer)
>>> answer = gate(build_event("rest_token", "GET /orders/7",
...                           authorization="Bearer " + issuer.token(aud="orders-api")))
>>> answer.status
200
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any, Final, Literal, get_args

from authorizers.core.clock import Clock
from authorizers.core.exceptions import Unauthorized
from authorizers.core.pipeline import Authorizer, ColdStart, lambda_handler_for
from authorizers.core.settings_file import CONFIG_FILE_SETTING, PREFIX, read_file, setting_text
from gatehouse.testing.answers import Answer
from gatehouse.testing.events import LambdaContext
from gatehouse.testing.identity import FetchSource, serve

__all__ = [
    "AUTHORIZER_KINDS",
    "NETWORK",
    "AuthorizerKind",
    "AuthorizerUnderTest",
    "authorizer",
    "settings_from",
]


class _Network:
    """``http=NETWORK``: the authorizer's real HTTPS fetcher, over sockets (server-mode moto)."""

    def __repr__(self) -> str:
        return "NETWORK"


NETWORK: Final = _Network()

AuthorizerKind = Literal["jwt", "apikey", "mtls", "policy"]
AUTHORIZER_KINDS: Final[tuple[AuthorizerKind, ...]] = get_args(AuthorizerKind)
# The name each handler module gives its ColdStart (metrics and logs say it).
_PIPELINE_NAMES: Final[Mapping[AuthorizerKind, str]] = {
    "jwt": "jwt",
    "apikey": "api_key",
    "mtls": "mtls",
    "policy": "policy",
}
_ARGUMENTS: Final = "the authorizer() arguments"


class AuthorizerUnderTest:
    """A built authorizer: call it with an event, get an :class:`Answer`.

    ``handler`` is the real Lambda entry point (``handler(event, context)``) for tests that
    want the raw response or the raised ``Unauthorized``.
    """

    def __init__(self, kind: AuthorizerKind, built: Authorizer) -> None:
        self.kind = kind
        self.authorizer = built
        self.handler = lambda_handler_for(ColdStart(_PIPELINE_NAMES[kind], lambda: built))

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> Answer:
        try:
            response = self.handler(dict(event), context or LambdaContext())
        except Unauthorized as error:
            reason = error.reason.value if error.reason is not None else None
            return Answer(event=event, response=None, reason=reason)
        raw_context = response.get("context")
        reason = raw_context.get("reason") if isinstance(raw_context, Mapping) else None
        return Answer(event=event, response=response, reason=reason)


def authorizer(
    kind: AuthorizerKind | str,
    *,
    settings_file: str | PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    http: FetchSource | Iterable[FetchSource] | _Network | None = None,
    clock: Clock | None = None,
    **settings: Any,
) -> AuthorizerUnderTest:
    """Build the ``kind`` authorizer (``jwt``, ``apikey``, ``mtls`` or ``policy``).

    Parameters
    ----------
    settings_file:
        A settings file, read as ``GATEHOUSE_CONFIG_FILE`` would be.
    environ:
        Settings as the function's environment would hold them (``GATEHOUSE_*`` names).
    http:
        What the JWT authorizer's HTTPS fetches reach: in-process issuers
        (:class:`OidcIssuer`, :class:`CognitoPool`); default: nothing (no socket);
        :data:`NETWORK`: the real fetcher (a moto server on loopback, with
        ``jwt_allow_loopback_http=True``).
    clock:
        The wall clock tokens, keys and certificates are checked against (time travel:
        ``ManualClock``).
    settings:
        Settings by name without ``GATEHOUSE_``, lowercase: ``jwt_issuers=[...]`` is
        ``GATEHOUSE_JWT_ISSUERS``. Values as in a settings file: strings, numbers, booleans,
        lists and objects.

    Raises
    ------
    ValueError
        For an unknown ``kind``, or a setting given twice (in ``settings`` and ``environ``).
    authorizers.core.exceptions.ConfigurationError
        For a setting the authorizer does not know or a bad value: the message names it, as
        the cold start's log line would.
    """
    if kind not in AUTHORIZER_KINDS:
        raise ValueError(
            f"unknown authorizer kind {kind!r}; use one of {', '.join(AUTHORIZER_KINDS)}"
        )
    merged = environ_from(environ, settings_file, settings, where=_ARGUMENTS)
    fetch = None if http is NETWORK else serve(() if http is None else http)  # type: ignore[arg-type]
    return AuthorizerUnderTest(kind, _build(kind, merged, fetch, clock))


def settings_from(path: str | PathLike[str]) -> dict[str, Any]:
    """A settings file as keyword settings for :func:`authorizer` (``GATEHOUSE_JWT_ISSUERS`` ->
    ``jwt_issuers``), values as written: change what differs under test (a pool id, a table
    name), then build. Raises ``ConfigurationError`` for a file the runtime would refuse."""
    document = read_file(Path(path))
    return {name.removeprefix(PREFIX).lower(): value for name, value in document.items()}


def environ_from(
    environ: Mapping[str, str] | None,
    settings_file: str | PathLike[str] | None,
    settings: Mapping[str, Any],
    *,
    where: str,
) -> dict[str, str]:
    """The function's environment from a kit call's arguments (``jwt_issuers=`` is
    ``GATEHOUSE_JWT_ISSUERS``); raises ``ValueError`` for a setting given twice."""
    merged = dict(environ or {})
    for key, value in settings.items():
        name = PREFIX + key.upper()
        if name in merged:
            raise ValueError(f"{name} is given both as {key}= and in environ")
        merged[name] = setting_text(name, value, where)
    if settings_file is not None:
        if CONFIG_FILE_SETTING in merged:
            raise ValueError(
                f"{CONFIG_FILE_SETTING} is given both as settings_file= and in environ"
            )
        merged[CONFIG_FILE_SETTING] = str(Path(settings_file).resolve())
    return merged


def _build(
    kind: AuthorizerKind,
    environ: Mapping[str, str],
    fetch: Callable[[str], object] | None,
    clock: Clock | None,
) -> Authorizer:
    # Imported per kind, as each handler module imports only its own authorizer.
    if kind == "jwt":
        from authorizers.jwt_bearer.authorizer import JwtAuthorizer  # noqa: PLC0415

        return JwtAuthorizer.from_environ(environ, in_lambda=False, fetch=fetch, clock=clock)
    if kind == "apikey":
        from authorizers.api_key.authorizer import ApiKeyAuthorizer  # noqa: PLC0415

        return ApiKeyAuthorizer.from_environ(environ, clock=clock)
    if kind == "mtls":
        from authorizers.mtls.authorizer import MtlsAuthorizer  # noqa: PLC0415

        return MtlsAuthorizer.from_environ(environ, clock=clock)
    from authorizers.policy.authorizer import PolicyAuthorizer  # noqa: PLC0415

    return PolicyAuthorizer.from_environ(environ, in_lambda=False, fetch=fetch, clock=clock)
