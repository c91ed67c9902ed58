"""Every public construct's docstring example runs and synthesizes.

What it stops: an example a team copies that fails at ``cdk synth`` (the guide: each public
surface is documented with one runnable example). The example's placeholder paths are pointed
at this repository's own files; nothing else is changed.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

import gatehouse.cdk as public

ROOT = Path(__file__).resolve().parents[2]
#: Placeholder -> this repository's file of the same kind.
PATHS = {
    "build/layer/arm64": ROOT / "layers" / "build" / "arm64",
    "pki/issuing-ca.pem": ROOT / "cdk_app" / "pki" / "example-issuing-ca.pem",
}
#: The policy example's bundle: one rule for the one route the example declares.
BUNDLE = """\
version: 1
rules:
  - id: readers-read-orders
    effect: allow
    routes:
      - GET /tenants/{tenant}/orders
    groups: [readers]
"""
_BLOCK = re.compile(r"::\n\n((?:    .*\n|\n)+)")


def examples() -> list[tuple[str, str]]:
    found = []
    for name in public.__all__:
        documented = getattr(public, name)
        if not getattr(documented, "__module__", "").startswith("gatehouse."):
            continue  # re-exported from aws-cdk-lib (RUNTIME): its docs are not ours
        doc = inspect.getdoc(documented) or ""
        match = _BLOCK.search(doc + "\n")
        if match is not None:
            found.append((name, inspect.cleandoc(match.group(1))))
    return found


@pytest.mark.parametrize(("name", "code"), examples(), ids=[n for n, _ in examples()])
def test_the_docstring_example_synthesizes(
    name: str, code: str, monkeypatch: Any, tmp_path: Path
) -> None:
    bundle = tmp_path / "orders.yaml"
    bundle.write_text(BUNDLE)
    for placeholder, path in {**PATHS, "policies/orders.yaml": bundle}.items():
        code = code.replace(f'"{placeholder}"', repr(str(path)))
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {}
    exec(compile(code, f"<{name} example>", "exec"), namespace)  # noqa: S102 - our own docs
    stacks = [v for v in namespace.values() if isinstance(v, cdk.Stack)]
    assert stacks, f"the {name} example builds no stack"
    for stack in stacks:
        cdk.App.of(stack).synth()  # type: ignore[union-attr]


def test_there_are_examples_to_run() -> None:
    assert len(examples()) >= 7
    assert PATHS["build/layer/arm64"].is_dir()
