"""Settings from a file shipped with the function, for configurations past Lambda's 4 KB.

Lambda caps the environment of one function at 4 KB in all (keys and values), which about
100 policy routes or a preloaded JWKS of ten keys already exceed. ``GATEHOUSE_CONFIG_FILE``
names one JSON or YAML file, usually inside the function's own code
(``GATEHOUSE_CONFIG_FILE=gatehouse.json`` -> ``/var/task/gatehouse.json``), holding the same
settings under the same names::

    {
      "GATEHOUSE_JWT_ISSUERS": [{"type": "oidc", "issuer": "https://idp.example.com/", ...}],
      "GATEHOUSE_JWT_LEEWAY_SECONDS": 30
    }

A value is a string (exactly what the variable would hold), a number, a boolean, or, for a
JSON-valued setting, the JSON list or object itself. The file's settings go through the very
readers the variables do (:class:`authorizers.core.config.Settings` and each authorizer's
parsers), so strictness is the same: an unknown name is refused with a suggestion, and errors
name the setting and the file, never a value.

Which wins when both are set? Neither: a setting both in the environment and in the file is
refused, because a silent precedence rule would let a stale variable override a reviewed file
(or the reverse) without anyone noticing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

from authorizers.core.exceptions import ConfigurationError

CONFIG_FILE_SETTING: Final = "GATEHOUSE_CONFIG_FILE"
PREFIX: Final = "GATEHOUSE_"
#: Far above any real configuration (1,000 policy routes are ~40 KB) and small enough that a
#: wrong path (a log, a binary) is refused before it is read into memory at cold start.
MAX_FILE_BYTES: Final = 4 * 1024 * 1024
SUFFIXES: Final = (".json", ".yaml", ".yml")

T = TypeVar("T")


class ResolvedSettings(Mapping[str, str]):
    """The environment with the settings file's values merged in, as the strings a variable
    would hold. ``file`` is the file as configured (``None``: no file); ``from_file`` the
    names it set."""

    def __init__(
        self, values: Mapping[str, str], *, file: str | None, from_file: frozenset[str]
    ) -> None:
        self._values = dict(values)
        self.file = file
        self.from_file = from_file

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def locate(self, error: ConfigurationError) -> ConfigurationError:
        """``error``, saying that its setting came from the file (when it did)."""
        if self.file is None or error.setting not in self.from_file:
            return error
        return ConfigurationError(f"{error.setting} (in {self.file})", error.hint)


def read_settings(environ: Mapping[str, str], build: Callable[[ResolvedSettings], T]) -> T:
    """Resolve the settings file (if any), then ``build`` from the merged settings.

    Every authorizer's ``from_environ`` goes through here, so the Lambda cold start, local
    mode and tests read a settings file the same way. A :class:`ConfigurationError` raised by
    ``build`` about a setting from the file names the file.
    """
    resolved = resolve(environ)
    try:
        return build(resolved)
    except ConfigurationError as error:
        raise resolved.locate(error) from None


def resolve(environ: Mapping[str, str]) -> ResolvedSettings:
    """``environ`` plus the settings of the file ``GATEHOUSE_CONFIG_FILE`` names (cold start).

    Relative paths are taken from ``LAMBDA_TASK_ROOT`` (``/var/task``, the function's own
    code) when set, else from the working directory. Raises :class:`ConfigurationError`.
    """
    if isinstance(environ, ResolvedSettings):
        return environ
    name = (environ.get(CONFIG_FILE_SETTING) or "").strip()
    rest = {k: v for k, v in environ.items() if k != CONFIG_FILE_SETTING}
    if not name:
        return ResolvedSettings(rest, file=None, from_file=frozenset())
    document = _load(_path(name, environ.get("LAMBDA_TASK_ROOT")))
    merged = dict(rest)
    for key, value in document.items():
        setting = _setting_name(key)
        if (environ.get(setting) or "").strip():
            raise ConfigurationError(
                setting, f"is set both in the environment and in {name}; keep one of them"
            )
        merged[setting] = setting_text(setting, value, name)
    return ResolvedSettings(merged, file=name, from_file=frozenset(document))


def read_file(path: Path) -> dict[str, Any]:
    """The settings of one file as written (values not yet turned into variable text), with
    the file's own checks: format, size, duplicate keys, ``GATEHOUSE_*`` names only."""
    document = _load(_path(str(path), None))
    for key in document:
        _setting_name(key)
    return document


def _path(name: str, task_root: str | None) -> Path:
    path = Path(name)
    if not path.is_absolute():
        path = (Path(task_root) if task_root else Path.cwd()) / path
    if path.suffix.lower() not in SUFFIXES:
        raise ConfigurationError(
            CONFIG_FILE_SETTING, "must name a .json, .yaml or .yml file of settings"
        )
    return path


def _load(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _file_error(path, "does not exist; ship it with the function's code") from None
    except OSError as error:
        raise _file_error(path, f"cannot be read ({type(error).__name__})") from None
    if len(data) > MAX_FILE_BYTES:
        raise _file_error(path, f"is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _file_error(path, "is not UTF-8 text") from None
    document = (
        _parse_json(path, text) if path.suffix.lower() == ".json" else _parse_yaml(path, text)
    )
    if not isinstance(document, dict):
        raise _file_error(path, "must hold one object mapping setting names to values")
    return document


def _file_error(path: Path, problem: str) -> ConfigurationError:
    # The path is configuration, not a secret: naming it is what tells the operator what to fix.
    return ConfigurationError(CONFIG_FILE_SETTING, f"the settings file {path} {problem}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Duplicate(key)
        result[key] = value
    return result


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _parse_json(path: Path, text: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as error:
        raise _duplicate(path, error.key) from None
    except json.JSONDecodeError as error:
        # The decoder's message names the grammar rule, never the text around it.
        raise _file_error(
            path, f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None


def _duplicate(path: Path, key: str) -> ConfigurationError:
    shown = key if key.startswith(PREFIX) and key.isprintable() and len(key) <= 80 else "a key"
    return _file_error(path, f"sets {shown} twice; keep one")


def _parse_yaml(path: Path, text: str) -> object:
    import yaml  # type: ignore[import-untyped]  # noqa: PLC0415 - only when a YAML file is used

    loader = _strict_loader(yaml)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except _Duplicate as error:
        raise _duplicate(path, error.key) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "syntax error"
        # Only the parser's rule and position: its "context" snippet may quote the file.
        raise _file_error(
            path, f"is not valid YAML ({where}{': ' if where else ''}{problem})"
        ) from None


def _strict_loader(yaml: Any) -> Any:
    """``SafeLoader`` with duplicate keys refused and only ``true``/``false`` as booleans.

    YAML 1.1 reads ``on``/``off``/``yes``/``no`` as booleans, which would turn
    ``GATEHOUSE_POLICY_AUTHORIZER_CACHE: off`` into ``false``; YAML 1.2 (and JSON) do not.
    """

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )

    def mapping(loader: Any, node: Any) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        pairs = loader.construct_pairs(node, deep=True)
        return _no_duplicates(pairs)

    Loader.add_constructor("tag:yaml.org,2002:map", mapping)
    return Loader


def _setting_name(key: object) -> str:
    if not isinstance(key, str) or not key.startswith(PREFIX):
        shown = key if isinstance(key, str) and key.isprintable() and len(key) <= 80 else "a key"
        raise ConfigurationError(
            CONFIG_FILE_SETTING,
            f"the settings file has {shown!r}, which is not a setting name; every key is a "
            "GATEHOUSE_* name (docs/configuration.md)",
        )
    if key == CONFIG_FILE_SETTING:
        raise ConfigurationError(key, "cannot be set inside the settings file; remove it there")
    return key


def setting_text(setting: str, value: object, origin: str) -> str:
    """The string the variable would hold: what every reader already validates.

    ``origin`` names where the value came from in error messages (the file, or the testing
    kit's arguments); the value itself is never part of a message.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigurationError(setting, f"must be a finite number (in {origin})")
        return repr(value)
    if isinstance(value, list | dict):

        def refuse(_: object) -> object:
            # YAML reads an unquoted 2026-01-01 as a date, which JSON cannot carry.
            raise ConfigurationError(
                setting, f"holds a value that is not JSON in {origin} (a date? quote it)"
            )

        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=refuse)
    if value is None:
        raise ConfigurationError(setting, f"is null in {origin}; give it a value or remove it")
    raise ConfigurationError(
        setting, f"must be a string, number, boolean, list or object (in {origin})"
    )
