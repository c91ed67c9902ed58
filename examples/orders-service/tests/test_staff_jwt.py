"""Staff sign in with the company's Cognito pool; jwt.json's route rules decide."""

from gatehouse.testing import assert_allows, assert_denies, assert_unauthorized, authorizer, replay

from tests.conftest import bearer, staff_settings


def test_cognito_pool_and_route_rules(gatehouse_cognito, gatehouse_clock):
    pool = gatehouse_cognito
    web, partner_portal = pool.app_client("orders-web"), pool.app_client("partner-portal")
    pool.user("rita", groups=["order-readers"])
    pool.user("adam", groups=["order-admins"])
    settings = staff_settings("jwt.json", pool, web)
    gate = authorizer("jwt", **settings, http=pool, clock=gatehouse_clock)
    rita = pool.access_token("rita", web)

    allowed = gate(bearer(rita, "GET /orders/7"))
    assert_allows(allowed)
    assert replay(allowed, "DELETE /orders/7") == 403  # the cached GET never opens DELETE
    assert_denies(gate(bearer(rita, "POST /orders")), reason="NotInGroup")
    assert_allows(gate(bearer(pool.access_token("adam", web), "DELETE /orders/7")))
    other_client = pool.access_token("rita", partner_portal)
    assert_unauthorized(gate(bearer(other_client, "GET /orders")), reason="InvalidClaims")
    gatehouse_clock.advance(3600 + 31)  # moto's tokens live an hour; the leeway is 30 s
    assert_unauthorized(gate(bearer(rita, "GET /orders")), reason="Expired")
