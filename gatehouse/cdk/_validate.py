"""Synth-time check of an authorizer's settings, by the runtime's own readers.

The constructs hand the environment they are about to deploy to the reader the function runs
at cold start (``JwtConfig``, ``ApiKeyConfig``, ``MtlsConfig``, ``PolicyAuthorizer`` without
network), so a bad setting fails ``cdk synth`` with the message the function would log, instead
of deploying an authorizer that denies every request.

Values CloudFormation resolves at deploy time (CDK tokens: a table name, a user pool id) are
unknown here. Each is replaced, for the check only, by a placeholder valid where such values go
(a pool id under ``user_pool_id``, an app client id under ``client_ids``, a name elsewhere); if
the reader still refuses a setting that held one, the check of that setting is left to cold
start and said so in a synth annotation, rather than failing on a value nobody can see yet.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

import aws_cdk as cdk
from constructs import IConstruct

_TOKEN: Final = re.compile(r"\$\{Token\[[^\]]*\]\}")
_MARK: Final = "@@gatehouse-deploy-time-{}@@"
_MARKED: Final = re.compile(r"@@gatehouse-deploy-time-\d+@@")
_PLACEHOLDERS: Final[Mapping[str, str]] = {
    "user_pool_id": "eu-west-1_Placeholder0",
    "client_ids": "placeholder0client0id000000",
}
_DEFAULT_PLACEHOLDER: Final = "placeholder"


class SettingsError(ValueError):
    """An authorizer's settings are refused by the runtime's reader at synth time.

    ``setting`` names the setting; the message is the runtime's own (never a value).
    """

    def __init__(self, path: str, setting: str, message: str) -> None:
        self.setting = setting
        super().__init__(f"{path}: {message}")


def _placeholder_tree(value: object, key: str | None) -> object:
    if isinstance(value, dict):
        return {k: _placeholder_tree(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholder_tree(v, key) for v in value]
    if isinstance(value, str) and _MARKED.search(value):
        placeholder = _PLACEHOLDERS.get(key or "", _DEFAULT_PLACEHOLDER)
        if _MARKED.fullmatch(value):
            return placeholder
        return _MARKED.sub(_DEFAULT_PLACEHOLDER, value)
    return value


def without_tokens(value: str) -> str | None:
    """``value`` with each token replaced by a placeholder; ``None`` when it holds none."""
    if not _TOKEN.search(value) and not cdk.Token.is_unresolved(value):
        return None
    count = itertools.count()
    marked = _TOKEN.sub(lambda _: _MARK.format(next(count)), value)
    try:
        tree = json.loads(marked)
    except ValueError:
        return _MARKED.sub(_DEFAULT_PLACEHOLDER, marked)
    return json.dumps(_placeholder_tree(tree, None), separators=(",", ":"))


def check_settings(
    scope: IConstruct,
    reader: Callable[[Mapping[str, str]], object],
    environment: Mapping[str, str],
    local_files: Mapping[str, Path],
) -> None:
    """Run ``reader`` (the runtime's) over ``environment`` as the function will see it.

    ``local_files``: runtime path (``/var/task/x.pem``) -> the local file deployed there, so
    readers that open a file (trust anchors, a policy bundle) read the one being shipped.

    Raises
    ------
    SettingsError
        The reader's first refusal of a setting that holds no deploy-time value.
    """
    from authorizers.core.exceptions import ConfigurationError  # noqa: PLC0415 - lazy

    seen: dict[str, str] = {}
    deferred: set[str] = set()
    for name, value in environment.items():
        replaced = without_tokens(value)
        if replaced is not None:
            deferred.add(name)
        text = value if replaced is None else replaced
        local = local_files.get(text)
        seen[name] = text if local is None else str(local.resolve())
    try:
        reader(seen)
    except ConfigurationError as error:
        if error.setting in deferred:
            cdk.Annotations.of(scope).add_info(
                f"{error.setting} holds a deploy-time value, so it is checked at cold start "
                "(the synth-time check could not resolve it)"
            )
            return
        raise SettingsError(scope.node.path, error.setting, str(error)) from None
