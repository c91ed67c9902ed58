"""Authorizer context rules: flat, typed, small, no reserved keys."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authorizers.core.context import (
    MAX_CONTEXT_BYTES,
    ContextError,
    stringify_context,
    validate_context,
)


def test_strings_numbers_and_booleans_pass_unchanged():
    context = {"sub": "u-1", "count": 3, "ratio": 0.5, "admin": False}
    assert validate_context(context) == context


@pytest.mark.parametrize(
    "value",
    [{"a": 1}, [1, 2], None, math.nan, math.inf, b"bytes", object()],
    ids=["dict", "list", "null", "nan", "inf", "bytes", "object"],
)
def test_values_api_gateway_rejects_with_a_500_are_refused(value):
    with pytest.raises(ContextError):
        validate_context({"key": value})


@pytest.mark.parametrize("key", ["claims", "principalId", "integrationLatency"])
def test_reserved_keys_are_refused(key):
    # "claims" is reserved by HTTP API payload 1.0; the others collide with API Gateway's own.
    with pytest.raises(ContextError, match="reserved"):
        validate_context({key: "x"})


@pytest.mark.parametrize("key", ["", "1abc", "a-b", "a.b", "a b", "x" * 65, 7])
def test_keys_must_be_identifiers(key):
    with pytest.raises(ContextError):
        validate_context({key: "x"})


def test_size_is_capped():
    validate_context({"a": "x" * (MAX_CONTEXT_BYTES - 10)})
    with pytest.raises(ContextError, match="cap"):
        validate_context({"a": "x" * MAX_CONTEXT_BYTES})


def test_rest_backends_see_strings():
    assert stringify_context({"a": True, "b": False, "c": 3, "d": "x"}) == {
        "a": "true",
        "b": "false",
        "c": "3",
        "d": "x",
    }


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=3), children, max_size=2)
    ),
    max_leaves=5,
)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), values, max_size=5))
def test_validated_context_never_holds_a_nested_or_null_value(context):
    try:
        checked = validate_context(context)
    except ContextError:
        return
    assert all(isinstance(v, str | int | float | bool) for v in checked.values())
    assert validate_context(checked) == checked  # idempotent
