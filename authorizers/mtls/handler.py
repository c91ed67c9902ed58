"""Lambda entry point of the mTLS authorizer: ``authorizers.mtls.handler.lambda_handler``.

The only module of this authorizer that reads the environment or holds module-level state.
The authorizer is built during the init phase; a configuration error does not crash it (see
``authorizers.core.pipeline.ColdStart``): every request is then denied and the log says why.
"""

from __future__ import annotations

import os

from authorizers.core.pipeline import ColdStart, lambda_handler_for
from authorizers.mtls.authorizer import MtlsAuthorizer

KIND = "mtls"

_COLD_START = ColdStart(KIND, lambda: MtlsAuthorizer.from_environ(os.environ))
lambda_handler = lambda_handler_for(_COLD_START)
