"""The documentation stands alone: it cites public sources or the repository's own docs, never
notes that are not in the repository, and the ranges it gives are the ones the code enforces."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from authorizers.core.exceptions import ConfigurationError
from authorizers.jwt_bearer.config import JwtConfig

ROOT = Path(__file__).resolve().parents[3]
#: Where docs and docstrings live (layers/build is generated, tests cite rows by number only).
SOURCES = ("authorizers", "gatehouse", "cdk_app", "docs", "bench")
MISSING_NOTES = re.compile(r'\bfacts/[\w.-]+|\bfacts §|\(facts: "')
DOC_LINK = re.compile(r"\bdocs/([\w-]+\.md)\b")


def _texts() -> Iterator[tuple[Path, str]]:
    files = [ROOT / "README.md", *(ROOT / "layers").glob("*.py")]
    for top in SOURCES:
        files += [p for p in (ROOT / top).rglob("*") if p.suffix in {".py", ".md"}]
    for path in files:
        yield path, path.read_text(encoding="utf-8")


def test_no_doc_or_docstring_cites_notes_that_are_not_in_the_repository():
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group()}"
        for path, text in _texts()
        for match in MISSING_NOTES.finditer(text)
    ]
    assert found == []


def test_every_docs_page_cited_exists():
    missing = sorted(
        {
            f"{path.relative_to(ROOT)}: docs/{match.group(1)}"
            for path, text in _texts()
            for match in DOC_LINK.finditer(text)
            if not (ROOT / "docs" / match.group(1)).is_file()
        }
    )
    assert missing == []


ISSUER = {
    "type": "oidc",
    "issuer": "https://login.example.com",
    "audiences": ["api://orders"],
    "algorithms": ["RS256"],
}
JWT_ROW = re.compile(r"^\| `(GATEHOUSE_JWT_[A-Z_]+)` \| `[^`]+` \| .*?\((\d+(?:\.\d+)?)\.\.(\d+)")


def _documented_jwt_ranges() -> list[tuple[str, float, float]]:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    return [
        (m.group(1), float(m.group(2)), float(m.group(3)))
        for line in text.splitlines()
        if (m := JWT_ROW.match(line))
    ]


def _accepted(name: str, value: float) -> bool:
    environ = {
        "GATEHOUSE_JWT_ISSUERS": json.dumps([ISSUER]),
        "GATEHOUSE_TRACING": "false",
        name: f"{value:g}" if value != int(value) else str(int(value)),
    }
    try:
        JwtConfig.from_environ(environ, in_lambda=True)
    except ConfigurationError as error:
        assert error.setting == name
        return False
    return True


def test_the_documented_jwt_ranges_are_the_enforced_ones():
    ranges = {name: (low, high) for name, low, high in _documented_jwt_ranges()}
    # The four the outside review found undocumented, and the rest of the numeric settings.
    for name in (
        "GATEHOUSE_JWT_JWKS_COOLDOWN_SECONDS",
        "GATEHOUSE_JWT_JWKS_STALE_SECONDS",
        "GATEHOUSE_JWT_JWKS_TIMEOUT_SECONDS",
        "GATEHOUSE_JWT_JWKS_MAX_BYTES",
        "GATEHOUSE_JWT_JWKS_MAX_AGE_SECONDS",
        "GATEHOUSE_JWT_LEEWAY_SECONDS",
        "GATEHOUSE_JWT_MAX_TOKEN_BYTES",
        "GATEHOUSE_JWT_REVOCATION_CACHE_SECONDS",
    ):
        assert name in ranges, f"{name}: no range in docs/configuration.md"


@pytest.mark.parametrize(("name", "low", "high"), _documented_jwt_ranges())
def test_a_documented_jwt_range_is_enforced(name, low, high):
    assert _accepted(name, low) and _accepted(name, high)
    assert not _accepted(name, high + 1)
    if low > 0:
        assert not _accepted(name, low / 2 if low < 1 else low - 1)
    else:
        assert not _accepted(name, -1)
