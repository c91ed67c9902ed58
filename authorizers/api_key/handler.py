"""Lambda entry point of the API key authorizer: ``authorizers.api_key.handler.lambda_handler``.

The only module of this authorizer that reads the environment or holds module-level state.
The authorizer is built during the init phase (boto3 itself is imported on the first lookup);
a configuration error does not crash it (see ``authorizers.core.pipeline.ColdStart``): every
request is then denied and the log says why.
"""

from __future__ import annotations

import os

from authorizers.api_key.authorizer import ApiKeyAuthorizer
from authorizers.core.pipeline import ColdStart, lambda_handler_for

KIND = "api_key"

_COLD_START = ColdStart(KIND, lambda: ApiKeyAuthorizer.from_environ(os.environ))
lambda_handler = lambda_handler_for(_COLD_START)
