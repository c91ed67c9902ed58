"""The Orders API of Example Corp: its routes and where its Gatehouse settings live.

A team's own service, written against the installed ``gatehouse`` distribution. Staff sign in
with the company's existing Cognito user pool (``jwt``), partners call with API keys
(``apikey``), store tills present client certificates (``mtls``), and store-scoped routes are
decided by a Cedar policy bundle (``policy``). Staff browsers use the portal (``portal``),
signed in by Gatehouse's browser login. Each authorizer function ships one settings file
(``GATEHOUSE_CONFIG_FILE=gatehouse.json`` in its environment, the file in its code).

:mod:`orders_service.infra` defines the APIs themselves in AWS CDK with ``gatehouse.cdk``
(install the ``cdk`` extra); it is not imported from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

SETTINGS: Final = Path(__file__).resolve().parent / "settings"
"""One settings file per authorizer (``jwt.json``, ``apikey.json``, ``mtls.json``,
``policy.json`` with ``orders-policy.yaml``, ``portal.json``), and the portal's browser login
(``login.json``), as deployed."""

#: The API's routes, in API Gateway's syntax, by the authorizer in front of them.
ROUTES: Final = {
    "jwt": ("GET /orders", "GET /orders/{id}", "POST /orders", "DELETE /orders/{id}"),
    "apikey": ("GET /partner/orders/{id}",),
    "mtls": ("POST /tills/orders",),
    "policy": ("GET /stores/{store}/orders", "DELETE /stores/{store}/orders/{id}"),
    # The portal (browsers): a session cookie from Gatehouse's login (login.json).
    "portal": ("GET /portal/orders", "POST /portal/orders"),
}
