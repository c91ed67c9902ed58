"""The execute-api ARN of a request (``methodArn`` / ``routeArn``): strict parse and rebuild.

REST, HTTP:  ``arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}``
WebSocket:   ``arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{routeKey}``

Why our own parser rather than Powertools' ``parse_api_gateway_arn``: that one splits without
validating, drops nothing but also checks nothing, and its response builder loses the partition.
Ours keeps the partition (``aws-cn``, ``aws-us-gov``...), and rejects what would be dangerous to
echo into a policy: a request path holding ``*`` or ``?`` would become a wildcard in an IAM
resource (wildcard injection), and control characters have no place in an ARN. Such requests are
refused as malformed instead of being "escaped" (IAM has no escape for ``*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from authorizers.core.exceptions import InvalidRequestError, Reason

#: API Gateway rejects a methodArn longer than this with 414 before any authorizer runs.
MAX_ARN_BYTES: Final = 1600
#: The longest resource ARN API Gateway accepts in a returned policy statement.
MAX_RESOURCE_CHARS: Final = 512

HTTP_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

_PREFIX = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):execute-api:"
    r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2}):(?P<account>\d{12}):"
    r"(?P<api>[A-Za-z0-9]{1,64})/(?P<stage>[A-Za-z0-9_$-]{1,128})/(?P<rest>.*)",
    re.DOTALL,
)
# Characters that would change the meaning of an IAM resource, or have no place in a path.
_FORBIDDEN_IN_PATH = re.compile(r"[*?\x00-\x20\x7f-\x9f\u2028\u2029]")
_ROUTE_KEY = re.compile(r"\$?[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True, slots=True)
class RouteArn:
    """A parsed request ARN.

    ``method`` is ``None`` for WebSocket ARNs, whose last part is a route key (``$connect``);
    otherwise ``path`` is the concrete request path, always starting with ``/`` (``/`` is root).
    """

    partition: str
    region: str
    account: str
    api_id: str
    stage: str
    method: str | None
    path: str

    @property
    def is_websocket(self) -> bool:
        return self.method is None

    @property
    def stage_prefix(self) -> str:
        """``arn:...:{api}/{stage}``: what every resource for this API and stage starts with."""
        return (
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}:"
            f"{self.api_id}/{self.stage}"
        )

    @property
    def arn(self) -> str:
        if self.method is None:
            return f"{self.stage_prefix}/{self.path}"
        return f"{self.stage_prefix}/{self.method}{self.path}"

    def resource(self, method: str, path_glob: str) -> str:
        """A policy resource under this API and stage: ``method`` may be ``*``; ``path_glob``
        starts with ``/`` and may hold ``*``. For WebSocket APIs ``method`` is ignored and
        ``path_glob`` is the route key glob."""
        if self.method is None:
            return f"{self.stage_prefix}/{path_glob.lstrip('/')}"
        return f"{self.stage_prefix}/{method}{path_glob}"

    def all_routes(self) -> str:
        """Every method and path of this API and stage."""
        return f"{self.stage_prefix}/*" if self.method is None else f"{self.stage_prefix}/*/*"


def parse_route_arn(arn: object, *, websocket: bool = False) -> RouteArn:
    """Parse a ``methodArn``/``routeArn`` strictly.

    Raises
    ------
    InvalidRequestError
        ``MALFORMED_EVENT`` when the ARN is not a string, too long, malformed, or its path holds
        a wildcard or control character.
    """
    if not isinstance(arn, str) or not arn:
        raise InvalidRequestError(Reason.MALFORMED_EVENT)
    if len(arn.encode("utf-8", "surrogatepass")) > MAX_ARN_BYTES:
        raise InvalidRequestError(Reason.MALFORMED_EVENT)
    match = _PREFIX.fullmatch(arn)
    if match is None:
        raise InvalidRequestError(Reason.MALFORMED_EVENT)
    rest = match["rest"]
    method: str | None
    if websocket:
        if not _ROUTE_KEY.fullmatch(rest):
            raise InvalidRequestError(Reason.MALFORMED_EVENT)
        method, path = None, rest
    else:
        method, slash, remainder = rest.partition("/")
        if method not in HTTP_METHODS or not slash:
            raise InvalidRequestError(Reason.MALFORMED_EVENT)
        path = "/" + remainder
        if _FORBIDDEN_IN_PATH.search(path):
            raise InvalidRequestError(Reason.MALFORMED_EVENT)
    return RouteArn(
        partition=match["partition"],
        region=match["region"],
        account=match["account"],
        api_id=match["api"],
        stage=match["stage"],
        method=method,
        path=path,
    )
