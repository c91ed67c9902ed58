"""Inspected certificate + mapped identity + request -> Decision. Pure: no IO, no clock.

A certificate that passed every check and mapped to a principal may call every route of the
stage (authentication only: route rules are the policy authorizer's job), so the policy is
cache-safe for API Gateway. The context carries identifiers only, never the PEM:

============== ==========================================================
``principal``  the mapped principal id (also ``principalId``)
``tenant``     the mapped tenant (absent when the rule has none)
``subject_cn`` the subject common name (absent when none, or several)
``serial``     the serial number, lower-case hex without separators
``fingerprint`` SHA-256 of the DER certificate, lower-case hex
``issuer``     the key id of the CA that issued it, lower-case hex
``not_after``  the certificate's expiry, epoch seconds
============== ==========================================================
"""

from __future__ import annotations

from authorizers.core.context import ContextValue
from authorizers.core.decision import Decision
from authorizers.core.request import Request
from authorizers.mtls.certificate import CertificateFacts
from authorizers.mtls.rules import Identity


def build_context(facts: CertificateFacts, identity: Identity) -> dict[str, ContextValue]:
    context: dict[str, ContextValue] = {
        "principal": identity.principal,
        "serial": facts.serial_hex,
        "fingerprint": facts.fingerprint,
        "issuer": facts.issuer_key_id,
        "not_after": int(facts.not_after),
    }
    if identity.tenant is not None:
        context["tenant"] = identity.tenant
    if facts.subject_cn is not None:
        context["subject_cn"] = facts.subject_cn
    return context


def decide(facts: CertificateFacts, identity: Identity, request: Request) -> Decision:
    return Decision.allow_all(request, identity.principal, context=build_context(facts, identity))
