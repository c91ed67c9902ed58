"""``gatehouse local --template``'s option errors: one ``error:`` line, exit 2, before anything
starts (the e2e tests serve a real stack)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gatehouse.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stack", "Orders"], "apply to --template only"),
        (["--issuer-jwks", "https://i.test/=k.json"], "apply to --template only"),
        (["--template", "cdk.out", "--smoke"], "--smoke runs the demo walkthrough"),
        (["--template", "cdk.out", "--issuer-jwks", "no-equals"], "expected ISSUER=FILE"),
    ],
)
def test_misused_template_options_are_usage_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        main, ["local", "--state-dir", str(tmp_path / "state"), *args], catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert not (tmp_path / "state").exists()  # nothing started


def test_a_jwks_holding_a_private_key_is_refused(tmp_path: Path) -> None:
    """A private key in the local issuer's JWKS would hand every worker a signing key."""
    from gatehouse.localmode.cfn import TemplateError
    from gatehouse.localmode.template_stack import _issuer_jwks

    path = tmp_path / "jwks.json"
    path.write_text('{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "d": "secret"}]}', "utf-8")
    with pytest.raises(TemplateError, match="private or symmetric"):
        _issuer_jwks({"https://i.test/": path})
    path.write_text('{"keys": []}', "utf-8")
    with pytest.raises(TemplateError, match="not a JWKS with keys"):
        _issuer_jwks({"https://i.test/": path})
