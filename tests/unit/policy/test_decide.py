"""Identity + request -> Decision: the demo outcomes, fail-closed paths, shadow mode, and the
authorizer-cache contract (a cached answer replayed for another route never wrongly allows)."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authorizers.core.decision import Effect, render_policy
from authorizers.core.exceptions import (
    ConfigurationError,
    InvalidRequestError,
    Reason,
    UpstreamError,
)
from authorizers.core.iam_match import PolicyOutcome, evaluate_policy
from authorizers.core.routes import PolicyResources
from authorizers.policy import decide as decide_module
from authorizers.policy.decide import decide
from authorizers.policy.engine import compile_bundle
from authorizers.policy.routes import RouteTable
from authorizers.policy.store import Unavailable
from tests.unit.policy.helpers import (
    ALICE,
    ARN,
    BOB,
    CAROL,
    DEMO_ROUTES,
    demo_snapshot,
    demo_table,
    force_policies,
    request,
    user,
)

SNAPSHOT = demo_snapshot()
TABLE = demo_table()
NOT_LOADED = Unavailable("source", Reason.UPSTREAM_UNAVAILABLE)


def run(who, method, path, *, snapshot=SNAPSHOT, table=TABLE, shadow=False, **kwargs):
    return decide(
        who,
        request(method, path, **kwargs),
        snapshot=snapshot,
        unavailable=NOT_LOADED,
        table=table,
        shadow=shadow,
        now=time.time(),
        headers=kwargs.get("context_headers", ()),
    )


REQUIRED = [
    (BOB, "GET", "/tenants/acme/orders", Effect.ALLOW),
    (BOB, "GET", "/tenants/globex/orders", Effect.DENY),  # tenant isolation
    (BOB, "POST", "/tenants/acme/orders", Effect.DENY),  # readers cannot write
    (ALICE, "POST", "/tenants/acme/orders", Effect.ALLOW),
    (ALICE, "DELETE", "/tenants/acme/orders/9", Effect.ALLOW),
    (ALICE, "GET", "/tenants/globex/orders", Effect.DENY),
    (ALICE, "POST", "/tenants/globex/orders", Effect.DENY),
    (ALICE, "DELETE", "/tenants/globex/orders/9", Effect.DENY),
    (CAROL, "GET", "/tenants/globex/orders/7", Effect.ALLOW),
    (CAROL, "GET", "/tenants/acme/orders/7", Effect.DENY),
]


@pytest.mark.parametrize(("who", "method", "path", "effect"), REQUIRED)
def test_demo_outcomes(who, method, path, effect):
    result = run(who, method, path)
    assert result.decision.effect is effect
    assert result.decision.cache_safe
    assert result.log["decision"] == effect.value and result.log["action"]
    if effect is Effect.DENY:
        assert result.decision.reason is Reason.POLICY_DENY


def test_tenant_isolation_path_tenant_is_not_the_claim_tenant():
    """Attack: a reader of acme asks for globex's orders by editing the path."""
    result = run(BOB, "GET", "/tenants/globex/orders/1")
    assert result.decision.effect is Effect.DENY
    assert set(result.log["policies"]) == {"no-cross-tenant-access", "rule:tenant-isolation"}


def test_an_unknown_route_is_denied():
    """Attack: a path the table does not list reaches no policy, and is not allowed by default."""
    result = run(ALICE, "GET", "/tenants/acme/invoices")
    assert result.decision.effect is Effect.DENY
    assert result.decision.reason is Reason.UNKNOWN_ROUTE


def test_no_policy_set_denies_with_why():
    with pytest.raises(UpstreamError):
        run(BOB, "GET", "/tenants/acme/orders", snapshot=None)
    with pytest.raises(ConfigurationError, match="no valid policy set"):
        decide(
            BOB,
            request("GET", "/tenants/acme/orders"),
            snapshot=None,
            unavailable=Unavailable("invalid", Reason.CONFIGURATION),
            table=TABLE,
            shadow=False,
            now=0,
        )


def test_shadow_mode_allows_what_enforce_would_deny_and_says_so():
    result = run(BOB, "POST", "/tenants/acme/orders", shadow=True)
    assert result.decision.effect is Effect.ALLOW and result.shadow_deny
    assert result.log["shadow_decision"] == "Deny" and result.log["mode"] == "shadow"
    allowed = run(BOB, "GET", "/tenants/acme/orders", shadow=True)
    assert allowed.decision.effect is Effect.ALLOW and not allowed.shadow_deny
    unknown = run(BOB, "GET", "/nope", shadow=True)
    assert unknown.decision.effect is Effect.ALLOW and unknown.shadow_deny
    unloaded = run(BOB, "GET", "/tenants/acme/orders", shadow=True, snapshot=None)
    assert unloaded.decision.effect is Effect.ALLOW and unloaded.shadow_deny


def test_an_errored_policy_denies_with_reason_internal():
    table = RouteTable.parse(["GET /x"])
    snapshot = compile_bundle(
        b"version: 1\ncedar: 'permit (principal, action, resource);'\n", table
    )
    force_policies(
        snapshot,
        "permit (principal, action, resource);\n"
        "forbid (principal, action, resource) when { principal.suspended };",
    )
    result = run(BOB, "GET", "/x", snapshot=snapshot, table=table)
    assert result.decision.effect is Effect.DENY and result.decision.reason is Reason.INTERNAL
    assert result.log["errored_policies"] == ["policy1"]


# --- the authorizer cache --------------------------------------------------------------

TENANTS = ["acme", "globex", "initech"]


def replays(table: RouteTable):
    """Concrete requests for every route of a table, over a few parameter values."""
    for route in table.routes:
        names = table.params(route)
        for values in itertools.product(TENANTS, repeat=len(names)):
            path = route.path
            for name, value in zip(names, values, strict=True):
                path = path.replace(f"{{{name}+}}", f"{value}/x").replace(f"{{{name}}}", value)
            yield (route.method if route.method != "ANY" else "GET"), path


def check_replays(who, first, *, snapshot=SNAPSHOT, table=TABLE, complete=True):
    """The answer for ``first``, replayed by API Gateway for every other request with the same
    credential, must never allow what Cedar denies (and, when ``complete``, deny nothing
    Cedar allows)."""
    result = run(who, *first, snapshot=snapshot, table=table)
    policy = render_policy(result.decision.resources)
    for method, path in replays(table):
        cached = evaluate_policy(policy, f"{ARN}/{method}{path}") is PolicyOutcome.ALLOW
        fresh = run(who, method, path, snapshot=snapshot, table=table).decision.effect
        assert not (cached and fresh is Effect.DENY), f"false allow: {method} {path}"
        if complete and result.decision.cache_safe:
            assert cached == (fresh is Effect.ALLOW), f"false deny: {method} {path}"
    return result


@pytest.mark.parametrize("who", [ALICE, BOB, CAROL, user("dave", "admins")])
@pytest.mark.parametrize(
    "first", [("GET", "/tenants/acme/orders"), ("DELETE", "/tenants/globex/orders/3")]
)
def test_cached_answers_are_right_for_every_route(who, first):
    """Attack: the cached-403/cached-allow pitfall: a policy cached for one route replayed
    for another tenant's route."""
    result = check_replays(who, first)
    assert result.decision.cache_safe


def test_a_principal_in_two_tenants_keeps_both():
    both = user("erin", "readers", "tenant-acme", "tenant-globex")
    check_replays(both, ("GET", "/tenants/acme/orders"))


HEADER_BUNDLE = b"""version: 1
principal: {tenant_group_prefix: tenant-}
cedar: |
  permit (principal, action in Gatehouse::Action::"GET", resource)
  when { context.headers has x_channel && context.headers.x_channel == "web" };
"""


def test_a_header_dependent_policy_is_scoped_to_the_request():
    snapshot = compile_bundle(HEADER_BUNDLE, TABLE, headers=["x-channel"])
    result = decide(
        BOB,
        request("GET", "/tenants/acme/orders", headers={"x-channel": "web"}),
        snapshot=snapshot,
        unavailable=NOT_LOADED,
        table=TABLE,
        shadow=False,
        now=0,
        headers=["x-channel"],
    )
    assert result.decision.effect is Effect.ALLOW and not result.decision.cache_safe
    assert result.decision.resources.allow == (f"{ARN}/GET/tenants/acme/orders",)
    denied = run(BOB, "GET", "/tenants/acme/orders", snapshot=snapshot)
    assert denied.decision.effect is Effect.DENY and not denied.decision.cache_safe


OVERLAP_TABLE = RouteTable.parse(["GET /t/{tenant}/o", "GET /t/{proxy+}"])
OVERLAP_BUNDLE = b"""version: 1
principal: {tenant_group_prefix: tenant-}
cedar: |
  permit (principal, action == Gatehouse::Action::"GET /t/{proxy+}", resource);
  permit (principal, action == Gatehouse::Action::"GET /t/{tenant}/o", resource)
  when { context.path has tenant && principal.tenants.contains(context.path.tenant) };
"""


def test_another_routes_wildcard_never_covers_an_unevaluated_tenant():
    """Attack: 'GET/t/*' (from {proxy+}) replayed for 'GET /t/globex/o', which the
    path-bound route denies for this principal: the answer must be scoped instead."""
    snapshot = compile_bundle(OVERLAP_BUNDLE, OVERLAP_TABLE)
    result = check_replays(
        BOB, ("GET", "/t/acme/o"), snapshot=snapshot, table=OVERLAP_TABLE, complete=False
    )
    assert result.decision.effect is Effect.ALLOW and not result.decision.cache_safe


@settings(max_examples=25, deadline=None)
@given(
    groups=st.sets(st.sampled_from(["readers", "admins", "tenant-acme", "tenant-globex"])),
    route=st.sampled_from(DEMO_ROUTES),
    tenant=st.sampled_from(TENANTS),
)
def test_property_no_cached_answer_ever_allows_what_cedar_denies(groups, route, tenant):
    method, path = route.split(" ")
    path = path.replace("{tenant}", tenant).replace("{id}", "5")
    check_replays(user("p", *groups), (method, path))


def test_odd_tenant_names_are_never_spelled_into_a_cached_policy():
    """Attack: a tenant name holding '/' or an escape ('a/b', 'x%2Fy') spelled into an IAM
    resource, where it would name another route's path."""
    odd = user("olga", "readers", "tenant-a/b", "tenant-x%2Fy", "tenant-acme")
    result = check_replays(odd, ("GET", "/tenants/acme/orders"))
    resources = " ".join(result.decision.resources.allow)
    assert "a/b" not in resources and "%2F" not in resources


# --- broad routes, tenant-less principals ------------------------------------------------

ZERO_CELLS_TABLE = RouteTable.parse(["GET /tenants/{tenant}/orders", "GET /{section}/{proxy+}"])
ZERO_CELLS_BUNDLE = b"""version: 1
rules:
  - id: own-tenant
    routes: ["GET /tenants/{tenant}/orders"]
    match_path: {tenant: tenants}
  - id: docs
    routes: ["GET /{section}/{proxy+}"]
"""


def test_a_tenantless_principals_broad_allow_never_reaches_an_unevaluated_route():
    """Attack: mallory (member of no tenant) first calls GET /docs/intro. The tenant route
    was evaluated for no value at all (no candidate, none in the request), so it got no Deny,
    and the docs route's 'GET/*/*' cached Allow reached GET /tenants/acme/orders, which a
    fresh evaluation denies."""
    snapshot = compile_bundle(ZERO_CELLS_BUNDLE, ZERO_CELLS_TABLE)
    mallory = user("mallory")
    first = run(mallory, "GET", "/docs/intro", snapshot=snapshot, table=ZERO_CELLS_TABLE)
    assert first.decision.effect is Effect.ALLOW
    policy = render_policy(first.decision.resources)
    target = f"{ARN}/GET/tenants/acme/orders"
    fresh = run(mallory, "GET", "/tenants/acme/orders", snapshot=snapshot, table=ZERO_CELLS_TABLE)
    assert fresh.decision.effect is Effect.DENY
    assert evaluate_policy(policy, target) is not PolicyOutcome.ALLOW


#: Spellings the route rules refuse, appended to a request's path.
REFUSED_SUFFIXES = ["/..%2F..%2Fglobex", "/a%2fb", "/%2e%2E", "/./x", "/..", "//x"]

#: (route table, bundle, concrete requests that resolve to a route of the table)
BROAD_SCENARIOS = {
    "proxy-after-section": (
        ZERO_CELLS_TABLE,
        ZERO_CELLS_BUNDLE,
        [
            *(("GET", f"/tenants/{t}/orders") for t in ("acme", "globex", "mallory")),
            ("GET", "/docs/intro"),
            ("GET", "/tenants/acme/orders/7"),
            ("GET", "/a/b/c"),
        ],
    ),
    "two-params": (
        RouteTable.parse(
            [
                "GET /{a}/{b}",
                "GET /tenants/{tenant}/orders",
                "GET /tenants/{tenant}/orders/{id}",
                "DELETE /tenants/{tenant}/orders/{id}",
            ]
        ),
        b"""version: 1
principal: {tenant_group_prefix: tenant-}
rules:
  - id: own
    routes: ["GET /tenants/{tenant}/orders", "GET /tenants/{tenant}/orders/{id}"]
    match_path: {tenant: tenants}
  - id: admins-delete-own
    routes: ["DELETE /tenants/{tenant}/orders/{id}"]
    groups: [admins]
    match_path: {tenant: tenants}
  - id: pairs
    routes: ["GET /{a}/{b}"]
    groups: [readers]
""",
        [
            *(("GET", f"/tenants/{t}/orders") for t in ("acme", "globex", "p")),
            *(("GET", f"/tenants/{t}/orders/1") for t in ("acme", "globex")),
            *(("DELETE", f"/tenants/{t}/orders/1") for t in ("acme", "globex")),
            ("GET", "/x/y"),
            ("GET", "/tenants/acme"),
        ],
    ),
    "groups-as-tenants": (
        RouteTable.parse(["GET /t/{tenant}/items", "GET /t/{tenant}/items/{id}", "GET /{proxy+}"]),
        b"""version: 1
rules:
  - id: own
    routes: ["GET /t/{tenant}/items", "GET /t/{tenant}/items/{id}"]
    match_path: {tenant: groups}
  - id: any
    routes: ["GET /{proxy+}"]
    groups: [admins]
""",
        [
            *(("GET", f"/t/{t}/items") for t in ("acme", "globex", "admins", "p")),
            *(("GET", f"/t/{t}/items/1") for t in ("acme", "globex")),
            ("GET", "/t/acme/items/1/2"),
            ("GET", "/other"),
        ],
    ),
    "id-equality-and-any": (
        RouteTable.parse(
            [
                "GET /users/{user}/profile",
                "GET /users/{user}/{proxy+}",
                "ANY /files/{proxy+}",
                "GET /files/public",
            ]
        ),
        b"""version: 1
cedar: |
  permit (principal, action == Gatehouse::Action::"GET /users/{user}/profile", resource)
  when { context.path.user == principal.id };
  permit (principal, action == Gatehouse::Action::"GET /users/{user}/{proxy+}", resource)
  when { principal.groups.contains("admins") };
  permit (principal, action == Gatehouse::Action::"ANY /files/{proxy+}", resource)
  when { principal.groups.contains("readers") };
  forbid (principal, action == Gatehouse::Action::"ANY /files/{proxy+}", resource)
  when { context.path.proxy like "secret*" };
  permit (principal, action == Gatehouse::Action::"GET /files/public", resource);
""",
        [
            *(("GET", f"/users/{u}/profile") for u in ("p", "acme", "globex")),
            ("GET", "/users/p/x/y"),
            *((m, f"/files/{f}") for m in ("GET", "POST") for f in ("a", "secret1", "a/b")),
            ("GET", "/files/public"),
        ],
    ),
}
_BROAD_SNAPSHOTS = {
    name: compile_bundle(bundle, table) for name, (table, bundle, _) in BROAD_SCENARIOS.items()
}


@settings(max_examples=60, deadline=None)
@given(
    scenario=st.sampled_from(sorted(BROAD_SCENARIOS)),
    groups=st.sets(
        st.sampled_from(["readers", "admins", "tenant-acme", "tenant-globex", "acme"]), max_size=3
    ),
    name=st.sampled_from(["p", "acme"]),
    first=st.integers(min_value=0),
)
def test_property_broad_routes_never_replay_a_false_allow(scenario, groups, name, first):
    """Cache safety over tables with '{proxy+}' and '/{a}/{b}' routes, and principals with no
    tenant at all: the answer for any first request, replayed by API Gateway for every other
    request with the same credential, never allows what a fresh evaluation denies."""
    table, _bundle, requests = BROAD_SCENARIOS[scenario]
    snapshot = _BROAD_SNAPSHOTS[scenario]
    who = user(name, *groups)
    method, path = requests[first % len(requests)]
    answer = run(who, method, path, snapshot=snapshot, table=table)
    policy = render_policy(answer.decision.resources)
    for method2, path2 in requests:
        fresh = run(who, method2, path2, snapshot=snapshot, table=table)
        assert fresh.decision.reason is not Reason.UNKNOWN_ROUTE, (method2, path2)
        cached = evaluate_policy(policy, f"{ARN}/{method2}{path2}") is PolicyOutcome.ALLOW
        assert not (cached and fresh.decision.effect is Effect.DENY), (
            f"{who.id} {sorted(groups)}: {method} {path} cached -> allows {method2} {path2}"
        )
        # ... and what the route rules refuse, spelled under the same path, stays refused.
        for suffix in REFUSED_SUFFIXES:
            odd = path2.rstrip("/") + suffix
            assert evaluate_policy(policy, f"{ARN}/{method2}{odd}") is not PolicyOutcome.ALLOW, (
                f"{who.id}: {method} {path} cached -> allows {method2} {odd}"
            )


# --- what the route rules refuse stays refused in a cached answer ------------------------

#: Requests the normalization rules refuse (docs/policies.md), under alice's allowed prefix.
REFUSED_REPLAYS = [
    "/tenants/acme/orders/..%2F..%2Fglobex",
    "/tenants/acme/orders/a%2Fb",
    "/tenants/acme/orders/a%2fb",
    "/tenants/acme/orders/..",
    "/tenants/acme/orders/.",
    "/tenants/acme/orders/%2e%2e",
    "/tenants/acme/orders/%2E.",
    "/tenants/acme/orders/%2e",
    "/tenants/acme/orders/../../globex/orders",
    "/tenants/acme/orders/./7",
    "/tenants/acme/orders//",
    "/tenants/acme/orders/a//b",
]


@pytest.mark.parametrize("path", REFUSED_REPLAYS)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_cached_allow_never_covers_an_encoded_slash_or_dot_segment(method, path):
    """Attack: after alice's GET /tenants/acme/orders, API Gateway replays her cached
    'GET/tenants/acme/orders/*' for '..%2F..%2Fglobex', 'a%2Fb', '%2e%2e' or '//': IAM's '*'
    crosses '/', while a fresh evaluation refuses them (UnknownRoute). The cached answer must
    carry an explicit Deny for each."""
    answer = run(ALICE, "GET", "/tenants/acme/orders")
    assert answer.decision.cache_safe
    fresh = run(ALICE, method, path)
    assert fresh.decision.reason is Reason.UNKNOWN_ROUTE
    policy = render_policy(answer.decision.resources)
    assert evaluate_policy(policy, f"{ARN}/{method}{path}") is PolicyOutcome.EXPLICIT_DENY


_SEGMENTS = st.sampled_from(
    [
        "a",
        "acme",
        "7",
        ".",
        "..",
        "...",
        ".a",
        "a.",
        "%2e",
        "%2E%2e",
        "%2e.",
        "%2f",
        "%2F",
        "a%2Fb",
        "%41",
        "%25",
        "%252F",
        "%zz",
        "%",
        "~",
        "a:b",
        "%20",
        "%2D",
        "",
    ]
)
_WIDE_TABLE = RouteTable.parse(
    ["ANY /{proxy+}", "GET /tenants/{tenant}/orders", "GET /a.b/{id}", "GET /"]
)


def _refused_only_policy() -> dict:
    from authorizers.policy.routes import REFUSED_PATH_GLOBS

    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{ARN}/*/*"},
            {
                "Effect": "Deny",
                "Action": "execute-api:Invoke",
                "Resource": [f"{ARN}/{glob}" for glob in REFUSED_PATH_GLOBS],
            },
        ],
    }


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    parts=st.lists(_SEGMENTS, min_size=0, max_size=4),
    trailing=st.booleans(),
)
def test_property_the_refused_path_denies_match_exactly_what_the_rules_refuse(
    method, parts, trailing
):
    """The explicit Denies never deny a request the route table resolves (they would turn a
    legitimate call into a cached 403), and every request they deny is one the rules refuse."""
    path = "/" + "/".join(parts) + ("/" if trailing and parts else "")
    try:
        req = request(method, path)
    except InvalidRequestError:  # the ARN parser refuses it: it never reaches a policy
        return
    resolved = _WIDE_TABLE.resolve(req) is not None
    outcome = evaluate_policy(_refused_only_policy(), req.arn.arn)
    if resolved:
        assert outcome is PolicyOutcome.ALLOW, f"a resolvable request is denied: {path}"
    if outcome is PolicyOutcome.EXPLICIT_DENY:
        assert not resolved


def test_a_static_exact_allow_needs_no_refused_path_denies():
    table = RouteTable.parse(["GET /health", "GET /admin"])
    snapshot = compile_bundle(
        b'version: 1\ncedar: \'permit (principal, action == Gatehouse::Action::"GET /health",'
        b" resource);'\n",
        table,
    )
    answer = run(BOB, "GET", "/health", snapshot=snapshot, table=table)
    assert answer.decision.cache_safe and answer.decision.resources.deny == ()


def test_refused_path_denies_that_do_not_fit_scope_the_answer():
    """Near the response size cap the explicit Denies would not fit: the answer names this
    request only rather than dropping them."""
    routes = [f"GET /r{i:03d}/{{id}}" for i in range(70)]
    table = RouteTable.parse(routes)
    snapshot = compile_bundle(
        b'version: 1\ncedar: \'permit (principal, action in Gatehouse::Action::"GET",'
        b" resource);'\n",
        table,
    )
    answer = run(BOB, "GET", "/r001/7", snapshot=snapshot, table=table)
    assert answer.decision.effect is Effect.ALLOW and not answer.decision.cache_safe
    assert answer.decision.resources.allow == (f"{ARN}/GET/r001/7",)


@pytest.mark.parametrize(
    ("who", "method", "path", "effect"),
    [
        (BOB, "GET", "/tenants/acme/orders", Effect.ALLOW),
        (BOB, "POST", "/tenants/acme/orders", Effect.DENY),
    ],
)
def test_a_stage_wide_policy_that_contradicts_cedar_here_is_scoped_to_the_request(
    who, method, path, effect, monkeypatch
):
    """Attack: a cached answer whose policy disagrees with Cedar on the very request it was
    computed for (an Allow policy that denies it, or the reverse) would be replayed for the
    whole stage. The answer is then scoped to this request, with Cedar's effect."""
    elsewhere = PolicyResources(allow=(f"{ARN}/GET/somewhere/else",))
    everything = PolicyResources(allow=(f"{ARN}/*/*",))
    wrong = elsewhere if effect is Effect.ALLOW else everything
    monkeypatch.setattr(decide_module, "cache_safe_resources", lambda *_a, **_k: wrong)
    answer = run(who, method, path)
    assert answer.decision.effect is effect and not answer.decision.cache_safe
    assert answer.log["cache_safe"] is False
    if effect is Effect.ALLOW:
        assert answer.decision.resources.allow == (f"{ARN}/{method}{path}",)
    else:
        assert answer.decision.resources.allow == ()


# --- ANY routes and context.method -------------------------------------------------------

ANY_TABLE = RouteTable.parse(["ANY /files/{proxy+}", "GET /files/public"])
ANY_BUNDLE = b"""version: 1
cedar: |
  @id("readers-read-files")
  permit (principal in Gatehouse::Group::"readers",
          action == Gatehouse::Action::"ANY /files/{proxy+}", resource)
  when { context.method == "GET" || context.method == "HEAD" };
  @id("writers-everything")
  permit (principal in Gatehouse::Group::"writers",
          action == Gatehouse::Action::"ANY /files/{proxy+}", resource);
  @id("public")
  permit (principal, action == Gatehouse::Action::"GET /files/public", resource);
"""
ANY_REPLAYS = [
    (method, path)
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    for path in ("/files/a", "/files/a/b", "/files/public")
]


@pytest.mark.parametrize("groups", [("readers",), ("writers",), ()])
@pytest.mark.parametrize("first", [("GET", "/files/a"), ("DELETE", "/files/a")])
def test_an_any_route_is_restricted_by_method(groups, first):
    """Attack: a read-only principal writes (POST/DELETE) through an 'ANY /files/{proxy+}'
    route: its action is the ANY template, so without context.method a policy could not tell
    a GET from a DELETE. Fresh and cached answers both allow reads only."""
    snapshot = compile_bundle(ANY_BUNDLE, ANY_TABLE, require_cacheable=True)
    who = user("p", *groups)
    answer = run(who, *first, snapshot=snapshot, table=ANY_TABLE)
    if groups:
        assert answer.decision.cache_safe  # one cell per method, not a per-request answer
    policy = render_policy(answer.decision.resources)
    for method, path in ANY_REPLAYS:
        fresh = run(who, method, path, snapshot=snapshot, table=ANY_TABLE).decision.effect
        cached = evaluate_policy(policy, f"{ARN}/{method}{path}") is PolicyOutcome.ALLOW
        assert not (cached and fresh is Effect.DENY), (method, path)
        if answer.decision.cache_safe:
            assert cached == (fresh is Effect.ALLOW), (method, path)
        if groups == ("readers",) and method not in ("GET", "HEAD") and path != "/files/public":
            assert fresh is Effect.DENY
