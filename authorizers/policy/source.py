"""Where the policy bundle comes from: a file, an S3 object or an SSM parameter. The IO module.

``GATEHOUSE_POLICY_SOURCE`` is one of::

    /opt/policies/demo.yaml        an absolute file path (e.g. bundled with the function)
    s3://bucket/key                an S3 object (conditional GET on its ETag)
    ssm:/parameter/name            an SSM parameter (String or SecureString; its Version)

Each source answers :meth:`PolicySource.fetch` with the bytes and a *tag* (S3 ETag, SSM
version, file hash), or :data:`UNCHANGED` when the previous tag still holds, so a refresh
costs a 304 or a small ``GetParameter``, not a download and a parse. boto3 is imported on the
first fetch (~230 ms of cold start otherwise). AWS failures become :class:`UpstreamError`
through :func:`authorizers.core.upstream.aws_upstream_error`; a document over
:data:`~authorizers.policy.bundle.MAX_BUNDLE_BYTES` is refused before it is read whole.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.core.upstream import LazyClient, aws_upstream_error, error_code
from authorizers.policy.bundle import MAX_BUNDLE_BYTES

_BUCKET: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_SSM_NAME: Final = re.compile(r"/?[A-Za-z0-9_.\-/]{1,2048}")
_NOT_MODIFIED: Final = frozenset({"304", "NotModified"})


class SourceError(ValueError):
    """``GATEHOUSE_POLICY_SOURCE`` does not name a source we can read."""


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    tag: str


class _Unchanged:
    """The source still holds the document with the tag we have."""


UNCHANGED: Final = _Unchanged()


class PolicySource(Protocol):
    #: Safe to log: a path, bucket/key or parameter name (configuration, never content).
    description: str

    def fetch(self, tag: str | None) -> Fetched | _Unchanged: ...


class FileSource:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)

    def fetch(self, tag: str | None) -> Fetched | _Unchanged:
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_BUNDLE_BYTES + 1)
        except OSError:
            raise UpstreamError(Reason.UPSTREAM_UNAVAILABLE) from None
        if len(data) > MAX_BUNDLE_BYTES:
            raise UpstreamError(Reason.INVALID_RESPONSE)
        digest = hashlib.sha256(data).hexdigest()
        return UNCHANGED if digest == tag else Fetched(data, digest)


def _client(service: str) -> Any:
    import boto3  # noqa: PLC0415 - only on the first fetch
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"}
    )
    return boto3.client(service, config=config)


class S3Source:
    def __init__(
        self, bucket: str, key: str, *, client_factory: Callable[[], Any] | None = None
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.description = f"s3://{bucket}/{key}"
        self._client = LazyClient(client_factory or (lambda: _client("s3")))

    def fetch(self, tag: str | None) -> Fetched | _Unchanged:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - lazy

        client = self._client.get()
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        if tag is not None:
            arguments["IfNoneMatch"] = tag
        try:
            response = client.get_object(**arguments)
            if int(response.get("ContentLength", 0)) > MAX_BUNDLE_BYTES:
                response["Body"].close()
                raise UpstreamError(Reason.INVALID_RESPONSE)
            data = response["Body"].read(MAX_BUNDLE_BYTES + 1)
        except ClientError as error:
            if error_code(error) in _NOT_MODIFIED:
                return UNCHANGED
            raise aws_upstream_error(error) from None
        except BotoCoreError as error:
            raise aws_upstream_error(error) from None
        if len(data) > MAX_BUNDLE_BYTES:
            raise UpstreamError(Reason.INVALID_RESPONSE)
        etag = response.get("ETag")
        return Fetched(data, etag if isinstance(etag, str) else hashlib.sha256(data).hexdigest())


class SsmSource:
    def __init__(self, name: str, *, client_factory: Callable[[], Any] | None = None) -> None:
        self.name = name
        self.description = f"ssm:{name}"
        self._client = LazyClient(client_factory or (lambda: _client("ssm")))

    def fetch(self, tag: str | None) -> Fetched | _Unchanged:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - lazy

        try:
            response = self._client.get().get_parameter(Name=self.name, WithDecryption=True)
        except (ClientError, BotoCoreError) as error:
            raise aws_upstream_error(error) from None
        parameter = response.get("Parameter", {})
        version = str(parameter.get("Version", ""))
        if tag is not None and version and version == tag:
            return UNCHANGED
        value = parameter.get("Value")
        if not isinstance(value, str):
            raise UpstreamError(Reason.INVALID_RESPONSE)
        data = value.encode("utf-8")
        if len(data) > MAX_BUNDLE_BYTES:
            raise UpstreamError(Reason.INVALID_RESPONSE)
        return Fetched(data, version or hashlib.sha256(data).hexdigest())


def parse_source(text: str) -> PolicySource:
    """``GATEHOUSE_POLICY_SOURCE`` -> a source; raises :class:`SourceError`."""
    if text.startswith("s3://"):
        bucket, _, key = text[len("s3://") :].partition("/")
        if not _BUCKET.fullmatch(bucket) or not key:
            raise SourceError("an S3 source is s3://bucket/key")
        return S3Source(bucket, key)
    if text.startswith("ssm:"):
        name = text[len("ssm:") :]
        if not _SSM_NAME.fullmatch(name):
            raise SourceError("an SSM source is ssm:/parameter/name")
        return SsmSource(name)
    path = Path(text)
    if not path.is_absolute():
        raise SourceError("a policy source is an absolute file path, s3://bucket/key or ssm:/name")
    return FileSource(path)
