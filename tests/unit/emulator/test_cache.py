"""Checklist §6 steps 3 and 6: the result cache, keyed and replayed like API Gateway."""

from __future__ import annotations

from typing import Any

from gatehouse.testing import LambdaContext, OidcIssuer, Pki, authorizer
from tests.unit.emulator.harness import PREFIX, TOKEN, Harness, body, cache_state, policy


def test_same_token_is_answered_from_the_cache():
    harness = Harness()
    first = harness.request("/profile", headers={"Authorization": TOKEN})
    second = harness.request("/admin/reports", headers={"Authorization": TOKEN})
    assert (first.status_code, second.status_code) == (200, 200)
    assert harness.calls("tok") == 1
    assert (cache_state(first), cache_state(second)) == ("miss", "hit")


def test_another_token_is_another_cache_entry():
    harness = Harness()
    harness.request("/profile", headers={"Authorization": TOKEN})
    harness.request("/profile", headers={"Authorization": TOKEN + "x"})
    assert harness.calls("tok") == 2


def test_request_cache_key_is_every_identity_source_together():
    harness = Harness()
    harness.request("/pets/1", headers={"X-Token": "t"}, query="tenant=a")
    harness.request("/pets/2", headers={"X-Token": "t"}, query="tenant=a")
    harness.request("/pets/1", headers={"X-Token": "t"}, query="tenant=b")
    assert harness.calls("req") == 2


def test_entry_expires_after_the_ttl():
    harness = Harness()
    harness.request("/profile", headers={"Authorization": TOKEN})
    harness.clock.advance(299)
    harness.request("/profile", headers={"Authorization": TOKEN})
    assert harness.calls("tok") == 1
    harness.clock.advance(2)
    harness.request("/profile", headers={"Authorization": TOKEN})
    assert harness.calls("tok") == 2


def test_ttl_zero_invokes_every_time():
    harness = Harness()
    harness.request("/files/a")
    harness.request("/files/a")
    assert harness.calls("nocache") == 2


def test_cached_policy_scoped_to_one_route_gives_403_on_another_route():
    # The classic pitfall (facts §4.7): the POLICY is cached and re-evaluated against each
    # methodArn, so an answer that allowed only the first route denies the second one,
    # within the TTL, without asking the authorizer.
    harness = Harness(handlers={"tok": lambda e: policy("Allow", e["methodArn"])})
    first = harness.request("/profile", headers={"Authorization": TOKEN})
    second = harness.request("/admin/reports", headers={"Authorization": TOKEN})
    assert first.status_code == 200
    assert second.status_code == 403
    assert body(second) == {"Message": "User is not authorized to access this resource"}
    assert cache_state(second) == "hit"
    assert harness.calls("tok") == 1


def test_cache_safe_policy_listing_the_principals_routes_works_across_routes():
    allowed = [f"{PREFIX}/GET/profile", f"{PREFIX}/GET/admin/reports"]
    harness = Harness(handlers={"tok": lambda e: policy("Allow", *allowed)})
    harness.request("/profile", headers={"Authorization": TOKEN})
    assert harness.request("/admin/reports", headers={"Authorization": TOKEN}).status_code == 200
    assert harness.calls("tok") == 1


def test_a_deny_is_cached_like_an_allow():
    harness = Harness(handlers={"tok": lambda e: policy("Deny")})
    harness.request("/profile", headers={"Authorization": TOKEN})
    second = harness.request("/profile", headers={"Authorization": TOKEN})
    assert second.status_code == 403
    assert harness.calls("tok") == 1


def test_cache_is_per_authorizer():
    # Same header value, two authorizers: two entries.
    harness = Harness()
    harness.request("/profile", headers={"Authorization": TOKEN})
    harness.request("/reports", headers={"x-api-key": TOKEN})
    assert harness.calls("tok") == 1
    assert harness.calls("key") == 1


# --- why a bound token's authorizer is never cached (docs/jwt.md) ---------------------------


def test_a_cached_allow_for_a_bound_token_is_replayed_to_another_certificate():
    # The attack the constructs and attach refuse, shown as API Gateway does it: the cache
    # key (X-Token, tenant) holds no certificate, so the owner's Allow answers the thief.
    issuer, pki = OidcIssuer("https://login.example.test/"), Pki()
    settings = issuer.settings(audiences=["pets"], certificate_binding="required")
    gate = authorizer("jwt", jwt_issuers=[settings], jwt_header="x-token", http=issuer)
    owner, thief = pki.client("till-1"), pki.client("till-2")
    token = issuer.token(aud="pets", cnf={"x5t#S256": owner.thumbprint})

    def handler(event: dict[str, Any]) -> object:
        return gate.handler(event, LambdaContext())

    harness = Harness(handlers={"req": handler, "nocache": handler})
    headers = {"X-Token": f"Bearer {token}"}
    assert (
        harness.request("/pets/1", headers=headers, query="tenant=a", cert=owner.pem).status_code
        == 200
    )
    replayed = harness.request("/pets/1", headers=headers, query="tenant=a", cert=thief.pem)
    assert (replayed.status_code, cache_state(replayed)) == (200, "hit")
    # Uncached, every request is checked with its own certificate.
    assert harness.request("/files/a", headers=headers, cert=owner.pem).status_code == 200
    assert harness.request("/files/a", headers=headers, cert=thief.pem).status_code == 401
