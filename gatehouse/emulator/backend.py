"""The demo backend: a Lambda-proxy integration that echoes what reached it.

It shows what a real backend would get from API Gateway: the route, the concrete path and
parameters, the authorizer's ``principalId`` and context (as strings, as REST delivers them),
the API key id of the usage plan, and the client certificate's subject when there was one.
It never echoes headers (they hold the caller's credentials).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def demo_backend(event: Mapping[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    authorizer = dict(context.get("authorizer") or {})
    body: dict[str, Any] = {
        "route": f"{event.get('httpMethod')} {event.get('resource')}",
        "path": event.get("path"),
        "pathParameters": event.get("pathParameters") or {},
        "stage": context.get("stage"),
        "principalId": authorizer.pop("principalId", None),
        "authorizer": authorizer,
        "apiKeyId": identity.get("apiKeyId"),
    }
    cert = identity.get("clientCert")
    if isinstance(cert, Mapping):
        body["clientCertSubject"] = cert.get("subjectDN")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, sort_keys=True),
    }
