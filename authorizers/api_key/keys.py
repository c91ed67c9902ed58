"""API key format: generate, format, parse (prefix, length, alphabet, checksum) and hash. Pure.

A key looks like ``gk_live_<30 base62><6 base62>``, 44 ASCII characters:

- ``gk_`` + environment (``live`` or ``test``) + ``_``: readable, and stable so that secret
  scanners (GitHub push protection, gitleaks) can register a pattern for it. The underscore
  keeps a double-click selecting the whole key.
- 30 characters from ``[0-9A-Za-z]`` drawn with :mod:`secrets`: 30 * log2(62) ≈ 178.6 bits.
- A checksum: CRC32 of everything before it (prefix included, so a ``live`` key relabelled
  ``test`` fails too), as 6 base62 digits (62**6 > 2**32). CRC32 catches every single-character
  typo and every adjacent transposition, so a mistyped, truncated or junk key is rejected
  without any lookup. It is a typo filter, *not* a security control: anyone can compute it.

Only :func:`key_hash` of a key is ever stored: SHA-256 over the key's ASCII bytes, hex. A slow
password KDF (bcrypt, scrypt, Argon2) is not needed: those exist to make guessing *low-entropy*
secrets expensive, and a 178-bit random secret cannot be guessed however fast the hash is. A
fast hash also lets the hash itself be the DynamoDB partition key, so the lookup is a
``GetItem`` with no prefix index and no comparison of secrets in our code.

The format is ours, in the style of GitHub's token format (github.blog, 2021-04-05, "Behind
GitHub's new authentication token formats"); no library implements it, and it is 40 lines.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from authorizers.core.exceptions import InvalidRequestError, Reason

ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BRAND: Final = "gk"
RANDOM_CHARS: Final = 30
CHECKSUM_CHARS: Final = 6
PREFIX_CHARS: Final = len("gk_live_")
KEY_CHARS: Final = PREFIX_CHARS + RANDOM_CHARS + CHECKSUM_CHARS
KEY_ID_PREFIX: Final = "gkid_"
KEY_ID_RANDOM_CHARS: Final = 16

_KEY = re.compile(
    rf"{BRAND}_(?P<env>live|test)_(?P<body>[0-9A-Za-z]{{{RANDOM_CHARS}}})"
    rf"(?P<checksum>[0-9A-Za-z]{{{CHECKSUM_CHARS}}})",
    re.ASCII,
)


class Environment(StrEnum):
    """Which kind of deployment a key is for; a ``test`` key never opens a ``live`` API."""

    LIVE = "live"
    TEST = "test"

    @property
    def prefix(self) -> str:
        return f"{BRAND}_{self.value}_"


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A well-formed key (format and checksum checked; not yet known to exist)."""

    environment: Environment
    text: str = field(repr=False)

    @property
    def hash(self) -> str:
        return key_hash(self.text)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly generated key: ``secret`` goes to the client once; ``key_hash`` and
    ``key_id`` go to the store."""

    environment: Environment
    key_id: str
    secret: str = field(repr=False)
    key_hash: str = field(repr=False)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def checksum(head: str) -> str:
    """The 6-character checksum of ``head`` (the key without its checksum)."""
    return _base62(zlib.crc32(head.encode("ascii")), CHECKSUM_CHARS)


def format_key(environment: Environment, body: str) -> str:
    """``gk_<env>_<body><checksum>`` for a 30-character base62 ``body``."""
    if len(body) != RANDOM_CHARS or not set(body) <= set(ALPHABET):
        raise ValueError(f"the body is {RANDOM_CHARS} characters of [0-9A-Za-z]")
    head = environment.prefix + body
    return head + checksum(head)


def key_hash(key: str) -> str:
    """SHA-256 of the key's bytes, lowercase hex: the store's partition key."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def new_key_id() -> str:
    """A public key id (``gkid_`` + 16 base62): safe to log and show, unrelated to the secret."""
    return KEY_ID_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(KEY_ID_RANDOM_CHARS))


def generate(environment: Environment) -> IssuedKey:
    """A new key with ~178 bits from :mod:`secrets`, its hash and a fresh public key id."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    secret = format_key(environment, body)
    return IssuedKey(
        environment=environment, key_id=new_key_id(), secret=secret, key_hash=key_hash(secret)
    )


def parse(text: str, *, environments: Collection[Environment]) -> ParsedKey:
    """Check a presented key's format and checksum; no lookup, no IO.

    The cheapest checks come first: the exact length rejects an oversized header before any
    other work. The checksum is compared with :func:`hmac.compare_digest`.

    Raises
    ------
    InvalidRequestError
        ``MALFORMED_CREDENTIALS``: wrong length, non-ASCII, wrong prefix or an environment not
        in ``environments``, a character outside base62, or a checksum mismatch.
    """
    if len(text) != KEY_CHARS or not text.isascii():
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    match = _KEY.fullmatch(text)
    if match is None:
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    environment = Environment(match["env"])
    if environment not in environments:
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    expected = checksum(text[: PREFIX_CHARS + RANDOM_CHARS])
    if not hmac.compare_digest(expected, match["checksum"]):
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    return ParsedKey(environment=environment, text=text)
