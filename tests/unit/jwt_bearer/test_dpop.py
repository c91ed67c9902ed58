"""DPoP-bound tokens (RFC 9449): each attack they stop, by name.

Driven through the testing kit: a JWT authorizer whose issuer sets ``dpop``, tokens bound to
a kit ``DpopKey`` (``cnf.jkt``), REST REQUEST events with ``Authorization: DPoP`` and a
``DPoP`` proof header; the replay guard across instances shares a moto table.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from moto import mock_aws

from authorizers.jwt_bearer.dpop import ath_of, jwk_thumbprint
from gatehouse.cache_key import CacheKeyError, check_cache_key, token_binding
from gatehouse.testing import (
    DpopKey,
    OidcIssuer,
    assert_allows,
    assert_denies,
    assert_unauthorized,
    authorizer,
    build_event,
)

AUDIENCE = "orders-api"
URL = "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/prod/orders/7"


@pytest.fixture
def issuer() -> OidcIssuer:
    return OidcIssuer("https://login.example.test/")


def gate(issuer: OidcIssuer, mode: str = "required", **settings: Any) -> Any:
    entry = issuer.settings(audiences=[AUDIENCE], dpop=mode)
    return authorizer("jwt", jwt_issuers=[entry], http=issuer, **settings)


def event(authorization: str, proof: str | None, request: str = "GET /orders/7") -> dict:
    headers = {"Authorization": authorization}
    if proof is not None:
        headers["DPoP"] = proof
    return build_event("rest_request", request, resource="/orders/{id}", headers=headers)


def bound(issuer: OidcIssuer, key: DpopKey) -> str:
    return issuer.token(aud=AUDIENCE, cnf={"jkt": key.thumbprint})


def test_the_thumbprint_follows_rfc_7638():
    # The RFC's own example key (section 3.1) and thumbprint.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
        "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0"
        "_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
        "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_a_bound_token_with_a_fresh_proof_of_its_key_is_allowed(issuer):
    key = DpopKey()
    token = bound(issuer, key)
    assert_allows(gate(issuer)(event(f"DPoP {token}", key.proof("GET", URL, token))))


def test_a_proven_dpop_token_calls_a_sender_constrained_route(issuer):
    routes = [{"route": "GET /orders/{id}", "sender_constrained": True}]
    key = DpopKey()
    token = bound(issuer, key)
    gate_ = gate(issuer, "optional", jwt_routes=routes)
    assert_allows(gate_(event(f"DPoP {token}", key.proof("GET", URL, token))))
    plain = issuer.token(aud=AUDIENCE)  # a bearer token the issuer allows on other routes
    assert_denies(gate_(event(f"Bearer {plain}", None)), reason="UnboundToken")


def test_a_stolen_dpop_token_sent_as_bearer_is_refused(issuer):
    token = bound(issuer, DpopKey())
    for mode in ("optional", "required"):
        assert_unauthorized(
            gate(issuer, mode)(event(f"Bearer {token}", None)), reason="UnboundToken"
        )


def test_required_refuses_a_plain_bearer_token(issuer):
    token = issuer.token(aud=AUDIENCE)
    assert_unauthorized(gate(issuer)(event(f"Bearer {token}", None)), reason="UnboundToken")
    assert_allows(gate(issuer, "optional")(event(f"Bearer {token}", None)))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"method": "DELETE"}, "BindingMismatch"),  # a proof for another method
        ({"url": URL.replace("/orders/7", "/orders/8")}, "BindingMismatch"),  # another URL
        ({"url": URL.replace("execute-api", "example")}, "BindingMismatch"),  # another host
        ({"iat": time.time() - 3600}, "BindingMismatch"),  # expired
        ({"iat": time.time() + 3600}, "BindingMismatch"),  # issued in the future
        ({"ath": "other-token"}, "BindingMismatch"),  # a proof for another token
    ],
    ids=["other-method", "other-url", "other-host", "expired-iat", "future-iat", "other-token"],
)
def test_a_proof_for_another_request_time_or_token_is_refused(issuer, change, reason):
    key = DpopKey()
    token = bound(issuer, key)
    proof = key.proof(
        change.get("method", "GET"),
        change.get("url", URL),
        change.get("ath", token),
        iat=change.get("iat"),
    )
    assert_unauthorized(gate(issuer)(event(f"DPoP {token}", proof)), reason=reason)


def test_a_query_and_fragment_are_not_part_of_the_url_compared(issuer):
    key = DpopKey()
    token = bound(issuer, key)
    proof = key.proof("GET", URL + "?page=2#top", token)
    assert_allows(gate(issuer)(event(f"DPoP {token}", proof)))


def test_a_proof_signed_by_a_key_other_than_cnf_jkt_is_refused(issuer):
    # The attack: a stolen token, and a valid proof made with the thief's own key.
    owner, thief = DpopKey(), DpopKey()
    token = bound(issuer, owner)
    answer = gate(issuer)(event(f"DPoP {token}", thief.proof("GET", URL, token)))
    assert_unauthorized(answer, reason="BindingMismatch")


def _ath(token: str) -> str:
    return ath_of(token)


def test_a_symmetric_key_in_the_proof_header_is_refused(issuer):
    # The attack: an HMAC proof whose "key" is in the header for anyone to use.
    secret = b"s" * 32
    jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(secret).rstrip(b"=").decode()}
    token = issuer.token(aud=AUDIENCE, cnf={"jkt": "A" * 43})
    proof = jwt.encode(
        {"jti": "x", "htm": "GET", "htu": URL, "iat": int(time.time()), "ath": _ath(token)},
        secret,
        algorithm="HS256",
        headers={"typ": "dpop+jwt", "jwk": jwk},
    )
    assert_unauthorized(gate(issuer)(event(f"DPoP {token}", proof)), reason="InvalidSignature")


def test_a_private_key_in_the_proof_header_is_refused(issuer):
    # The key the client leaks with its proof can sign for anyone: never accepted.
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(private))  # includes "d"
    assert "d" in jwk
    public = {k: v for k, v in jwk.items() if k != "d"}
    token = issuer.token(aud=AUDIENCE, cnf={"jkt": jwk_thumbprint(public)})
    proof = jwt.encode(
        {"jti": "x", "htm": "GET", "htu": URL, "iat": int(time.time()), "ath": _ath(token)},
        private,
        algorithm="ES256",
        headers={"typ": "dpop+jwt", "jwk": jwk},
    )
    assert_unauthorized(gate(issuer)(event(f"DPoP {token}", proof)), reason="InvalidSignature")


@pytest.mark.parametrize(
    "header",
    [{"typ": "JWT"}, {"jwk": None}],
    ids=["not-dpop-typ", "no-jwk"],
)
def test_a_proof_that_is_not_one_is_malformed(issuer, header):
    key = DpopKey()
    token = bound(issuer, key)
    proof = key.proof("GET", URL, token, header=header)
    answer = gate(issuer)(event(f"DPoP {token}", proof))
    assert_unauthorized(answer, reason="MalformedCredentials")


def test_a_dpop_token_without_its_proof_header_is_refused(issuer):
    token = bound(issuer, DpopKey())
    assert_unauthorized(gate(issuer)(event(f"DPoP {token}", None)), reason="MissingCredentials")


def test_a_replayed_proof_is_refused_in_memory(issuer):
    # The attack: a proof captured in transit (or from a log) sent again within its window.
    key = DpopKey()
    token = bound(issuer, key)
    proof = key.proof("GET", URL, token)
    instance = gate(issuer)
    assert_allows(instance(event(f"DPoP {token}", proof)))
    assert_unauthorized(instance(event(f"DPoP {token}", proof)), reason="ReplayedProof")
    assert_allows(instance(event(f"DPoP {token}", key.proof("GET", URL, token))))  # a new one


def test_a_replayed_proof_is_refused_across_two_instances_sharing_a_table(issuer, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        boto3.client("dynamodb", region_name="eu-west-1").create_table(
            TableName="dpop-proofs",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        first = gate(issuer, dpop_replay_table="dpop-proofs")
        second = gate(issuer, dpop_replay_table="dpop-proofs")
        key = DpopKey()
        token = bound(issuer, key)
        proof = key.proof("GET", URL, token)
        assert_allows(first(event(f"DPoP {token}", proof)))
        assert_unauthorized(second(event(f"DPoP {token}", proof)), reason="ReplayedProof")


def test_the_dpop_scheme_for_an_issuer_without_dpop_is_malformed(issuer):
    key = DpopKey()
    token = bound(issuer, key)
    answer = gate(issuer, "off")(event(f"DPoP {token}", key.proof("GET", URL, token)))
    assert_unauthorized(answer, reason="MalformedCredentials")


def test_a_bearer_token_dressed_as_dpop_is_refused(issuer):
    key = DpopKey()
    token = issuer.token(aud=AUDIENCE)  # no cnf.jkt: nothing binds it to the proof's key
    answer = gate(issuer)(event(f"DPoP {token}", key.proof("GET", URL, token)))
    assert_unauthorized(answer, reason="UnboundToken")


def test_a_cached_authorizer_for_dpop_tokens_is_refused():
    # The attack: within the TTL, API Gateway replays the cached Allow to a replayed proof
    # (the same Authorization and DPoP values) without invoking the authorizer.
    environment = {
        "GATEHOUSE_JWT_ISSUERS": '[{"type": "oidc", "issuer": "https://login.example.test/", '
        '"audiences": ["a"], "algorithms": ["RS256"], "dpop": "required"}]'
    }
    assert token_binding("jwt", environment) == "a DPoP proof"
    with pytest.raises(CacheKeyError, match="with a proof used before"):
        check_cache_key(
            kind="jwt",
            function="jwt",
            token=False,
            identity_sources=("method.request.header.Authorization", "method.request.header.DPoP"),
            ttl=300,
            environment=environment,
        )


def test_the_memory_replay_guard_forgets_only_expired_or_past_its_bound():
    from authorizers.core.clock import ManualClock
    from authorizers.jwt_bearer.replay import MemoryReplayGuard

    clock = ManualClock(start=1000)
    guard = MemoryReplayGuard(clock=clock, max_entries=2)
    assert guard.first_use("k", "a", expires_at=1060)
    assert not guard.first_use("k", "a", expires_at=1060)  # replayed
    assert guard.first_use("k", "b", expires_at=1060)
    assert guard.first_use("k", "c", expires_at=1060)  # at the bound: "a" goes
    assert len(guard._seen) == 2
    assert not guard.first_use("k", "c", expires_at=1060)
    clock.advance(61)
    assert guard.first_use("k", "b", expires_at=1121)  # expired: its proof is refused by iat
