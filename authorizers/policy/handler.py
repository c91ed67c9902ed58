"""Lambda entry point of the policy authorizer: ``authorizers.policy.handler.lambda_handler``.

The only module of this authorizer that reads the environment or holds module-level state.
The authorizer (and its first policy load) is built during the init phase; a configuration
error does not crash it (see ``authorizers.core.pipeline.ColdStart``): every request is then
denied and the log says why. A policy source that fails at cold start, or a bundle that does
not compile (whatever the exception), is not a configuration error: the function starts,
denies every request, and retries the load until a good bundle is there.
"""

from __future__ import annotations

import os

from authorizers.core.pipeline import ColdStart, lambda_handler_for
from authorizers.policy.authorizer import KIND, PolicyAuthorizer

_COLD_START = ColdStart(
    KIND,
    lambda: PolicyAuthorizer.from_environ(
        os.environ, in_lambda="AWS_LAMBDA_FUNCTION_NAME" in os.environ
    ),
)
lambda_handler = lambda_handler_for(_COLD_START)
