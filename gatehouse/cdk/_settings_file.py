"""Keep a function's environment under Lambda's 4 KB by moving settings into a settings file.

Lambda refuses a function whose environment variables total more than 4 KB (keys and values),
which a large JSON setting (1,000 policy routes, a preloaded JWKS of many keys) exceeds. The
runtime reads ``GATEHOUSE_CONFIG_FILE`` (:mod:`authorizers.core.settings_file`): a JSON file of
settings under the variables' own names, here ``/var/task/gatehouse.json`` in the function's
code. :func:`split_environment` decides which settings go there; :func:`settings_file_text`
writes the file. Both are pure: no construct is created, and ``aws_cdk`` is used only to
recognise unresolved tokens.

The runtime refuses a setting that is both in the environment and in the file, so a setting is
either moved or kept, never both. A value holding a token is always kept: the file is written at
synth time and cannot hold a value CloudFormation resolves at deploy time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final, NamedTuple

import aws_cdk as cdk

# The runtime's own names: the setting that names the file, and the prefix of the names it reads.
from authorizers.core.settings_file import CONFIG_FILE_SETTING
from authorizers.core.settings_file import PREFIX as _MOVABLE_PREFIX

LAMBDA_ENVIRONMENT_LIMIT_BYTES: Final = 4096
"""Lambda's cap on the total size of one function's environment variables (4 KB)."""

TOKEN_SIZE_BYTES: Final = 256
"""What one unresolved token is counted as: its deployed length is unknown at synth time.

The tokens in authorizer settings are names, ids and ARNs (a table name, a user pool id, a
bucket); 256 bytes is above any of those (an ARN is at most ~200 bytes in practice), so an
environment that fits by this count also fits once CloudFormation has resolved it.
"""

CONFIG_FILE_NAME: Final = "gatehouse.json"
"""The settings file's name in the function's code; relative, so taken from ``/var/task``."""


class EnvironmentTooLargeError(ValueError):
    """A function's environment exceeds Lambda's limit even with every movable setting moved."""

    def __init__(self, function: str, size: int, reason: str) -> None:
        self.function = function
        self.size = size
        super().__init__(
            f"the environment of {function} is {size} bytes, over Lambda's "
            f"{LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit, {reason}. Settings holding deploy-time "
            f"values (CDK tokens, counted as {TOKEN_SIZE_BYTES} bytes each) must stay in the "
            f"environment: give those settings literal values so they can move to "
            f"{CONFIG_FILE_NAME}, or shorten them"
        )


class EnvironmentSplit(NamedTuple):
    """``environment``: the variables to set; ``file_settings``: what goes to the settings file
    (empty: no file, and ``environment`` is the input unchanged)."""

    environment: dict[str, str]
    file_settings: dict[str, str]


def environment_size(environment: Mapping[str, str]) -> int:
    """Conservative byte size of ``environment`` as Lambda counts it.

    The compact JSON encoding (UTF-8) of the mapping, an upper bound on Lambda's count of keys
    plus values, plus :data:`TOKEN_SIZE_BYTES` for every unresolved token it holds.
    """
    encoded = json.dumps(dict(environment), separators=(",", ":")).encode()
    tokens = sum(_token_count(key) + _token_count(value) for key, value in environment.items())
    return len(encoded) + tokens * TOKEN_SIZE_BYTES


def _token_count(text: str) -> int:
    return len(cdk.Tokenization.reverse_string(text).tokens)


def split_environment(environment: Mapping[str, str], *, function: str) -> EnvironmentSplit:
    """The environment to set and the settings to move to :data:`CONFIG_FILE_NAME`.

    An environment within :data:`LAMBDA_ENVIRONMENT_LIMIT_BYTES` is returned unchanged with no
    file settings. Otherwise token-free ``GATEHOUSE_*`` settings are moved, largest first,
    until the rest plus ``GATEHOUSE_CONFIG_FILE=gatehouse.json`` fits; the values moved are
    the exact variable text.

    Raises
    ------
    EnvironmentTooLargeError
        If it cannot fit (``function``, a construct path or name, is named in the message).
    """
    kept = dict(environment)
    size = environment_size(kept)
    if size <= LAMBDA_ENVIRONMENT_LIMIT_BYTES:
        return EnvironmentSplit(kept, {})
    if CONFIG_FILE_SETTING in kept:
        raise EnvironmentTooLargeError(
            function, size, f"and it sets {CONFIG_FILE_SETTING} itself, so nothing can be moved"
        )
    kept[CONFIG_FILE_SETTING] = CONFIG_FILE_NAME
    moved: dict[str, str] = {}
    for key in _movable_largest_first(environment):
        if environment_size(kept) <= LAMBDA_ENVIRONMENT_LIMIT_BYTES:
            break
        moved[key] = kept.pop(key)
    size = environment_size(kept)
    if size > LAMBDA_ENVIRONMENT_LIMIT_BYTES:
        raise EnvironmentTooLargeError(
            function, size, f"even with every token-free setting moved to {CONFIG_FILE_NAME}"
        )
    return EnvironmentSplit(kept, moved)


def _movable_largest_first(environment: Mapping[str, str]) -> list[str]:
    """Token-free ``GATEHOUSE_*`` names, largest entry first (ties by name: deterministic)."""
    movable = [
        key
        for key, value in environment.items()
        if key.startswith(_MOVABLE_PREFIX) and not cdk.Token.is_unresolved(value)
    ]
    return sorted(movable, key=lambda key: (-environment_size({key: environment[key]}), key))


def settings_file_text(settings: Mapping[str, str]) -> str:
    """The settings file: one JSON object, keys sorted, two-space indent, trailing newline.

    A value that is a JSON list or object is written as that JSON (readable; the runtime reads
    it back as the same JSON); any other value as the exact string.
    """
    document = {key: _file_value(value) for key, value in settings.items()}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _file_value(value: str) -> object:
    try:
        parsed: object = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, list | dict) else value
