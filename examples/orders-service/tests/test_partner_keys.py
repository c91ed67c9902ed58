"""Partners call with API keys issued by `gatehouse keys`; apikey.json's scopes decide."""

from gatehouse.testing import (
    assert_allows,
    assert_denies,
    assert_unauthorized,
    authorizer,
    build_event,
    replay,
    settings_from,
)

from orders_service import SETTINGS


def test_partner_keys_scopes_and_lifecycle(gatehouse_api_keys):
    keys = gatehouse_api_keys
    settings = {**settings_from(SETTINGS / "apikey.json"), "apikey_table": keys.table}

    def call(key, request="GET /partner/orders/7"):
        # A fresh build per call, as a new Lambda instance: no positive cache between steps.
        return authorizer("apikey", **settings)(
            build_event("rest_token", request, authorization=key.secret)
        )

    reader = keys.issue("acme", plan="basic", scopes=["partner:orders:read"])
    answer = call(reader)
    assert_allows(answer)
    assert answer.response["usageIdentifierKey"]  # API Gateway meters acme's usage plan
    assert replay(answer, "DELETE /partner/orders/7") == 403
    assert_denies(call(keys.issue("globex", plan="basic")), reason="InsufficientScope")
    keys.revoke(reader)
    assert_unauthorized(call(reader), reason="Revoked")
