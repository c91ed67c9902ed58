"""CRL parsing and verification: keyed by issuer, signed by the CA's key, fresh."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.mtls.certificate import TrustAnchor, load_trust_anchors
from authorizers.mtls.crl import InvalidCrl, StaleCrl, parse_crl
from tests.unit.mtls.pki import DAY, NOW, make_crl, pki


@pytest.fixture(scope="module")
def anchors() -> dict[str, TrustAnchor]:
    loaded = load_trust_anchors(pki().bundle)
    return {"ca": loaded[0], "other": loaded[1]}


def test_revoked_serials_are_found_for_their_issuer(anchors):
    crl = parse_crl(make_crl(pki().ca, [0x1001, 0x2002]), anchors["ca"])
    assert crl.issuer_key_id == pki().ca.key_id
    assert crl.is_revoked(0x1001) and crl.is_revoked(0x2002)
    assert not crl.is_revoked(0x1002)
    assert crl.next_update == NOW + DAY


def test_der_crl_is_accepted(anchors):
    der = make_crl(pki().ca, [7], encoding=serialization.Encoding.DER)
    assert parse_crl(der, anchors["ca"]).serials == frozenset({7})


def test_crl_signed_by_the_wrong_key_is_refused(anchors):
    # GIVEN a CRL with the trusted CA's name, signed by another key (a forged revocation list,
    # or one that "un-revokes" by omission)
    forged = make_crl(pki().ca, [], signer=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(InvalidCrl) as caught:
        parse_crl(forged, anchors["ca"])
    assert isinstance(caught.value, UpstreamError)
    assert caught.value.reason is Reason.UPSTREAM_UNAVAILABLE


def test_crl_of_another_ca_is_not_accepted_for_this_one(anchors):
    with pytest.raises(InvalidCrl):
        parse_crl(make_crl(pki().other_ca, [1]), anchors["ca"])


@pytest.mark.parametrize("data", [b"", b"garbage", b"-----BEGIN X509 CRL-----\nAAAA\n-----END"])
def test_garbage_crl_is_refused(anchors, data):
    with pytest.raises(InvalidCrl):
        parse_crl(data, anchors["ca"])


def test_stale_crl_fails_closed_unless_within_the_grace(anchors):
    crl = parse_crl(make_crl(pki().ca, [], next_update=NOW - 3600), anchors["ca"])
    with pytest.raises(StaleCrl):
        crl.check_fresh(NOW, grace_s=0)
    crl.check_fresh(NOW, grace_s=2 * 3600)  # "allow while stale for 2 hours"
    with pytest.raises(StaleCrl):
        crl.check_fresh(NOW + 2 * 3600, grace_s=2 * 3600)
