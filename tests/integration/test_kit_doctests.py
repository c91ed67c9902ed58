"""Every ``gatehouse.testing`` module's docstring example runs (the guide: one runnable
example per public surface). What it stops: an example a team copies that no longer works."""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import gatehouse.testing
from authorizers.core.observability import logger

MODULES = [
    "gatehouse.testing",
    *sorted(
        f"gatehouse.testing.{m.name}" for m in pkgutil.iter_modules(gatehouse.testing.__path__)
    ),
]


@pytest.mark.enable_socket  # LocalOidcProvider's example binds 127.0.0.1
@pytest.mark.parametrize("name", MODULES)
def test_the_module_examples_run(name, monkeypatch):
    # The examples show answers, not the log and metric lines the authorizers also write.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setattr(logger.registered_handler, "stream", io.StringIO())
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
