"""Store-scoped routes: Cognito sign-in, then the Cedar bundle orders-policy.yaml decides."""

from gatehouse.testing import assert_allows, assert_denies, authorizer, replay

from orders_service import SETTINGS
from tests.conftest import bearer, staff_settings


def test_store_staff_see_only_their_store(gatehouse_cognito):
    pool = gatehouse_cognito
    web = pool.app_client("orders-web")
    pool.user("sam", groups=["staff", "store-berlin"])
    pool.user("mia", groups=["managers", "store-berlin"])
    settings = staff_settings("policy.json", pool, web)
    settings["policy_source"] = str(SETTINGS / "orders-policy.yaml")  # /var/task when deployed
    gate = authorizer("policy", **settings, http=pool)
    sam = pool.access_token("sam", web)

    own = gate(bearer(sam, "GET /stores/berlin/orders"))
    assert_allows(own)
    assert replay(own, "GET /stores/paris/orders") == 403  # the cache never opens another store
    assert_denies(gate(bearer(sam, "GET /stores/paris/orders")))
    assert_denies(gate(bearer(sam, "DELETE /stores/berlin/orders/7")))
    assert_allows(gate(bearer(pool.access_token("mia", web), "DELETE /stores/berlin/orders/7")))
