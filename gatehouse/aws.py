"""boto3 clients for the commands, and AWS failures turned into one-line errors.

boto3 is imported inside :func:`client` only, so ``gatehouse --help`` stays fast and the
package imports without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gatehouse.errors import CliError, ExitCode

_NOT_FOUND = frozenset({"ResourceNotFoundException", "NotFoundException"})


@dataclass(frozen=True, slots=True)
class Settings:
    """The global options: where AWS is, and what time it is (``--now`` is for tests)."""

    region: str | None
    endpoint_url: str | None
    now: float

    def client(self, service: str) -> Any:
        import boto3  # noqa: PLC0415 - only when a command talks to AWS

        if self.endpoint_url is not None:
            check_endpoint_url(self.endpoint_url)
        try:
            with aws_errors(f"creating the {service} client"):
                return boto3.client(
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
    )

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        # One line: a proxy or emulator may answer with a whole HTML page as the message.
        message = (error.response.get("Error", {}).get("Message", "") or code).strip()
        message = message.splitlines()[0][:300] if message else code
        if code in _NOT_FOUND:
            raise CliError(
                f"{what}: {message}",
                hint="check the name or id, and --region / --endpoint-url",
                code=ExitCode.NOT_FOUND,
            ) from None
        raise CliError(
            f"{what}: {code}: {message}",
            hint="check the credentials' permissions and retry; see docs/cli.md",
            code=ExitCode.AWS,
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


def pages(call: Any, **request: Any) -> list[dict[str, Any]]:
    """Every item of a paginated API Gateway list call (``items`` + ``position``)."""
    items: list[dict[str, Any]] = []
    while True:
        page = call(**request)
        items.extend(page.get("items", []))
        position = page.get("position")
        if not position or position == request.get("position"):
            return items
        request["position"] = position
