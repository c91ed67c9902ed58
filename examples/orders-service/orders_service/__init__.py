"""The Orders API of Example Corp: its routes and where its Gatehouse settings live.

A team's own service, written against the installed ``gatehouse`` distribution: five routes,
the identity provider the company already runs (an external OIDC issuer), partners calling with
API keys, and one settings file per authorizer shipped with the function
(``GATEHOUSE_CONFIG_FILE=gatehouse.json`` in the function's environment, the file in its code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

SETTINGS: Final = Path(__file__).resolve().parent / "settings"
"""One settings file per authorizer (``jwt.json``, ``apikey.json``), as deployed."""

#: The API's routes, in API Gateway's syntax, and who may call each.
JWT_ROUTES: Final = (
    "GET /orders",
    "GET /orders/{id}",
    "POST /orders",
    "DELETE /orders/{id}",
)
PARTNER_ROUTES: Final = ("GET /partner/orders/{id}",)

ISSUER: Final = "https://login.example-corp.test/"
AUDIENCE: Final = "orders-api"
