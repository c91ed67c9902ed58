"""Strict parsing of a compact JWS and of the ``Authorization: Bearer`` header that carries it.

Why ours and not PyJWT's decoder: no library enforces the whole attack catalogue
(docs/jwt-attacks.md, whose row numbers are cited below). Here, before any key is looked up:

- size cap (default 8 KiB; row 26) and exactly three non-empty segments (a five-segment JWE or
  a ``header.payload.`` token with no signature is refused; rows 9, 25);
- canonical base64url only: the unpadded URL-safe alphabet, and the encoding must round-trip
  (flipped unused bits or padding make a second spelling of the same token; row 12);
- JSON objects with no duplicate members (parser differentials; row 21) and bounded nesting;
- header: ``alg`` a string, ``kid`` and ``typ`` strings when present (``null`` is not
  absence); ``crit``, ``b64``, ``cty``, ``zip`` and ``enc`` refused
  (unsupported extensions, detached payloads, nested JWTs, JWE; rows 23-25). ``jwk``, ``jku``,
  ``x5u`` and ``x5c`` are never read: keys come only from configured trust (rows 3, 4).

Nothing here trusts the payload: it is returned for the verifier, which checks the signature
before any claim is used (row 10).
"""

from __future__ import annotations

import base64
import binascii
import json
import json.scanner
import re
from collections.abc import Callable, MutableMapping
from typing import Any, Final, NamedTuple

from authorizers.core.exceptions import InvalidRequestError, Reason

MAX_TOKEN_BYTES: Final = 8192
_COMPACT: Final = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALPHABET_INDEX: Final = {char: index for index, char in enumerate(_ALPHABET)}
_UNUSED_BITS: Final = {2: 0b1111, 3: 0b11}
_PADDING: Final = {0: "", 2: "==", 3: "="}
# Header members that ask for processing we do not implement: refuse rather than ignore.
_REFUSED_HEADER: Final = frozenset({"crit", "b64", "cty", "zip", "enc"})
# "Bearer" (case-insensitive scheme, RFC 7235), one space, the token; nothing else.
_BEARER: Final = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9._-]+)")
# "DPoP" (RFC 9449 section 7.1), case-insensitive as any scheme.
_DPOP: Final = re.compile(r"[Dd][Pp][Oo][Pp] ([A-Za-z0-9._-]+)")


class ParsedToken(NamedTuple):
    """A structurally valid, *unverified* JWS. (A tuple: built on every request, and a frozen
    dataclass costs microseconds more to construct.)"""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def __repr__(self) -> str:
        return f"ParsedToken(header={self.header!r}, <payload and signature hidden>)"

    @property
    def alg(self) -> str:
        return str(self.header["alg"])

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 section 2): how every digest and random value Gatehouse
    writes is spelled (JWK thumbprints, ``ath``, ``x5t#S256``, PKCE, CSRF proofs)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def bearer_token(value: str | None) -> str:
    """The token from an ``Authorization`` value; exactly ``Bearer <token>``.

    Raises ``InvalidRequestError``: ``MISSING_CREDENTIALS`` when absent or empty,
    ``MALFORMED_CREDENTIALS`` for any other scheme, extra whitespace or a second token.
    """
    if value is None or not value.strip():
        raise InvalidRequestError(Reason.MISSING_CREDENTIALS)
    match = _BEARER.fullmatch(value)
    if match is None:
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    return match.group(1)


def scheme_and_token(value: str | None) -> tuple[str, str]:
    """``("bearer" | "dpop", token)`` from an ``Authorization`` value, each scheme exactly as
    :func:`bearer_token` reads ``Bearer``."""
    if value is not None:
        dpop = _DPOP.fullmatch(value)
        if dpop is not None:
            return "dpop", dpop.group(1)
    return "bearer", bearer_token(value)


def parse_token(
    token: str,
    *,
    max_bytes: int = MAX_TOKEN_BYTES,
    headers: MutableMapping[str, dict[str, Any]] | None = None,
) -> ParsedToken:
    """Parse ``token`` strictly. Raises ``InvalidRequestError(MALFORMED_CREDENTIALS)``.

    ``headers``: header segments already parsed and checked, by their exact text (a client
    or issuer sends the same header again and again); a hit skips decoding it again, a miss
    that passes every check is added. The payload and signature are always parsed.
    """
    if len(token) > max_bytes:
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    match = _COMPACT.fullmatch(token)
    if match is None:  # not three non-empty base64url segments (JWE has five; row 25)
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    header_b64, payload_b64, signature_b64 = match.groups()
    header = headers.get(header_b64) if headers is not None else None
    if header is None:
        header = _checked_header(header_b64)
        if headers is not None:
            headers[header_b64] = header
    payload = _json_object(_b64decode(payload_b64))
    signature = _b64decode(signature_b64)
    return ParsedToken(
        header=header,
        payload=payload,
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=signature,
    )


def _checked_header(segment: str) -> dict[str, Any]:
    header = _json_object(_b64decode(segment))
    # kid and typ are optional, but present means a string: the "" default stands for absent
    # only, so "typ": null is refused like "typ": 5 instead of reading as an untyped token.
    alg, kid, typ = header.get("alg"), header.get("kid", ""), header.get("typ", "")
    if not isinstance(alg, str) or not isinstance(kid, str) or not isinstance(typ, str):
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    if not _REFUSED_HEADER.isdisjoint(header):
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    return header


def _b64decode(segment: str) -> bytes:
    # The alphabet was checked by _COMPACT; here only the length and the unused bits.
    remainder = len(segment) % 4
    if remainder == 1:
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    # Canonical: the unused low bits of the last character must be zero (2 characters over a
    # multiple of 4 leave 4 unused bits, 3 leave 2). Otherwise two strings carry one token.
    if remainder and _ALPHABET_INDEX[segment[-1]] & _UNUSED_BITS[remainder]:
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    try:
        return binascii.a2b_base64(
            segment.replace("-", "+").replace("_", "/") + _PADDING[remainder], strict_mode=True
        )
    except binascii.Error:  # pragma: no cover - the checks above admit only valid input
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member")
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python extensions, not JSON


_DECODER: Final = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


# The decoder's C scanner, called directly: one JSON object spanning the whole segment, with
# no surrounding whitespace (stricter than json.loads, and ~1 µs cheaper per call).
_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = json.scanner.make_scanner(
    _DECODER  # type: ignore[arg-type] # typeshed types the argument as the scanner class
)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
        value, end = _SCAN(text, 0)
    except (ValueError, RecursionError, StopIteration):  # StopIteration: no JSON value at 0
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS) from None
    if end != len(text) or not isinstance(value, dict):
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    return value
