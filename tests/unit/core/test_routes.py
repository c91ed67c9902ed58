"""Route templates and cache-safe policy resources (the cached-403 pitfall)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authorizers.core.decision import render_policy
from authorizers.core.iam_match import PolicyOutcome, evaluate_policy
from authorizers.core.route_arn import parse_route_arn
from authorizers.core.routes import (
    NotCacheSafe,
    RouteTemplate,
    RouteTemplateError,
    cache_safe_resources,
    pattern_reaches,
)

BASE = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"
ARN = parse_route_arn(f"{BASE}/GET/orders/7")


def routes(*texts):
    return [RouteTemplate.parse(t) for t in texts]


def outcome(resources, method, path):
    return evaluate_policy(render_policy(resources), f"{BASE}/{method}{path}")


@pytest.mark.parametrize(
    ("text", "glob"),
    [
        ("GET /", "/"),
        ("GET /orders", "/orders"),
        ("get /orders/{id}", "/orders/*"),
        ("ANY /{proxy+}", "/*"),
        ("* /a/{b}/c/{rest+}", "/a/*/c/*"),
    ],
)
def test_templates_become_globs_without_literal_braces(text, glob):
    # {param} and {proxy+} are literal text to IAM: they never match a concrete path.
    template = RouteTemplate.parse(text)
    assert template.glob() == glob
    assert "{" not in template.glob()


@pytest.mark.parametrize(
    "text",
    ["GET", "FETCH /x", "GET orders", "GET /a/{proxy+}/b", "GET /a/*", "GET /a?", "GET /{}"],
)
def test_bad_templates_are_refused(text):
    with pytest.raises(RouteTemplateError):
        RouteTemplate.parse(text)


def test_allowed_everything_needs_no_deny():
    table = routes("GET /orders", "GET /orders/{id}")
    resources = cache_safe_resources(ARN, table, table)
    assert resources.deny == ()
    assert outcome(resources, "GET", "/orders/7") is PolicyOutcome.ALLOW


def test_cached_response_is_right_for_the_other_routes_too():
    # The pitfall: first call GET /orders/7 caches a policy for that ARN only, and the next
    # call GET /orders gets 403 without the authorizer running.
    table = routes("GET /orders", "GET /orders/{id}", "DELETE /orders/{id}")
    allowed = routes("GET /orders", "GET /orders/{id}")
    resources = cache_safe_resources(ARN, allowed, table)
    assert outcome(resources, "GET", "/orders") is PolicyOutcome.ALLOW
    assert outcome(resources, "GET", "/orders/9") is PolicyOutcome.ALLOW
    assert outcome(resources, "DELETE", "/orders/9") is not PolicyOutcome.ALLOW


def test_over_broad_allow_is_corrected_with_a_deny():
    # Attack: privilege escalation through IAM's "*" crossing "/" - the glob for
    # GET /orders/{id} also matches GET /orders/7/secret.
    table = routes("GET /orders/{id}", "GET /orders/{id}/secret")
    resources = cache_safe_resources(ARN, routes("GET /orders/{id}"), table)
    assert outcome(resources, "GET", "/orders/7") is PolicyOutcome.ALLOW
    assert outcome(resources, "GET", "/orders/7/secret") is PolicyOutcome.EXPLICIT_DENY


def test_unfixable_overlap_raises_not_cache_safe():
    # Allowed /a/{x} reaches denied /a/{x}/{z}, whose Deny ("/a/*/*") would in turn cover the
    # allowed /a/{x}/c: no single policy is right for all three.
    table = routes("GET /a/{x}", "GET /a/{x}/{z}", "GET /a/{x}/c")
    with pytest.raises(NotCacheSafe):
        cache_safe_resources(ARN, routes("GET /a/{x}", "GET /a/{x}/c"), table)


def test_disjoint_patterns_need_no_deny():
    # "/a/*/c/*" can never be a one-segment /a/{p} path, so nothing needs correcting.
    table = routes("GET /a/{p}", "GET /a/{x}/c/{y}")
    resources = cache_safe_resources(ARN, routes("GET /a/{x}/c/{y}"), table)
    assert resources.deny == ()


def test_methods_are_kept_apart_and_any_covers_all():
    table = routes("GET /x", "POST /x", "ANY /y")
    resources = cache_safe_resources(ARN, routes("GET /x", "ANY /y"), table)
    assert outcome(resources, "GET", "/x") is PolicyOutcome.ALLOW
    assert outcome(resources, "POST", "/x") is not PolicyOutcome.ALLOW
    assert outcome(resources, "DELETE", "/y") is PolicyOutcome.ALLOW


def test_too_large_policies_raise_not_cache_safe():
    table = [RouteTemplate("GET", f"/r{i}/" + "x" * 60) for i in range(120)]
    with pytest.raises(NotCacheSafe, match="too large"):
        cache_safe_resources(ARN, table, table)


@pytest.mark.parametrize(
    ("glob", "template", "expected"),
    [
        ("/*", "/{a}", True),
        ("/a/*", "/a", False),
        ("/a*", "/a", True),
        ("/*/items", "/{a}/{b}/{c}", True),  # "x/y/items": a sampling check misses this one
        ("/a/*/c", "/a/{b}", False),
        ("/a/b", "/a/{x}/{y}", False),
        ("/", "/{proxy+}", False),
        ("/*", "/", True),
    ],
)
def test_overlap_is_exact(glob, template, expected):
    parsed = RouteTemplate.parse(f"GET {template}")
    assert pattern_reaches("GET", glob, parsed) is expected
    assert _brute_force(glob, parsed) is expected


def _template_regex(template: RouteTemplate) -> re.Pattern[str]:
    parts = []
    for token in template.tokens():
        parts.append("[^/]+" if token is None else ".+" if token == "" else re.escape(token))
    return re.compile("".join(parts), re.DOTALL)


def _glob_regex(glob: str) -> re.Pattern[str]:
    body = glob[1:] if glob.startswith("/") else glob
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in body), re.DOTALL)


def _brute_force(glob: str, template: RouteTemplate) -> bool:
    """Independent oracle: fill the template's parameters with every candidate value built from
    the glob's literal pieces (and a filler), and test each concrete path against the glob."""
    pieces = {p for p in re.split(r"[*/]", glob) if p} | {"z"}
    values = (
        pieces
        | {a + b for a in pieces for b in pieces}
        | {a + "z" + b for a in pieces for b in pieces}
    )
    proxies = set(values) | {f"{a}/{b}" for a in values for b in values}
    proxies |= {f"{a}/{b}/{c}" for a in pieces for b in pieces for c in pieces}
    glob_re = _glob_regex(glob)
    candidates = [""]
    for token in _segments(template):
        if token == "param":
            options = values
        elif token == "proxy":
            options = proxies
        else:
            options = {token}
        candidates = [f"{c}/{o}" if c else o for c in candidates for o in options]
    return any(glob_re.fullmatch(c) for c in candidates)


def _segments(template: RouteTemplate) -> list[str]:
    if template.path == "/":
        return []
    out = []
    for segment in template.path[1:].split("/"):
        if segment.endswith("+}"):
            out.append("proxy")
        elif segment.startswith("{"):
            out.append("param")
        else:
            out.append(segment)
    return out


segment = st.sampled_from(["a", "b", "{p}", "{q}"])
template_paths = st.lists(segment, min_size=0, max_size=3).flatmap(
    lambda segs: st.sampled_from(["/" + "/".join(segs), "/" + "/".join([*segs, "{proxy+}"])])
)


@settings(max_examples=60, deadline=None)
@given(
    glob=st.sampled_from(["/*", "/a/*", "/*/b", "/a", "/a/*/b", "/*/*", "/b*"]), path=template_paths
)
def test_overlap_agrees_with_brute_force(glob, path):
    template = RouteTemplate.parse(f"GET {path}")
    assert pattern_reaches("GET", glob, template) is _brute_force(glob, template)


def _concrete(template: RouteTemplate, value: str) -> str:
    segments = []
    for segment in template.path.strip("/").split("/") if template.path != "/" else []:
        if segment.endswith("+}"):
            segments.append(f"{value}/{value}")
        elif segment.startswith("{"):
            segments.append(value)
        else:
            segments.append(segment)
    return "/" + "/".join(segments)


@settings(max_examples=200, deadline=None)
@given(
    table=st.lists(
        st.tuples(st.sampled_from(["GET", "POST", "ANY"]), template_paths),
        min_size=1,
        max_size=5,
        unique=True,
    ),
    data=st.data(),
    value=st.sampled_from(["a", "b", "7", "zz", "GET"]),
)
def test_cache_safe_policy_is_right_for_every_route_of_the_table(table, data, value):
    # THE property: whatever route and method the cached policy is replayed for, it gives the
    # answer the authorizer would have given (unless the request is ambiguous between routes).
    templates = [RouteTemplate(method, path) for method, path in table]
    allowed = data.draw(st.lists(st.sampled_from(templates), unique=True))
    try:
        resources = cache_safe_resources(ARN, allowed, templates)
    except NotCacheSafe:
        return
    for template in templates:
        path = _concrete(template, value)
        for method in ("GET", "POST", "DELETE"):
            if not template.matches(method, path):
                continue
            owners = {t for t in templates if t.matches(method, path)}
            got = outcome(resources, method, path)
            if owners <= set(allowed):
                assert got is PolicyOutcome.ALLOW, (method, path, owners)
            elif not owners & set(allowed):
                assert got is not PolicyOutcome.ALLOW, (method, path, owners)


def test_any_method_glob_does_not_leak_across_the_method_slash():
    # Found in review: "*/orders/*" (ANY /orders/{id}) also matches "GET/admin/orders/1" in IAM,
    # because the method "*" crosses "/". The overlap check works on the whole METHOD/path.
    table = routes("ANY /orders/{id}", "GET /admin/orders/{id}")
    resources = cache_safe_resources(ARN, routes("ANY /orders/{id}"), table)
    assert outcome(resources, "DELETE", "/orders/1") is PolicyOutcome.ALLOW
    assert outcome(resources, "GET", "/admin/orders/1") is PolicyOutcome.EXPLICIT_DENY
    assert pattern_reaches("*", "/orders/*", RouteTemplate.parse("GET /admin/orders/{id}"))
    assert not pattern_reaches("GET", "/orders/*", RouteTemplate.parse("GET /admin/orders/{id}"))


@given(
    first=st.sampled_from(["GET /a", "GET /a/{id}", "ANY /a", "POST /b/{proxy+}"]),
    second=st.sampled_from(["GET /a", "GET /a/{id}", "ANY /a", "POST /b/{proxy+}"]),
)
def test_a_route_hashes_as_it_compares_however_it_was_built(first, second):
    # The memoized cache-safe answers are keyed by routes: a stale or unequal hash for equal
    # routes would miss the memo (slow) or, worse, pair one route with another's answer.
    a, b = RouteTemplate.parse(first), RouteTemplate.parse(second)
    rebuilt = replace(a, method=b.method, path=b.path)
    assert rebuilt == b and hash(rebuilt) == hash(b)
    assert (a == b) is (first == second) and len({a, b, rebuilt}) == len({first, second})
