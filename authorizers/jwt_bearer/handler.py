"""Lambda entry point of the JWT authorizer: ``authorizers.jwt_bearer.handler.lambda_handler``.

The only module of this authorizer that reads the environment or holds module-level state.
The authorizer is built during the init phase; a configuration error does not crash it (see
``authorizers.core.pipeline.ColdStart``): every request is then denied and the log says why.
"""

from __future__ import annotations

import os

from authorizers.core.pipeline import ColdStart, lambda_handler_for
from authorizers.jwt_bearer.authorizer import JwtAuthorizer

KIND = "jwt"

_COLD_START = ColdStart(
    KIND,
    lambda: JwtAuthorizer.from_environ(
        os.environ, in_lambda="AWS_LAMBDA_FUNCTION_NAME" in os.environ
    ),
)
lambda_handler = lambda_handler_for(_COLD_START)
