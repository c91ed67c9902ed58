"""JWT test helpers live in ``tests/jwt_fixtures.py`` (a plugin of the root conftest, so unit
and integration tests share them); re-exported here for ``from tests.unit.jwt_bearer.conftest
import ...``."""

from tests.jwt_fixtures import (  # noqa: F401
    AUDIENCE,
    COGNITO_CLIENT,
    COGNITO_ISSUER,
    ISSUER,
    NOW,
    Keys,
    b64,
    b64json,
    cognito_profile,
    default_claims,
    oidc_profile,
    sign_raw,
)
