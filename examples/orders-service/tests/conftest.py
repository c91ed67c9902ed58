"""The Orders team's test helpers: the deployed settings files, with the values that differ
under test (pool ids, table names, trust anchors) swapped for the fixtures' (gatehouse.testing).
"""

from __future__ import annotations

from typing import Any

from gatehouse.testing import CognitoPool, build_event, settings_from

from orders_service import SETTINGS


def staff_settings(name: str, pool: CognitoPool, client_id: str) -> dict[str, Any]:
    """``name``'s settings with the test pool in place of the company's."""
    settings = settings_from(SETTINGS / name)
    (issuer,) = settings["jwt_issuers"]
    issuer.update(user_pool_id=pool.pool_id, client_ids=[client_id])
    return settings


def bearer(token: str, request: str) -> dict[str, Any]:
    """A REST TOKEN event for ``request`` with ``Authorization: Bearer <token>``."""
    return build_event("rest_token", request, authorization=f"Bearer {token}")
