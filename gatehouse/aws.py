"""boto3 clients for the commands, and AWS failures turned into one-line errors.

boto3 is imported inside :func:`client` only, so ``gatehouse --help`` stays fast and the
package imports without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import click

from gatehouse.errors import CliError, ExitCode

F = TypeVar("F", bound=Callable[..., Any])

_NOT_FOUND = frozenset({"ResourceNotFoundException", "NotFoundException"})


@dataclass(frozen=True, slots=True)
class Settings:
    """The global options: where AWS is, and what time it is (``--now`` is for tests)."""

    region: str | None
    endpoint_url: str | None
    now: float
    profile: str | None = None

    def client(self, service: str) -> Any:
        import boto3  # noqa: PLC0415 - only when a command talks to AWS

        if self.endpoint_url is not None:
            check_endpoint_url(self.endpoint_url)
        try:
            with aws_errors(f"creating the {service} client"):
                session = boto3.Session(profile_name=self.profile) if self.profile else boto3
                return session.client(
                    service, region_name=self.region, endpoint_url=self.endpoint_url
                )
        except ValueError as error:  # botocore: "Invalid endpoint: ..." (e.g. from the profile)
            raise CliError(
                f"creating the {service} client: {error}",
                hint=_ENDPOINT_HINT,
                code=ExitCode.USAGE,
            ) from None


_ENDPOINT_HINT = (
    "use http(s)://HOST[:PORT], e.g. --endpoint-url http://127.0.0.1:5055; check "
    "AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> too"
)


#: The global options a command also accepts after its name: ``gatehouse keys list --region
#: eu-west-1`` as well as ``gatehouse --region eu-west-1 keys list``. Given after, they win.
_AFTER_THE_COMMAND: tuple[tuple[str, str, str], ...] = (
    ("--region", "region", "AWS region (also accepted before the command)."),
    ("--endpoint-url", "endpoint_url", "Send every AWS call here (also before the command)."),
    ("--profile", "profile", "AWS profile (also accepted before the command)."),
)


def aws_options(command: F) -> F:
    """Let ``command`` take the global AWS options after its name too."""
    for flag, field, help_text in reversed(_AFTER_THE_COMMAND):
        command = click.option(
            flag,
            expose_value=False,
            help=help_text,
            callback=_override(field),
        )(command)
    return command


def _override(field: str) -> Callable[[click.Context, click.Parameter, str | None], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if not value:
            return
        settings = ctx.find_object(Settings)
        if settings is not None:  # the command's own context gets the overridden settings
            overrides: dict[str, Any] = {field: value}
            ctx.obj = replace(settings, **overrides)

    return callback


def check_endpoint_url(url: str) -> None:
    """Refuse an endpoint URL botocore would refuse (with a ValueError and a traceback)."""
    from botocore.utils import (  # noqa: PLC0415 - lazy, as boto3
        is_valid_endpoint_url,
        is_valid_ipv6_endpoint_url,
    )

    if not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
        raise CliError(
            f"--endpoint-url {url!r} is not a URL", hint=_ENDPOINT_HINT, code=ExitCode.USAGE
        )


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Translate botocore failures while doing ``what`` into a :class:`CliError`."""
    from botocore.exceptions import (  # noqa: PLC0415 - lazy, as boto3
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        # One line: a proxy or emulator may answer with a whole HTML page as the message.
        message = (error.response.get("Error", {}).get("Message", "") or code).strip()
        message = message.splitlines()[0][:300] if message else code
        if code == "ConflictException":
            raise CliError(
                f"{what}: {message}",
                hint="something else uses or changes it; see the message, then run again",
                code=ExitCode.CONFLICT,
            ) from None
        if code in _NOT_FOUND:
            raise CliError(
                f"{what}: {message}",
                hint="check the name or id, and --region / --endpoint-url",
                code=ExitCode.NOT_FOUND,
            ) from None
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int) and status >= 500:
            # A server fault is not a permissions problem: say so, and never quote an HTML page.
            label = f": {code}" if code and code != str(status) else ""
            detail = "" if message.startswith("<") or message in (code, str(status)) else message
            raise CliError(
                f"{what}: server fault (HTTP {status}){label}{': ' + detail if detail else ''}",
                hint=(
                    "the endpoint failed (HTTP 5xx): retry later; against moto, an operation "
                    "it does not emulate answers 500 (docs/local.md)"
                ),
                code=ExitCode.AWS,
            ) from None
        raise CliError(
            f"{what}: {code}: {message}",
            hint="check the credentials' permissions and retry; see docs/cli.md",
            code=ExitCode.AWS,
        ) from None
    except ProfileNotFound as error:
        raise CliError(
            f"{what}: {error}", hint="check --profile / AWS_PROFILE", code=ExitCode.AWS
        ) from None
    except NoRegionError:
        raise CliError(
            f"{what}: no AWS region configured",
            hint="pass --region or set AWS_REGION",
            code=ExitCode.AWS,
        ) from None
    except NoCredentialsError:
        raise CliError(
            f"{what}: no AWS credentials found",
            hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            code=ExitCode.AWS,
        ) from None
    except EndpointConnectionError as error:
        raise CliError(
            f"{what}: cannot reach {error.kwargs.get('endpoint_url', 'the endpoint')}",
            hint="check --endpoint-url / AWS_ENDPOINT_URL and the network",
            code=ExitCode.AWS,
        ) from None
    except BotoCoreError as error:
        raise CliError(f"{what}: {error}", hint="see docs/cli.md", code=ExitCode.AWS) from None


def pages(
    call: Any, *, items_key: str = "items", cursor_key: str = "position", **request: Any
) -> list[dict[str, Any]]:
    """Every item of a paginated API Gateway list call: ``items`` + ``position`` (REST
    APIs), or with ``items_key="Items", cursor_key="NextToken"`` (``apigatewayv2``)."""
    items: list[dict[str, Any]] = []
    while True:
        page = call(**request)
        items.extend(page.get(items_key, []))
        cursor = page.get(cursor_key)
        if not cursor or cursor == request.get(cursor_key):
            return items
        request[cursor_key] = cursor
