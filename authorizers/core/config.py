"""Settings from environment variables: parsed and validated once per cold start.

Every authorizer reads its settings through one :class:`Settings` reader and then calls
:meth:`Settings.finish`, which rejects any ``GATEHOUSE_*`` variable nobody read: a misspelt
setting is an error at cold start, not a silently ignored security control. Error messages name
the variable and say what to put there; they never echo the value (it may be a secret).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from authorizers.core.exceptions import ConfigurationError

PREFIX: Final = "GATEHOUSE_"

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class _Missing:
    """Sentinel: the setting has no default and must be present."""


REQUIRED: Final = _Missing()


class Settings:
    """A checked reader over one environment mapping.

    Parameters
    ----------
    environ:
        Usually ``os.environ``; only ``handler.py`` passes the real one.
    prefix:
        Variables under this prefix are ours: each must be read, or it is an unknown setting.
    """

    def __init__(self, environ: Mapping[str, str], *, prefix: str = PREFIX) -> None:
        self._environ = environ
        self._prefix = prefix
        self._read: set[str] = set()

    def _raw(self, name: str) -> str | None:
        if not name.startswith(self._prefix):
            raise ValueError(f"setting names start with {self._prefix}")
        self._read.add(name)
        value = self._environ.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def text(self, name: str, *, hint: str, default: str | _Missing = REQUIRED) -> str:
        """A non-empty string."""
        value = self._raw(name)
        if value is None:
            if isinstance(default, _Missing):
                raise ConfigurationError(name, f"required and not set; {hint}")
            return default
        return value

    def optional_text(self, name: str) -> str | None:
        return self._raw(name)

    def integer(
        self,
        name: str,
        *,
        default: int | _Missing = REQUIRED,
        minimum: int,
        maximum: int,
        hint: str = "",
    ) -> int:
        """A whole number within ``[minimum, maximum]``."""
        value = self._raw(name)
        if value is None:
            if isinstance(default, _Missing):
                raise ConfigurationError(name, f"required and not set; {_range(minimum, maximum)}")
            return default
        try:
            number = int(value, 10)
        except ValueError:
            raise ConfigurationError(
                name, f"must be a whole number {_range(minimum, maximum)}{_more(hint)}"
            ) from None
        if not minimum <= number <= maximum:
            raise ConfigurationError(name, f"out of range: {_range(minimum, maximum)}{_more(hint)}")
        return number

    def number(
        self,
        name: str,
        *,
        default: float | _Missing = REQUIRED,
        minimum: float,
        maximum: float,
        hint: str = "",
    ) -> float:
        """A finite decimal number within ``[minimum, maximum]``."""
        value = self._raw(name)
        if value is None:
            if isinstance(default, _Missing):
                raise ConfigurationError(name, f"required and not set; {_range(minimum, maximum)}")
            return default
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or not minimum <= number <= maximum:
            raise ConfigurationError(
                name, f"must be a number {_range(minimum, maximum)}{_more(hint)}"
            )
        return number

    def boolean(self, name: str, *, default: bool) -> bool:
        """``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``)."""
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigurationError(name, "must be true or false")

    def choice(self, name: str, options: type[StrEnum], *, default: StrEnum | None = None) -> str:
        """One of the values of ``options`` (case-insensitive)."""
        allowed = [member.value for member in options]
        value = self._raw(name)
        if value is None:
            if default is None:
                raise ConfigurationError(name, f"required and not set; one of {', '.join(allowed)}")
            return default.value
        for candidate in allowed:
            if candidate.lower() == value.lower():
                return candidate
        raise ConfigurationError(name, f"must be one of {', '.join(allowed)}")

    def items(
        self, name: str, *, hint: str, default: tuple[str, ...] | _Missing = REQUIRED
    ) -> tuple[str, ...]:
        """A list of non-empty items, in order, without duplicates: comma-separated
        (``a,b``) or a JSON list of strings (``["a", "b"]``, what a settings file holds)."""
        value = self._raw(name)
        if value is None:
            if isinstance(default, _Missing):
                raise ConfigurationError(name, f"required and not set; {hint}")
            return default
        if value.startswith("["):
            parts = _string_list(name, value, hint)
        else:
            parts = [part.strip() for part in value.split(",")]
        if any(not part for part in parts):
            raise ConfigurationError(name, f"has an empty item; {hint}")
        if len(set(parts)) != len(parts):
            raise ConfigurationError(name, f"lists an item twice; {hint}")
        return tuple(parts)

    def finish(self, *, also_known: Iterable[str] = ()) -> None:
        """Fail on every ``GATEHOUSE_*`` variable that no reader asked for.

        ``also_known`` names settings read elsewhere (by another component of the same
        authorizer) so they are not reported.
        """
        known = self._read | set(also_known)
        unknown = sorted(
            name for name in self._environ if name.startswith(self._prefix) and name not in known
        )
        if not unknown:
            return
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        suggestion = f"did you mean {close[0]}? " if close else ""
        others = f" ({len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""
        raise ConfigurationError(
            name,
            f"unknown setting{others}; {suggestion}remove it or fix its name "
            "(the settings are listed in docs/configuration.md)",
        )


class HttpResponseFormat(StrEnum):
    """How to answer HTTP API (payload 2.0) events: IAM policy or the simple boolean form."""

    IAM = "iam"
    SIMPLE = "simple"


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """Settings every authorizer shares."""

    http_response_format: HttpResponseFormat = HttpResponseFormat.IAM
    #: X-Ray subsegments per decision. Off by default: the X-Ray SDK costs ~250 ms of cold start
    #: and imports botocore, while Lambda's active tracing already records each invocation.
    tracing: bool = False

    @classmethod
    def read(cls, settings: Settings) -> CoreConfig:
        fmt = settings.choice(
            "GATEHOUSE_HTTP_RESPONSE_FORMAT", HttpResponseFormat, default=HttpResponseFormat.IAM
        )
        return cls(
            http_response_format=HttpResponseFormat(fmt),
            tracing=settings.boolean("GATEHOUSE_TRACING", default=False),
        )


def json_list(setting: str, text: str) -> list[Any]:
    """A setting holding a non-empty JSON list (issuers, rules...)."""
    try:
        value = json.loads(text)
    except ValueError:
        raise ConfigurationError(setting, "is not valid JSON; expected a JSON list") from None
    if not isinstance(value, list) or not value:
        raise ConfigurationError(setting, "must be a non-empty JSON list")
    return value


def _string_list(setting: str, text: str, hint: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(
            setting, f"must be comma-separated or a JSON list of strings; {hint}"
        )
    return [item.strip() for item in value]


def check_keys(setting: str, where: str, item: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse a key of a JSON object setting that is not in ``known``, suggesting the closest."""
    names = sorted(known)
    for key in item:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(setting, f"{where}: unknown key {key!r}{hint}")


def _range(minimum: float, maximum: float) -> str:
    return f"between {_number(minimum)} and {_number(maximum)}"


def _number(value: float) -> str:
    # Whole numbers in full (1048576, not :g's 1.04858e+06), others as :g.
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _more(hint: str) -> str:
    return f"; {hint}" if hint else ""
