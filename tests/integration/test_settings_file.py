"""Settings from ``GATEHOUSE_CONFIG_FILE``: configurations past Lambda's 4 KB environment.

The file goes through the same readers as the variables, so these tests check what is new:
that large configurations start from a file (JSON and YAML), that relative paths are taken
from the task root, and that every kind of bad file is a Configuration deny at cold start with
one clear log line naming the setting and the file, and no value.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jwt.algorithms import RSAAlgorithm

from authorizers.api_key.authorizer import ApiKeyAuthorizer
from authorizers.core.exceptions import ConfigurationError, Unauthorized
from authorizers.core.settings_file import MAX_FILE_BYTES, resolve
from authorizers.jwt_bearer.authorizer import JwtAuthorizer
from authorizers.policy.authorizer import PolicyAuthorizer
from tests.conftest import load_event
from tests.jwt_fixtures import AUDIENCE, ISSUER, Keys, default_claims

REPO = Path(__file__).resolve().parents[2]
DEMO_BUNDLE = REPO / "policies" / "demo.yaml"
DEMO_ROUTES = [
    "GET /tenants/{tenant}/orders",
    "POST /tenants/{tenant}/orders",
    "GET /tenants/{tenant}/orders/{id}",
    "DELETE /tenants/{tenant}/orders/{id}",
]
ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"


class Ctx:
    function_name = "gatehouse-jwt"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:gatehouse-jwt"
    aws_request_id = "req-1"


def fifty_key_jwks(keys: Keys) -> dict[str, Any]:
    """The signing key among 49 others: a JWKS far past what fits in 4 KB of environment."""
    signing = {**json.loads(RSAAlgorithm.to_jwk(keys.rsa.public_key())), "kid": "rsa-1"}
    other = json.loads(RSAAlgorithm.to_jwk(keys.rsa_other.public_key()))
    return {"keys": [signing] + [{**other, "kid": f"old-{i}"} for i in range(49)]}


def issuer(keys: Keys, **extra: Any) -> dict[str, Any]:
    return {
        "type": "oidc",
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "algorithms": ["RS256"],
        "jwks": fifty_key_jwks(keys),
        "groups_claim": "groups",
        **extra,
    }


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def bearer(event_name: str, token: str) -> dict[str, Any]:
    event = load_event(event_name)
    event["authorizationToken"] = f"Bearer {token}"
    return event


def live_claims() -> dict[str, Any]:
    now = int(time.time())
    return default_claims(iat=now - 60, exp=now + 3600)


@pytest.fixture
def cold_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """Import a handler module afresh with exactly ``env`` set: a Lambda cold start."""
    loaded: list[str] = []

    def start(module: str, **env: str) -> Any:
        for name in [n for n in os.environ if n.startswith("GATEHOUSE_")]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop(module, None)
        loaded.append(module)
        return importlib.import_module(module)

    yield start
    for module in loaded:
        sys.modules.pop(module, None)


# --- large configurations start from a file ------------------------------------------------


def test_a_jwt_authorizer_with_a_50_key_jwks_starts_from_a_json_file(
    cold_start, keys, make_token, tmp_path
):
    # GIVEN the issuers (a 50-key preloaded JWKS, ~20 KB) in gatehouse.json in the task root
    document = {"GATEHOUSE_JWT_ISSUERS": [issuer(keys)], "GATEHOUSE_JWT_LEEWAY_SECONDS": 30}
    write(tmp_path / "gatehouse.json", document)
    assert len(json.dumps(document["GATEHOUSE_JWT_ISSUERS"])) > 4096
    # WHEN the function cold-starts with only the file's name in its environment
    module = cold_start(
        "authorizers.jwt_bearer.handler",
        GATEHOUSE_CONFIG_FILE="gatehouse.json",
        LAMBDA_TASK_ROOT=str(tmp_path),
    )
    # THEN a token signed by the first key is allowed and a token with a key id nobody has is 401
    allowed = module.lambda_handler(bearer("rest_token", make_token(live_claims())), Ctx())
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    with pytest.raises(Unauthorized):
        module.lambda_handler(bearer("rest_token", make_token(live_claims(), kid="unknown")), Ctx())


def test_a_policy_authorizer_with_1000_routes_starts_from_a_yaml_file(keys, tmp_path):
    routes = DEMO_ROUTES + [f"GET /items{i}/{{id}}" for i in range(996)]
    (tmp_path / "gatehouse.yaml").write_text(
        "GATEHOUSE_POLICY_AUTHENTICATOR: jwt_bearer\n"
        f"GATEHOUSE_POLICY_SOURCE: {DEMO_BUNDLE}\n"
        "GATEHOUSE_POLICY_AUTHORIZER_CACHE: on\n"  # YAML 1.1 would read `on` as true
        "GATEHOUSE_POLICY_ROUTES:\n"
        + "".join(f"  - {route}\n" for route in routes)
        + f"GATEHOUSE_JWT_ISSUERS:\n  - {json.dumps(issuer(keys))}\n",
        encoding="utf-8",
    )
    authorizer = PolicyAuthorizer.from_environ(
        {"GATEHOUSE_CONFIG_FILE": str(tmp_path / "gatehouse.yaml")}, in_lambda=False
    )
    assert len(authorizer.config.table.routes) == 1000
    assert authorizer.store.snapshot is not None  # the bundle compiled against 1,000 actions


def test_list_settings_take_a_json_list_in_the_file(keys, tmp_path):
    path = write(
        tmp_path / "gatehouse.json",
        {"GATEHOUSE_JWT_ISSUERS": [issuer(keys)], "GATEHOUSE_JWT_CONTEXT_CLAIMS": ["sub", "iss"]},
    )
    authorizer = JwtAuthorizer.from_environ({"GATEHOUSE_CONFIG_FILE": str(path)}, in_lambda=False)
    assert authorizer.config.context_claims == ("sub", "iss")


def test_numbers_and_booleans_are_read_as_the_variables_would_be(tmp_path):
    path = write(
        tmp_path / "gatehouse.json",
        {
            "GATEHOUSE_APIKEY_TABLE": "gatehouse-keys",
            "GATEHOUSE_APIKEY_CACHE_SECONDS": 30,
            "GATEHOUSE_APIKEY_NEGATIVE_CACHE_SECONDS": 2.5,
            "GATEHOUSE_TRACING": False,
        },
    )
    config = ApiKeyAuthorizer.from_environ({"GATEHOUSE_CONFIG_FILE": str(path)}).config
    assert (config.cache_s, config.negative_cache_s, config.core.tracing) == (30, 2.5, False)


def test_without_a_file_the_environment_is_used_as_is():
    resolved = resolve({"GATEHOUSE_APIKEY_TABLE": "t", "OTHER": "x"})
    assert dict(resolved) == {"GATEHOUSE_APIKEY_TABLE": "t", "OTHER": "x"}
    assert resolved.file is None


# --- the same strictness as the variables ------------------------------------------------------


def refusal(tmp_path: Path, name: str, content: str | bytes | None, **env: str) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as error:
        JwtAuthorizer.from_environ({"GATEHOUSE_CONFIG_FILE": str(path), **env}, in_lambda=False)
    return str(error.value)


SECRET = "s3cr3t-value-never-logged"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.json", None, "GATEHOUSE_CONFIG_FILE: the settings file"),
        ("settings.txt", "{}", "must name a .json, .yaml or .yml file"),
        ("bad.json", '{"GATEHOUSE_JWT_ISSUERS": [' + f'"{SECRET}"', "is not valid JSON (line 1"),
        ("bad.yaml", f"GATEHOUSE_JWT_ISSUERS: [{SECRET}\n", "is not valid YAML (line 2"),
        ("list.json", "[1, 2]", "must hold one object mapping setting names"),
        ("latin1.json", b'{"GATEHOUSE_JWT_HEADER": "\xe9"}', "is not UTF-8 text"),
        ("key.json", '{"jwt_issuers": []}', "'jwt_issuers', which is not a setting name"),
        ("nested.json", '{"GATEHOUSE_CONFIG_FILE": "x.json"}', "cannot be set inside"),
        ("twice.json", '{"GATEHOUSE_JWT_HEADER": "a", "GATEHOUSE_JWT_HEADER": "b"}', "twice"),
        ("twice.yaml", "GATEHOUSE_JWT_HEADER: a\nGATEHOUSE_JWT_HEADER: b\n", "twice"),
        ("null.json", '{"GATEHOUSE_JWT_HEADER": null}', "is null in"),
        ("date.yaml", "GATEHOUSE_JWT_ROUTES: [2026-01-01]\n", "not JSON in"),
    ],
)
def test_a_bad_settings_file_is_a_configuration_error_that_echoes_no_value(
    tmp_path, name, content, expected
):
    # Stops: a broken file starting with partial settings, or leaking a value into the logs.
    message = refusal(tmp_path, name, content)
    assert expected in message
    assert SECRET not in message


def test_a_directory_is_unreadable_not_a_crash(tmp_path):
    (tmp_path / "dir.json").mkdir()
    assert "cannot be read (IsADirectoryError)" in refusal(tmp_path, "dir.json", None)


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    content = '{"GATEHOUSE_JWT_HEADER": "' + "a" * MAX_FILE_BYTES + '"}'
    assert f"larger than {MAX_FILE_BYTES} bytes" in refusal(tmp_path, "big.json", content)


def test_an_unknown_setting_in_the_file_is_refused_with_a_suggestion(keys, tmp_path):
    # Stops: a misspelt security control (here, the leeway) silently ignored.
    content = json.dumps(
        {"GATEHOUSE_JWT_ISSUERS": [issuer(keys)], "GATEHOUSE_JWT_LEEWAY_SECOND": 1}
    )
    message = refusal(tmp_path, "gatehouse.json", content)
    assert message.startswith("GATEHOUSE_JWT_LEEWAY_SECOND (in ")
    assert "did you mean GATEHOUSE_JWT_LEEWAY_SECONDS?" in message


def test_an_error_inside_a_file_setting_names_the_key_path_and_the_file(keys, tmp_path):
    content = json.dumps({"GATEHOUSE_JWT_ISSUERS": [issuer(keys, audience=["x"])]})
    message = refusal(tmp_path, "gatehouse.json", content)
    assert message.startswith(f"GATEHOUSE_JWT_ISSUERS (in {tmp_path / 'gatehouse.json'}): ")
    assert "issuer 1 (oidc): unknown key 'audience'; did you mean 'audiences'?" in message


def test_a_setting_in_both_the_environment_and_the_file_is_refused(keys, tmp_path):
    # Stops: a stale variable silently overriding the reviewed file (or the reverse).
    content = json.dumps({"GATEHOUSE_JWT_ISSUERS": [issuer(keys)]})
    message = refusal(
        tmp_path, "gatehouse.json", content, GATEHOUSE_JWT_ISSUERS=json.dumps([issuer(keys)])
    )
    assert message.startswith("GATEHOUSE_JWT_ISSUERS: is set both in the environment and in")


def test_a_policy_file_error_in_an_authenticator_setting_names_the_file(tmp_path):
    path = write(
        tmp_path / "gatehouse.json",
        {
            "GATEHOUSE_POLICY_AUTHENTICATOR": "api_key",
            "GATEHOUSE_POLICY_SOURCE": str(DEMO_BUNDLE),
            "GATEHOUSE_POLICY_ROUTES": DEMO_ROUTES,
            "GATEHOUSE_APIKEY_TABLE": "no spaces allowed",
        },
    )
    with pytest.raises(ConfigurationError) as error:
        PolicyAuthorizer.from_environ({"GATEHOUSE_CONFIG_FILE": str(path)}, in_lambda=False)
    assert str(error.value).startswith(f"GATEHOUSE_APIKEY_TABLE (in {path}): ")


def test_a_missing_file_at_cold_start_denies_with_one_clear_log_line(cold_start, capsys):
    # The same outcome as a bad variable: every request Deny(Configuration), never a crash.
    module = cold_start("authorizers.jwt_bearer.handler", GATEHOUSE_CONFIG_FILE="/nope/g.json")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    errors = [line for line in lines if line.get("message") == "configuration error"]
    assert len(errors) == 1
    assert errors[0]["error"].startswith("GATEHOUSE_CONFIG_FILE: the settings file /nope/g.json")
    response = module.lambda_handler(bearer("rest_token", "a.b.c"), Ctx())
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{ARN}/*/*"]}
    ]
    assert response["context"] == {"reason": "Configuration"}
