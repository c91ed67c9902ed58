"""JWT rows: the same 1,000 RS256 tokens through aws-jwt-verify (the anchor, Node), our
verifier, our whole handler (``lambda_handler``: event in, policy out), PyJWT ``decode`` with a
preloaded key, and a bare ``cryptography`` RSA verify (the floor); plus cold imports of the
handler vs ``import jwt`` in fresh interpreters. Node blocks alternate with Python blocks,
round by round.

Targets (this machine): verify <= 1.2x aws-jwt-verify, handler <= 1.5x (issue #16), at least
1.8x faster than PyJWT, cold import <= 1.3x ``import jwt`` with no boto3.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import cycle
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from authorizers.core.clock import ManualClock
from authorizers.core.pipeline import ColdStart, lambda_handler_for
from authorizers.jwt_bearer.authorizer import JwtAuthorizer
from authorizers.jwt_bearer.config import JwtConfig
from bench.harness import CONTEXT, bench, bench_external

ROOT = Path(__file__).resolve().parent.parent
ISSUER = "https://idp.example.com"
AUDIENCE = "api://orders"
NOW = 1_750_000_000
TOKENS = 1000


def _material() -> tuple[rsa.RSAPrivateKey, dict[str, Any], list[str]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1", "use": "sig"}
    tokens = [
        pyjwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": f"user-{i}",
                "iat": NOW - 60,
                "exp": NOW + 10 * 365 * 86400,  # valid for the Node anchor's real clock too
                "jti": f"jti-{i}",
                "scope": "orders:read orders:write",
            },
            key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        for i in range(TOKENS)
    ]
    return key, {"keys": [jwk]}, tokens


def _event(token: str) -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/orders/7",
    }


def register() -> None:
    key, jwks, tokens = _material()
    issuers = [
        {
            "type": "oidc",
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "algorithms": ["RS256"],
            "jwks": jwks,
        }
    ]
    environ = {"GATEHOUSE_JWT_ISSUERS": json.dumps(issuers), "GATEHOUSE_TRACING": "false"}
    config = JwtConfig.from_environ(environ, in_lambda=False)
    from authorizers.jwt_bearer.jwks import JwksCache

    cache = JwksCache(fetch=lambda _uri: {}, clock=ManualClock())
    authorizer = JwtAuthorizer(config, jwks=cache, clock=ManualClock(start=NOW))
    cold = ColdStart("jwt", lambda: authorizer)
    public = key.public_key()
    pyjwk = pyjwt.PyJWK(jwks["keys"][0])
    parts = [t.rsplit(".", 1) for t in tokens]
    raw = [
        (signing_input.encode(), pyjwt.utils.base64url_decode(signature))
        for signing_input, signature in parts
    ]
    events = [_event(t) for t in tokens]
    next_token, next_event, next_raw = (
        cycle(tokens).__next__,
        cycle(events).__next__,
        cycle(raw).__next__,
    )
    group = "JWT RS256 verify (1,000 tokens, key cached)"

    bench_external(
        group, "aws-jwt-verify verifySync (Node)", anchor=True, run=_node_rows(jwks, tokens)
    )

    pyjwt_row = "PyJWT decode (PyJWK, aud, iss, require exp)"

    @bench(group, "gatehouse JwtVerifier.verify", target_ratio=1.2, faster_than=(pyjwt_row, 1.8))
    def _ours() -> object:
        return authorizer.verifier.verify(next_token())

    handler = lambda_handler_for(cold)

    @bench(group, "gatehouse lambda_handler: event -> policy", target_ratio=1.5)
    def _handler() -> object:
        return handler(next_event(), CONTEXT)

    @bench(group, pyjwt_row)
    def _pyjwt() -> object:
        return pyjwt.decode(
            next_token(),
            pyjwk,
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iss", "aud"]},
        )

    @bench(group, "cryptography RSA verify only (floor)")
    def _floor() -> object:
        message, signature = next_raw()
        public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        return None

    imports = "JWT cold import (fresh interpreter)"
    bench_external(imports, "import jwt", anchor=True, run=_cold_import("import jwt", {}))
    handler_env = {**environ, "POWERTOOLS_METRICS_DISABLED": "true"}
    bench_external(
        imports,
        "import authorizers.jwt_bearer.handler (+ build)",
        run=_cold_import(
            "import sys, authorizers.jwt_bearer.handler;"
            "assert 'boto3' not in sys.modules, 'boto3 was imported'",
            handler_env,
        ),
        target_ratio=1.3,
    )


#: Passes over the 1,000 tokens in one Node block (after warm-up passes): its median is the
#: block's figure, so each round's Node block weighs as much as a Python one.
NODE_PASSES = 5


def _node_rows(jwks: dict[str, Any], tokens: list[str]) -> Any:
    scratch = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    data = scratch / "tokens.json"
    data.write_text(
        json.dumps({"jwks": jwks, "issuer": ISSUER, "audience": AUDIENCE, "tokens": tokens})
    )

    def run() -> float:
        node = shutil.which("node")
        if node is None or not (ROOT / "node_modules" / "aws-jwt-verify").is_dir():
            raise RuntimeError("aws-jwt-verify is missing: run `npm ci` (make bench does)")
        out = subprocess.run(
            [node, str(ROOT / "bench" / "node" / "jwt_verify.mjs"), str(data), str(NODE_PASSES)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            timeout=300,
        )
        samples: list[float] = json.loads(out.stdout)
        return statistics.median(samples)

    return run


#: Fresh interpreters per cold-import block: the block's figure is their median.
IMPORTS_PER_BLOCK = 3


def _cold_import(statement: str, env: dict[str, str]) -> Any:
    def run() -> float:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        environ.update(env)
        environ["PYTHONPATH"] = str(ROOT)
        samples = []
        for _ in range(IMPORTS_PER_BLOCK):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", statement], check=True, env=environ, cwd=ROOT)
            samples.append((time.perf_counter() - start) * 1e6)
        return statistics.median(samples)

    return run


def _request_event(authorization: str, proof: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": authorization, "Host": "abcdef1234.example.com"}
    if proof is not None:
        headers["DPoP"] = proof
    return {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/orders/7",
        "resource": "/orders/{id}",
        "path": "/orders/7",
        "httpMethod": "GET",
        "headers": headers,
        "requestContext": {"domainName": "abcdef1234.example.com", "path": "/prod/orders/7"},
    }


def register_dpop() -> None:
    """DPoP (issue 19): a DPoP-bound token with a fresh proof per request, through
    ``lambda_handler``, against the plain JWT handler on the same REQUEST event (the anchor):
    at most 2.2x. Each proof is new (the replay guard sees every one once; its clock moves on
    a pass so the bounded memory does not fill)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    from authorizers.jwt_bearer.dpop import ath_of, jwk_thumbprint
    from authorizers.jwt_bearer.jwks import JwksCache
    from authorizers.jwt_bearer.replay import MemoryReplayGuard

    key, jwks, _ = _material()
    client = ec.generate_private_key(ec.SECP256R1())
    client_jwk = json.loads(ECAlgorithm.to_jwk(client.public_key()))
    jkt = jwk_thumbprint(client_jwk)
    url = "https://abcdef1234.example.com/prod/orders/7"

    def token(i: int, *, bound: bool) -> str:
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": f"user-{i}", "iat": NOW - 60,
            "exp": NOW + 86400, "jti": f"jti-{i}", "scope": "orders:read",
        }  # fmt: skip
        if bound:
            claims["cnf"] = {"jkt": jkt}
        return pyjwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})

    plain = [_request_event(f"Bearer {token(i, bound=False)}") for i in range(TOKENS)]
    bound_events = []
    for i in range(TOKENS):
        access = token(i, bound=True)
        proof = pyjwt.encode(
            {"jti": f"p-{i}", "htm": "GET", "htu": url, "iat": NOW, "ath": ath_of(access)},
            client,
            algorithm="ES256",
            headers={"typ": "dpop+jwt", "jwk": client_jwk},
        )
        bound_events.append(_request_event(f"DPoP {access}", proof))

    def handler(mode: str, replay_clock: ManualClock | None = None) -> Any:
        entry = {
            "type": "oidc", "issuer": ISSUER, "audiences": [AUDIENCE],
            "algorithms": ["RS256"], "jwks": jwks, "dpop": mode,
        }  # fmt: skip
        environ = {"GATEHOUSE_JWT_ISSUERS": json.dumps([entry]), "GATEHOUSE_TRACING": "false"}
        config = JwtConfig.from_environ(environ, in_lambda=False)
        cache = JwksCache(fetch=lambda _uri: {}, clock=ManualClock())
        replay = MemoryReplayGuard(clock=replay_clock)
        authorizer = JwtAuthorizer(config, jwks=cache, clock=ManualClock(start=NOW), replay=replay)
        return lambda_handler_for(ColdStart("jwt", lambda: authorizer))

    group = "DPoP (REQUEST event, RS256 token + ES256 proof, key cached)"
    plain_handler = handler("off")
    next_plain = cycle(plain).__next__

    @bench(group, "gatehouse lambda_handler: Bearer token", anchor=True)
    def _plain() -> object:
        return plain_handler(next_plain(), CONTEXT)

    replay_clock = ManualClock()
    dpop_handler = handler("required", replay_clock)
    counter = cycle(range(TOKENS)).__next__

    @bench(group, "gatehouse lambda_handler: DPoP token + proof", target_ratio=2.2)
    def _dpop() -> object:
        index = counter()
        if index == 0:
            replay_clock.advance(1000)  # a new pass: last pass's proof ids have expired
        answer = dpop_handler(bound_events[index], CONTEXT)
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow", answer
        return answer
