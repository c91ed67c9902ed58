"""Store tills present client certificates; mtls.json's mapping rule names them."""

from gatehouse.testing import (
    assert_allows,
    assert_denies,
    assert_unauthorized,
    authorizer,
    build_event,
    settings_from,
)

from orders_service import SETTINGS

TILL = "spiffe://orders.example-corp.test/store/{store}/till/{till}"


def test_tills_certificates_and_revocation(gatehouse_pki, gatehouse_aws):
    pki = gatehouse_pki
    till = pki.client("till-1", san_uri=TILL.format(store="berlin", till="1"))
    stolen = pki.client("till-2", san_uri=TILL.format(store="berlin", till="2"))
    crl = pki.put_crl(gatehouse_aws.client("s3"), revoked=[stolen])
    deployed = settings_from(SETTINGS / "mtls.json")
    gate = authorizer("mtls", **pki.settings(rules=deployed["mtls_rules"], crl_uri=crl))

    def present(cert):
        return gate(build_event("rest_request", "POST /tills/orders", client_cert_pem=cert.pem))

    answer = present(till)
    assert_allows(answer)
    assert answer.response["principalId"] == "till:berlin-1"
    assert_unauthorized(present(stolen), reason="Revoked")
    expired = pki.client("till-3", san_uri=TILL.format(store="berlin", till="3"), valid_days=-1)
    assert_unauthorized(present(expired), reason="Expired")
    laptop = pki.client("laptop", san_uri="spiffe://orders.example-corp.test/laptop/9")
    assert_denies(present(laptop))  # trusted CA, but no rule names it: 403
