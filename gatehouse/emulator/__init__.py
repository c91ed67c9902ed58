"""A local API Gateway (REST) for the Gatehouse authorizers: see :mod:`.gateway` and
docs/local.md. Never shipped in the Lambda layer."""

from gatehouse.emulator.config import AuthorizerSpec, GatewayConfig, IdentitySource, Route
from gatehouse.emulator.gateway import Gateway

__all__ = ["AuthorizerSpec", "Gateway", "GatewayConfig", "IdentitySource", "Route"]
