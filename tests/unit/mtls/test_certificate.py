"""Certificate inspection: every check, named after the attack or mistake it stops."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from authorizers.core.exceptions import AuthenticationError, InvalidRequestError, Reason
from authorizers.mtls.certificate import (
    MAX_PEM_CHARS,
    CertificatePolicy,
    TrustAnchor,
    inspect,
    key_id_of,
    load_trust_anchors,
    parse_pem,
    pem_fingerprint,
)
from tests.unit.mtls.pki import (
    DAY,
    NOW,
    SPIFFE,
    der_to_pem,
    fingerprint,
    issue,
    make_ca,
    name,
    pem,
    pki,
    resigned,
    sha1_signed,
)

POLICY = CertificatePolicy()


@pytest.fixture(scope="module")
def anchors() -> tuple[TrustAnchor, ...]:
    return load_trust_anchors(pki().bundle)


def untrusted(certificate, anchors, policy=POLICY, now=NOW) -> Reason:
    with pytest.raises(AuthenticationError) as caught:
        inspect(parse_pem(pem(certificate)), anchors, policy, now)
    return caught.value.reason


def test_valid_client_certificate_yields_its_facts(anchors):
    # GIVEN a leaf of the trusted CA WHEN inspected THEN the facts describe it
    leaf = pki().leaf()
    facts = inspect(parse_pem(pem(leaf)), anchors, POLICY, NOW)
    assert facts.fingerprint == fingerprint(leaf)
    assert facts.serial == 0x1001 and facts.serial_hex == "1001"
    assert facts.issuer_key_id == pki().ca.key_id
    assert facts.subject_cn == "device-1"
    assert facts.uris == (SPIFFE,)
    assert facts.dns_names == ("d-1.devices.example.com",)
    assert facts.emails == ()


def test_certificate_of_the_second_anchor_is_matched_to_that_anchor(anchors):
    leaf = issue(pki().other_ca, pki().leaf_key)
    assert inspect(parse_pem(pem(leaf)), anchors, POLICY, NOW).issuer_key_id == (
        pki().other_ca.key_id
    )


def test_expired_certificate_is_refused(anchors):
    leaf = pki().leaf(not_before=NOW - 10 * DAY, not_after=NOW - DAY)
    assert untrusted(leaf, anchors) is Reason.EXPIRED


def test_not_yet_valid_certificate_is_refused(anchors):
    leaf = pki().leaf(not_before=NOW + DAY, not_after=NOW + 10 * DAY)
    assert untrusted(leaf, anchors) is Reason.NOT_YET_VALID


def test_clock_skew_within_the_leeway_is_tolerated(anchors):
    leaf = pki().leaf(not_before=NOW + 30, not_after=NOW + DAY)
    assert inspect(parse_pem(pem(leaf)), anchors, POLICY, NOW).serial == 0x1001
    expired = pki().leaf(not_before=NOW - DAY, not_after=NOW - 30)
    assert inspect(parse_pem(pem(expired)), anchors, POLICY, NOW).serial == 0x1001
    assert untrusted(expired, anchors, CertificatePolicy(leeway_s=0)) is Reason.EXPIRED


def test_forged_issuer_name_signed_by_another_key_is_refused(anchors):
    # GIVEN a CA with exactly the trusted CA's name but its own key (issuer DN text matches)
    leaf = issue(pki().rogue_ca, pki().leaf_key)
    assert leaf.issuer == pki().ca.certificate.subject
    # THEN the signature check against the trusted key fails
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_certificate_naming_a_trusted_issuer_but_signed_by_an_untrusted_ca_is_refused(anchors):
    leaf = issue(pki().rogue_ca, pki().leaf_key, issuer_name=name("Other CA"))
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_leaf_of_an_intermediate_not_in_the_bundle_is_refused(anchors):
    leaf = issue(pki().intermediate, pki().leaf_key)
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_intermediate_ca_certificate_presented_as_client_is_refused(anchors):
    # Issued by a trusted CA, correctly signed, but a CA certificate: not a client credential.
    assert untrusted(pki().intermediate.certificate, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_server_only_certificate_is_not_a_client_credential(anchors):
    leaf = pki().leaf(eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_certificate_without_eku_is_refused_unless_configured(anchors):
    leaf = pki().leaf(eku=None)
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE
    relaxed = CertificatePolicy(require_client_auth_eku=False)
    assert inspect(parse_pem(pem(leaf)), anchors, relaxed, NOW).serial == 0x1001


def test_key_usage_without_digital_signature_is_refused(anchors):
    leaf = pki().leaf(digital_signature=False)
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_rsa_1024_key_is_refused(anchors):
    leaf = issue(pki().ca, pki().weak_rsa_key)
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_rsa_2048_key_is_accepted_and_the_minimum_can_be_raised(anchors):
    leaf = issue(pki().ca, pki().rsa_key)
    assert inspect(parse_pem(pem(leaf)), anchors, POLICY, NOW).serial == 0x1001
    strict = CertificatePolicy(min_rsa_bits=3072)
    assert untrusted(leaf, anchors, strict) is Reason.UNTRUSTED_CERTIFICATE


def test_weak_curve_is_refused(anchors):
    leaf = issue(pki().ca, pki().k1_key)
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_p384_key_is_accepted(anchors):
    leaf = issue(pki().ca, ec.generate_private_key(ec.SECP384R1()))
    assert inspect(parse_pem(pem(leaf)), anchors, POLICY, NOW).serial == 0x1001


def test_sha1_signature_is_refused(anchors):
    leaf = sha1_signed(pki().ca, pki().leaf_key)
    assert leaf.signature_hash_algorithm is not None
    assert leaf.signature_hash_algorithm.name == "sha1"
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_sha224_signature_is_refused(anchors):
    leaf = pki().leaf(algorithm=hashes.SHA224())
    assert untrusted(leaf, anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_sha384_signature_is_accepted(anchors):
    leaf = pki().leaf(algorithm=hashes.SHA384())
    assert inspect(parse_pem(pem(leaf)), anchors, POLICY, NOW).serial == 0x1001


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n\u00e9\u00e9\n-----END CERTIFICATE-----\n",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    ],
    ids=["empty", "text", "garbage-base64", "non-ascii", "private-key"],
)
def test_garbage_pem_is_malformed(text):
    with pytest.raises(InvalidRequestError) as caught:
        parse_pem(text)
    assert caught.value.reason is Reason.MALFORMED_CREDENTIALS
    assert str(caught.value) == "MalformedCredentials"


def test_one_megabyte_pem_is_refused_before_parsing():
    huge = pem(pki().leaf()) + "A" * 1_048_576
    with pytest.raises(InvalidRequestError, match="MalformedCredentials"):
        parse_pem(huge)


def test_pem_at_the_size_cap_boundary():
    text = pem(pki().leaf())
    assert len(text) < MAX_PEM_CHARS
    with pytest.raises(InvalidRequestError):
        parse_pem(text + " " * (MAX_PEM_CHARS - len(text) + 1))


def test_smuggled_second_certificate_is_refused():
    # Which of two certificates would the next component read? We refuse to guess.
    with pytest.raises(InvalidRequestError):
        parse_pem(pem(pki().leaf()) + pki().ca.pem)


def test_errors_carry_no_part_of_the_pem(anchors):
    leaf = pki().leaf(eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    body = pem(leaf).splitlines()[1]
    with pytest.raises(AuthenticationError) as caught:
        inspect(parse_pem(pem(leaf)), anchors, POLICY, NOW)
    assert body not in repr(caught.value) and str(caught.value) == "UntrustedCertificate"


def test_trust_bundle_must_hold_only_cas():
    with pytest.raises(ValueError, match="not a CA"):
        load_trust_anchors(pki().ca.pem + pem(pki().leaf()))


def test_trust_bundle_refuses_duplicates_and_garbage():
    with pytest.raises(ValueError, match="twice"):
        load_trust_anchors(pki().ca.pem + pki().ca.pem)
    with pytest.raises(ValueError, match="PEM bundle"):
        load_trust_anchors("garbage")


def test_key_id_is_computed_when_the_ca_has_no_ski():
    # A CA certificate without SubjectKeyIdentifier still gets the RFC 5280 key id.
    from cryptography import x509

    key = ec.generate_private_key(ec.SECP256R1())
    authority = make_ca(name("No SKI CA"), key)
    assert key_id_of(authority.certificate) == (
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()).key_identifier.hex()
    )


def test_pem_fingerprint_is_the_certificate_fingerprint_without_parsing():
    # The result cache is keyed by it: it must equal the fingerprint of the very DER inspected.
    leaf = pki().leaf()
    text = pem(leaf)
    assert pem_fingerprint(text) == leaf.fingerprint(hashes.SHA256()).hex()
    assert pem_fingerprint(text.replace("\n", "\r\n")) == leaf.fingerprint(hashes.SHA256()).hex()
    # Anything unusual takes the full (parsing) path instead.
    assert pem_fingerprint("junk" + text) is None
    assert pem_fingerprint(text + text) is None
    assert pem_fingerprint(text.replace("CERTIFICATE", "PRIVATE KEY")) is None
    assert pem_fingerprint(text[:-40] + "!!!!" + text[-36:]) is None


# -- crafted DER: a 401, never an internal fault (which would fire the Error alarm) ----------

#: OIDs, DER-encoded: SubjectAlternativeName and BasicConstraints (same length).
_SAN_OID = bytes.fromhex("0603551d11")
_BASIC_CONSTRAINTS_OID = bytes.fromhex("0603551d13")
#: TBS version field: [0] EXPLICIT INTEGER 2 (v3).
_V3 = bytes.fromhex("a003020102")


def _utf8_cn(value: str) -> bytes:
    """The DER of a CN attribute value as UTF8String, as cryptography writes it."""
    return bytes([0x0C, len(value)]) + value.encode()


def test_pem_with_a_non_ascii_character_inside_is_malformed_not_a_fault():
    # GIVEN a real certificate's PEM with one base64 character replaced by a non-ASCII one
    lines = pem(pki().leaf()).splitlines()
    lines[2] = lines[2][:10] + "\u00e9" + lines[2][11:]
    text = "\n".join(lines) + "\n"
    # THEN the cache-key shortcut declines it (it used to raise a bare ValueError) ...
    assert pem_fingerprint(text) is None
    # ... and the full path says MalformedCredentials
    with pytest.raises(InvalidRequestError) as caught:
        parse_pem(text)
    assert caught.value.reason is Reason.MALFORMED_CREDENTIALS


def test_leaf_whose_issuer_name_holds_invalid_utf8_is_untrusted(anchors):
    leaf = pki().leaf(issuer_name=name("Zzzzzz"))
    der = resigned(pki().ca, leaf, _utf8_cn("Zzzzzz"), bytes([0x0C, 6]) + b"Z\xff\xfezzz")
    assert untrusted(x509.load_der_x509_certificate(der), anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_leaf_signed_by_a_trusted_ca_whose_subject_holds_invalid_utf8_is_untrusted(anchors):
    # A trusted CA's signature does not make an unreadable subject a credential.
    leaf = pki().leaf(cn="Zzzzzz")
    der = resigned(pki().ca, leaf, _utf8_cn("Zzzzzz"), bytes([0x0C, 6]) + b"Z\xff\xfezzz")
    assert untrusted(x509.load_der_x509_certificate(der), anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_leaf_signed_by_a_trusted_ca_with_a_duplicate_extension_is_untrusted(anchors):
    # The SAN's OID rewritten to BasicConstraints: two BasicConstraints, which cryptography
    # reports with DuplicateExtension (not a ValueError).
    der = resigned(pki().ca, pki().leaf(), _SAN_OID, _BASIC_CONSTRAINTS_OID)
    assert untrusted(x509.load_der_x509_certificate(der), anchors) is Reason.UNTRUSTED_CERTIFICATE


def test_certificate_with_an_unknown_x509_version_is_malformed():
    # cryptography raises InvalidVersion (not a ValueError) when loading it.
    der = resigned(pki().ca, pki().leaf(), _V3, bytes.fromhex("a003020105"))
    with pytest.raises(InvalidRequestError) as caught:
        parse_pem(der_to_pem(der))
    assert caught.value.reason is Reason.MALFORMED_CREDENTIALS
