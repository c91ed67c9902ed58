"""Lambda entry point of the login function: ``authorizers.login.handler.lambda_handler``.

The only module of the login function that reads the environment or holds module-level
state. The app is built during the init phase; a configuration error does not crash it: every
request then gets 503 ``Unavailable`` and the log says which setting to fix.
"""

from __future__ import annotations

import os
from typing import Any

from authorizers.core.deadline import Deadline
from authorizers.core.exceptions import ConfigurationError
from authorizers.core.observability import begin_invocation, logger
from authorizers.login.app import LoginApp, is_payload_v2
from authorizers.login.flow import LoginFailure
from authorizers.login.responses import refused


def _build() -> LoginApp | None:
    try:
        return LoginApp.from_environ(os.environ, in_lambda="AWS_LAMBDA_FUNCTION_NAME" in os.environ)
    except ConfigurationError as error:
        # Setting names and fixed hints only: no value of a setting.
        logger.error(
            "login configuration error", extra={"setting": error.setting, "hint": error.hint}
        )
    except Exception as error:  # a crashed init would answer 500s: fail closed with a 503
        logger.error("login init fault", extra={"error": type(error).__name__})
    return None


_APP = _build()


def lambda_handler(event: object, context: object) -> dict[str, Any]:
    begin_invocation(event, context)
    if _APP is None:
        return refused(LoginFailure.UNAVAILABLE, payload_v2=is_payload_v2(event))
    return _APP.handle(event, Deadline.for_invocation(context))
