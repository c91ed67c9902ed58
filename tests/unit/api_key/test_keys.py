"""Key format: generation, checksum, and rejection of malformed keys before any lookup."""

from __future__ import annotations

import hashlib
import math
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authorizers.api_key.keys import (
    ALPHABET,
    KEY_CHARS,
    Environment,
    checksum,
    format_key,
    generate,
    key_hash,
    new_key_id,
    parse,
)
from authorizers.core.exceptions import InvalidRequestError, Reason

BODY = "0123456789ABCDEFGHIJabcdefghij"
BOTH = frozenset(Environment)
LIVE = frozenset({Environment.LIVE})


def rejected(text: str, environments: frozenset[Environment] = BOTH) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse(text, environments=environments)
    assert caught.value.reason is Reason.MALFORMED_CREDENTIALS


def test_generated_keys_have_the_documented_shape_and_parse():
    # GIVEN a generated live key
    issued = generate(Environment.LIVE)
    # THEN it is 44 characters: prefix, 30 base62, 6 base62 checksum
    assert re.fullmatch(r"gk_live_[0-9A-Za-z]{36}", issued.secret)
    assert len(issued.secret) == KEY_CHARS == 44
    # AND it parses, and its stored hash is SHA-256 of its bytes
    parsed = parse(issued.secret, environments=LIVE)
    assert parsed.environment is Environment.LIVE
    assert parsed.hash == issued.key_hash == hashlib.sha256(issued.secret.encode()).hexdigest()


def test_generated_keys_carry_at_least_160_bits_and_differ():
    secrets_ = {generate(Environment.TEST).secret for _ in range(200)}
    assert len(secrets_) == 200
    assert 30 * math.log2(len(ALPHABET)) >= 160


def test_the_secret_and_hash_stay_out_of_repr():
    issued = generate(Environment.LIVE)
    assert issued.secret not in repr(issued)
    assert issued.key_hash not in repr(issued)
    assert issued.secret not in repr(parse(issued.secret, environments=LIVE))


def test_key_ids_are_public_random_and_unrelated_to_the_secret():
    ids = {new_key_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"gkid_[0-9A-Za-z]{16}", i) for i in ids)


def test_format_key_refuses_a_body_of_the_wrong_size_or_alphabet():
    with pytest.raises(ValueError, match="30 characters"):
        format_key(Environment.LIVE, BODY[:-1])
    with pytest.raises(ValueError, match="30 characters"):
        format_key(Environment.LIVE, BODY[:-1] + "-")


@pytest.mark.parametrize("position", range(KEY_CHARS))
def test_every_single_character_typo_is_rejected(position):
    # GIVEN a valid key with one character replaced by another from the key's alphabet
    key = format_key(Environment.LIVE, BODY)
    original = key[position]
    replacement = "x" if original != "x" else "y"
    typo = key[:position] + replacement + key[position + 1 :]
    # THEN it is rejected as malformed (prefix, alphabet or checksum)
    rejected(typo)


@pytest.mark.parametrize("position", range(8, KEY_CHARS - 1))
def test_adjacent_transpositions_are_rejected(position):
    key = format_key(Environment.LIVE, BODY)
    if key[position] == key[position + 1]:
        pytest.skip("same character")
    swapped = key[:position] + key[position + 1] + key[position] + key[position + 2 :]
    rejected(swapped)


@pytest.mark.parametrize("cut", [1, 6, 20, KEY_CHARS - 1])
def test_truncated_keys_are_rejected(cut):
    rejected(format_key(Environment.LIVE, BODY)[:-cut])


def test_a_key_with_an_extra_character_is_rejected():
    rejected(format_key(Environment.LIVE, BODY) + "0")


@pytest.mark.parametrize(
    "prefix", ["gh_live_", "GK_LIVE_", "gk_prod_", "gk-live_", "sk_live_", "gk_livE_"]
)
def test_wrong_prefix_is_rejected(prefix):
    key = format_key(Environment.LIVE, BODY)
    rejected(prefix + key[len(prefix) :])


def test_a_live_key_relabelled_test_fails_its_checksum():
    key = format_key(Environment.LIVE, BODY)
    rejected("gk_test_" + key[8:])


def test_a_test_key_is_refused_where_only_live_keys_are_accepted():
    key = format_key(Environment.TEST, BODY)
    assert parse(key, environments=BOTH).environment is Environment.TEST
    rejected(key, LIVE)


def test_wrong_checksum_is_rejected():
    key = format_key(Environment.LIVE, BODY)
    good = key[-6:]
    bad = "000000" if good != "000000" else "000001"
    rejected(key[:-6] + bad)


@pytest.mark.parametrize(
    "char", ["é", "\u0660", "\uff10", "\u200b", "\x00", "ß", "\U0001f511"], ids=repr
)
def test_non_ascii_is_rejected(char):
    key = format_key(Environment.LIVE, BODY)
    rejected(key[:20] + char + key[21:])


@pytest.mark.parametrize("text", ["", " ", "gk_live_", "Bearer x", "a" * 10_240, "gk_live_" * 1280])
def test_empty_junk_and_10kb_values_are_rejected(text):
    rejected(text)


def test_checksum_is_six_base62_digits_zero_padded():
    assert checksum("gk_live_" + BODY) == format_key(Environment.LIVE, BODY)[-6:]
    assert len(checksum("")) == 6 and checksum("") == "000000"  # crc32(b"") == 0


def test_key_hash_is_lowercase_hex_sha256():
    assert key_hash("abc") == hashlib.sha256(b"abc").hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", key_hash(format_key(Environment.LIVE, BODY)))


@given(st.text(max_size=200))
def test_parse_of_arbitrary_text_only_ever_raises_malformed(text):
    try:
        parsed = parse(text, environments=BOTH)
    except InvalidRequestError as error:
        assert error.reason is Reason.MALFORMED_CREDENTIALS
    else:  # pragma: no cover - only a valid key gets here
        assert format_key(parsed.environment, text[8:38]) == text


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=30, max_size=30))
def test_format_then_parse_round_trips(body):
    for environment in Environment:
        key = format_key(environment, body)
        assert parse(key, environments=BOTH).text == key
