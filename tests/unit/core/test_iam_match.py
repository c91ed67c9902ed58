"""The IAM matcher that evaluates a policy the way API Gateway does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authorizers.core.iam_match import (
    PolicyDocumentError,
    PolicyOutcome,
    evaluate_policy,
    glob_matches,
)

BASE = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def stmt(effect, *resources, action="execute-api:Invoke", **extra):
    return {"Effect": effect, "Action": action, "Resource": list(resources), **extra}


def test_explicit_deny_beats_allow():
    doc = policy(stmt("Allow", f"{BASE}/*/*"), stmt("Deny", f"{BASE}/GET/admin/*"))
    assert evaluate_policy(doc, f"{BASE}/GET/admin/x") is PolicyOutcome.EXPLICIT_DENY
    assert evaluate_policy(doc, f"{BASE}/GET/pets") is PolicyOutcome.ALLOW


def test_no_matching_statement_is_implicit_deny():
    doc = policy(stmt("Allow", f"{BASE}/GET/pets"))
    assert evaluate_policy(doc, f"{BASE}/GET/pets/1") is PolicyOutcome.IMPLICIT_DENY


def test_star_crosses_slashes_and_question_mark_is_one_character():
    assert glob_matches(f"{BASE}/*", f"{BASE}/GET/a/b/c")
    assert glob_matches(f"{BASE}/GET/pets/?", f"{BASE}/GET/pets/1")
    assert not glob_matches(f"{BASE}/GET/pets/?", f"{BASE}/GET/pets/12")


def test_matching_is_anchored_at_both_ends():
    # The serverless-offline bug: an unanchored regex lets "/GET/pets" match "/GET/pets/secret".
    assert not glob_matches(f"{BASE}/GET/pets", f"{BASE}/GET/pets/secret")
    assert not glob_matches("GET/pets", f"{BASE}/GET/pets")


def test_method_is_case_sensitive():
    assert not glob_matches(f"{BASE}/get/pets", f"{BASE}/GET/pets")


def test_regex_metacharacters_in_resources_are_literal():
    assert not glob_matches(f"{BASE}/GET/a.c", f"{BASE}/GET/abc")
    assert glob_matches(f"{BASE}/GET/a+(b)", f"{BASE}/GET/a+(b)")


@pytest.mark.parametrize(
    "action", ["execute-api:Invoke", "execute-api:*", "*", "EXECUTE-API:invoke"]
)
def test_invoke_actions_apply(action):
    doc = policy(stmt("Allow", f"{BASE}/*/*", action=action))
    assert evaluate_policy(doc, f"{BASE}/GET/x") is PolicyOutcome.ALLOW


def test_other_actions_do_not_apply():
    doc = policy(stmt("Allow", f"{BASE}/*/*", action="execute-api:InvalidateCache"))
    assert evaluate_policy(doc, f"{BASE}/GET/x") is PolicyOutcome.IMPLICIT_DENY


def test_not_resource_applies_to_everything_else():
    doc = policy(
        {"Effect": "Allow", "Action": "execute-api:Invoke", "NotResource": [f"{BASE}/GET/admin"]}
    )
    assert evaluate_policy(doc, f"{BASE}/GET/pets") is PolicyOutcome.ALLOW
    assert evaluate_policy(doc, f"{BASE}/GET/admin") is PolicyOutcome.IMPLICIT_DENY


def test_conditions_are_conservative_allow_ignored_deny_honoured():
    cond = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    allow_only = policy(stmt("Allow", f"{BASE}/*/*", Condition=cond))
    assert evaluate_policy(allow_only, f"{BASE}/GET/x") is PolicyOutcome.IMPLICIT_DENY
    with_deny = policy(stmt("Allow", f"{BASE}/*/*"), stmt("Deny", f"{BASE}/*/*", Condition=cond))
    assert evaluate_policy(with_deny, f"{BASE}/GET/x") is PolicyOutcome.EXPLICIT_DENY


def test_single_statement_object_and_string_resource_are_accepted():
    doc = {
        "Version": "2012-10-17",
        "Statement": stmt("Allow", f"{BASE}/*/*") | {"Resource": f"{BASE}/*/*"},
    }
    assert evaluate_policy(doc, f"{BASE}/GET/x") is PolicyOutcome.ALLOW


@pytest.mark.parametrize(
    "doc",
    [
        None,
        [],
        {"Statement": [stmt("Allow", "*")]},
        {"Version": "2012-10-17", "Statement": []},
        {"Version": "2012-10-17", "Statement": ["x"]},
        policy(stmt("Maybe", "*")),
        policy({"Effect": "Allow", "NotAction": "x", "Resource": "*"}),
        policy({"Effect": "Allow", "Action": "execute-api:Invoke"}),
        policy(stmt("Allow", "*") | {"NotResource": "*"}),
        policy(stmt("Allow", "a" * 513)),
        policy(stmt("Allow", 7)),
        policy(stmt("Allow", "*", action=[])),
    ],
    ids=[
        "none",
        "list",
        "no-version",
        "empty-statements",
        "statement-str",
        "bad-effect",
        "not-action",
        "no-resource",
        "both-resources",
        "resource-too-long",
        "resource-int",
        "empty-action",
    ],
)
def test_documents_api_gateway_would_reject_raise(doc):
    with pytest.raises(PolicyDocumentError):
        evaluate_policy(doc, f"{BASE}/GET/x")


paths = st.lists(st.sampled_from(["a", "b", "pets", "1", "*", "?"]), min_size=1, max_size=4)
methods = st.sampled_from(["GET", "POST", "*"])


def _resource(method, parts):
    return f"{BASE}/{method}/" + "/".join(parts)


@given(
    allows=st.lists(st.tuples(methods, paths), max_size=4),
    denies=st.lists(st.tuples(methods, paths), min_size=1, max_size=4),
    method=st.sampled_from(["GET", "POST"]),
    target=st.lists(st.sampled_from(["a", "b", "pets", "1"]), min_size=1, max_size=4),
)
def test_explicit_deny_always_wins(allows, denies, method, target):
    arn = f"{BASE}/{method}/" + "/".join(target)
    statements = [stmt("Allow", _resource(m, p)) for m, p in allows]
    statements += [stmt("Deny", _resource(m, p)) for m, p in denies]
    outcome = evaluate_policy(policy(*statements), arn)
    deny_matches = any(glob_matches(_resource(m, p), arn) for m, p in denies)
    if deny_matches:
        assert outcome is PolicyOutcome.EXPLICIT_DENY
    else:
        assert outcome is not PolicyOutcome.EXPLICIT_DENY


@given(
    allows=st.lists(st.tuples(methods, paths), min_size=1, max_size=4),
    method=st.sampled_from(["GET", "POST"]),
    target=st.lists(st.sampled_from(["a", "b", "pets", "1"]), min_size=1, max_size=4),
)
def test_no_matching_statement_is_deny(allows, method, target):
    arn = f"{BASE}/{method}/" + "/".join(target)
    outcome = evaluate_policy(policy(*[stmt("Allow", _resource(m, p)) for m, p in allows]), arn)
    if not any(glob_matches(_resource(m, p), arn) for m, p in allows):
        assert outcome is PolicyOutcome.IMPLICIT_DENY
    else:
        assert outcome is PolicyOutcome.ALLOW
