"""The authorizers' log formatter: Powertools' JSON lines, field for field, at a third of the cost.

Powertools' ``LambdaPowertoolsFormatter.format`` cost ~14 µs a line (``make bench``, the API key
rows): it copies the record's ``__dict__``, scans a 25-name tuple for each of its entries,
tries to JSON-decode every message, formats the time with ``strftime`` and builds a JSON
encoder per line. Every deny, 401 and policy decision writes one line, so that was a fifth of
the whole invocation.

:class:`JsonLineFormatter` is a subclass that writes the same line, the same keys in the same
order with the same values, for the records the authorizers write (a constant message, extra
fields with string names, no exception), and hands every other record to Powertools' own
``format``: one with an exception, ``%``-arguments, a message that is not a string or could be
JSON, an extra that is not named by a string or is named ``stack_trace``, thread-local keys, a
template it does not know, keys without ``message`` or with ``stack_trace``, pretty-printing
under ``POWERTOOLS_DEV``, a custom JSON serializer or deserializer, or a custom date format.
``tests/unit/core/test_log_format.py`` compares both formatters line by line.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Final

from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter

__all__ = ["JsonLineFormatter"]

_RESERVED: Final = frozenset(RESERVED_LOG_ATTRS)
# Powertools' default keys: their templates, filled here without ``%``-formatting a dict copy.
_LEVEL: Final = "%(levelname)s"
_LOCATION: Final = "%(funcName)s:%(lineno)d"
_TIMESTAMP: Final = "%(asctime)s"
# What json.loads could take for a document (it allows leading whitespace, NaN and Infinity):
# such a message goes to Powertools, which decodes it.
_JSON_START: Final = frozenset('{["-0123456789tfnNI \t\n\r')
_STACK_TRACE: Final = "stack_trace"


class JsonLineFormatter(LambdaPowertoolsFormatter):
    """``LambdaPowertoolsFormatter`` with a fast path for plain records (module docstring).

    Built with the keyword arguments Powertools' ``Logger`` gives its own formatter
    (``service``, ``sampling_rate``); every ``Logger`` call that changes keys
    (``append_keys``, ``remove_keys``, ``structure_logs``) works on it unchanged.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # What Powertools' default serializer does (json.dumps with these options), built once.
        self._encode = json.JSONEncoder(
            default=self.json_default, separators=(",", ":"), ensure_ascii=False
        ).encode
        self._fast = (
            kwargs.get("json_serializer") is None
            and kwargs.get("json_deserializer") is None
            and self.json_indent is None
            and self.datefmt is None
            and not self.use_rfc3339_iso8601
        )
        # (second, "%Y-%m-%d %H:%M:%S", "%z") of the last line: one tuple, replaced whole, so
        # a line logged from another thread never pairs one second's date with another's zone.
        self._second: tuple[int, str, str] = (-1, "", "")

    def format(self, record: logging.LogRecord) -> str:
        message = record.msg
        if (
            not self._fast
            or record.exc_info
            or record.args
            or not isinstance(message, str)
            or not message
            or message[0] in _JSON_START
            or self.thread_safe_get_current_keys()
            # Powertools writes the message after the extras when its key was removed, and
            # overwrites a stack_trace key with the record's (none here, so it drops it).
            or "message" not in self.log_format
            or _STACK_TRACE in self.log_format
        ):
            return super().format(record)
        line: dict[str, Any] = {}
        for key, value in self.log_format.items():
            if value and key in _RESERVED:
                if value == _LEVEL:
                    line[key] = record.levelname
                elif value == _LOCATION:
                    line[key] = f"{record.funcName}:{record.lineno}"
                elif value == _TIMESTAMP:
                    line[key] = self._timestamp(record)
                else:
                    return super().format(record)
            else:
                line[key] = value
        line["message"] = message
        for key, value in record.__dict__.items():
            if key not in _RESERVED:
                if type(key) is not str or key == _STACK_TRACE:
                    return super().format(record)
                if key != "message":  # an attribute a filter set: Powertools writes msg
                    line[key] = value
        line["xray_trace_id"] = self._get_latest_trace_id()
        return self._encode({key: value for key, value in line.items() if value is not None})

    def _timestamp(self, record: logging.LogRecord) -> str:
        """Powertools' default ``2021-05-03 10:20:19,650+0200``, ``strftime`` run once a second."""
        second, head, zone = self._second
        if second != int(record.created):
            moment = self.converter(record.created)
            second = int(record.created)
            head = time.strftime("%Y-%m-%d %H:%M:%S", moment)
            zone = time.strftime("%z", moment)
            self._second = (second, head, zone)
        return f"{head},{int(record.msecs):03d}{zone}"
