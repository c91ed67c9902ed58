"""The walkthrough: curl commands with real tokens, keys and certificates, and what each
returns. ``gatehouse local`` prints it; ``--smoke`` runs it over real sockets and reports every
surprise.
"""

from __future__ import annotations

import http.client
import shlex
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from gatehouse.emulator.gateway import AUTHORIZER_HEADER
from gatehouse.localmode.pki import DEVICE, REVOKED_DEVICE, STRANGER, TENANT
from gatehouse.localmode.stack import Stack

CORS_ORIGIN_HEADER: Final = "Access-Control-Allow-Origin"


@dataclass(frozen=True, slots=True)
class Step:
    """One request and the status it must get.

    ``headers`` values may name variables (``$BOB``) that :class:`Walkthrough` resolves.
    ``repeat``: send up to this many times and expect ``expect`` at least once (throttling).
    ``expect_header``: a response header that must contain a value.
    """

    section: str
    title: str
    method: str
    path: str
    expect: int
    headers: tuple[tuple[str, str], ...] = ()
    tls: bool = False
    cert: str | None = None  # name of a client certificate in the PKI directory
    repeat: int = 1
    expect_header: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Result:
    step: Step
    status: int | None
    error: str | None = None
    header_ok: bool = True

    @property
    def ok(self) -> bool:
        return self.status == self.step.expect and self.header_ok


@dataclass(frozen=True)
class Walkthrough:
    steps: tuple[Step, ...]
    variables: Mapping[str, str] = field(repr=False)
    http_url: str = ""
    https_url: str = ""
    pki_dir: Path = Path()

    # -- printing ---------------------------------------------------------------------------

    def exports(self) -> list[str]:
        return [f"export {name}={shlex.quote(value)}" for name, value in self.variables.items()]

    def curl(self, step: Step) -> str:
        parts = ["curl", "-s"]
        if step.expect_header is not None:
            parts.append("-i")  # the header is the point of the step: show it
        if step.tls:
            parts += ["--cacert", "$PKI/ca.pem"]
            if step.cert:
                parts += ["--cert", f"$PKI/{step.cert}.pem", "--key", f"$PKI/{step.cert}.key"]
        if step.method != "GET":
            parts += ["-X", step.method]
        for name, value in step.headers:
            parts += ["-H", f'"{name}: {value}"']
        base = "$GWS" if step.tls else "$GW"
        if step.repeat > 1:
            parts += ["-o", "/dev/null", "-w", "'%{http_code} '", f'"{base}{step.path}"']
            return f"for i in $(seq {step.repeat}); do {' '.join(parts)}; done; echo"
        parts += ["-w", "'  -> %{http_code}\\n'", f'"{base}{step.path}"']
        return " ".join(parts)

    def render(self) -> str:
        lines = ["# Copy these into a shell, then try the requests below.", *self.exports(), ""]
        section = None
        for step in self.steps:
            if step.section != section:
                section = step.section
                lines += ["", f"# --- {section} ---"]
            expect = f"{step.expect}" if step.repeat == 1 else f"{step.expect} within {step.repeat}"
            lines += [f"# {step.title}: expect {expect}", self.curl(step)]
        return "\n".join(lines) + "\n"

    # -- running ----------------------------------------------------------------------------

    def run(self) -> list[Result]:
        return [self._run(step) for step in self.steps]

    def _run(self, step: Step) -> Result:
        status: int | None = None
        header_ok = step.expect_header is None
        try:
            for _ in range(step.repeat):
                status, headers = self._send(step)
                if step.expect_header is not None:
                    name, value = step.expect_header
                    header_ok = value in headers.get(name.lower(), "")
                if status == step.expect:
                    break
        except (OSError, http.client.HTTPException) as error:
            return Result(step, status, error=f"{type(error).__name__}: {error}")
        return Result(step, status, header_ok=header_ok)

    def _send(self, step: Step) -> tuple[int, dict[str, str]]:
        headers = {name: self._resolve(value) for name, value in step.headers}
        url = self.https_url if step.tls else self.http_url
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        connection: http.client.HTTPConnection
        if step.tls:
            context = ssl.create_default_context(cafile=str(self.pki_dir / "ca.pem"))
            if step.cert:
                context.load_cert_chain(
                    self.pki_dir / f"{step.cert}.pem", self.pki_dir / f"{step.cert}.key"
                )
            connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=30)
        else:
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request(step.method, step.path, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()

    def _resolve(self, value: str) -> str:
        for name, secret in self.variables.items():
            value = value.replace(f"${name}", secret)
        return value


def _bearer(user: str) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer ${user.upper()}"),)


def _key(tenant: str) -> tuple[tuple[str, str], ...]:
    return (("x-api-key", f"${tenant.upper()}_KEY"),)


def steps_for(
    *,
    policy_available: bool,
    cors_origin: str | None,
    throttle_burst: int,
    jwt_cached: bool = True,
) -> tuple[Step, ...]:
    """The walkthrough of the demo API, with the statuses the stage's settings give.

    ``jwt_cached``: with a TTL of 0 the admin-route 403 comes from an invoke, not the cache.
    """
    jwt = "JWT (Cognito access token; TOKEN authorizer, result cached by token)"
    keys = "API keys (REQUEST authorizer on x-api-key; usage plans, apiKeySource AUTHORIZER)"
    mtls = "mTLS (HTTPS with client certificates; the authorizer checks the CRL)"
    policy = "Cedar policy (JWT identity, tenant and role rules)"
    device = f"/devices/{DEVICE}/telemetry"
    allowed = 200 if policy_available else 500
    denied = 403 if policy_available else 500
    steps: list[Step] = [
        Step("Open", "health check, no authorizer", "GET", "/health", 200),
        Step(
            jwt,
            "no token: refused before the authorizer runs",
            "GET",
            "/profile",
            401,
            expect_header=(AUTHORIZER_HEADER, "cache=skipped"),
        ),
        Step(
            jwt,
            "not a Bearer token: fails the validation regex, no invoke",
            "GET",
            "/profile",
            401,
            headers=(("Authorization", "Basic Ym9iOnNlY3JldA=="),),
        ),
        Step(
            jwt,
            "garbled token: the authorizer says Unauthorized (WWW-Authenticate: Bearer)",
            "GET",
            "/profile",
            401,
            headers=(("Authorization", "Bearer not.a.jwt"),),
            expect_header=("WWW-Authenticate", "Bearer"),
        ),
        Step(jwt, "bob, any valid token", "GET", "/profile", 200, headers=_bearer("bob")),
        Step(
            jwt,
            "bob is not in admins: 403 from the cached policy, no invoke",
            "GET",
            "/admin/reports",
            403,
            headers=_bearer("bob"),
            expect_header=(AUTHORIZER_HEADER, "cache=hit" if jwt_cached else "cache=miss"),
        ),
        Step(jwt, "alice (admins)", "GET", "/admin/reports", 200, headers=_bearer("alice")),
    ]
    if cors_origin is not None:
        steps.append(
            Step(
                jwt,
                "the gateway response carries CORS headers for the stage origin",
                "GET",
                "/profile",
                401,
                headers=(("Origin", cors_origin),),
                expect_header=(CORS_ORIGIN_HEADER, cors_origin),
            )
        )
    steps += [
        Step(keys, "no key: 401 before the authorizer runs", "GET", "/reports", 401),
        Step(keys, "malformed key: 401, no lookup", "GET", "/reports", 401,
             headers=(("x-api-key", "gk_live_not-a-real-key"),)),
        Step(keys, "acme (basic plan, reports:read)", "GET", "/reports", 200, headers=_key("acme")),
        Step(keys, "acme lacks reports:write: 403", "POST", "/reports", 403, headers=_key("acme")),
        Step(keys, "globex (premium plan, reports:read+write)", "POST", "/reports", 200,
             headers=_key("globex")),
        Step(keys, f"acme past its plan's burst ({throttle_burst}): 429", "GET", "/reports", 429,
             headers=_key("acme"), repeat=throttle_burst + 10),
        Step(mtls, f"{DEVICE} of tenant {TENANT}", "GET", device, 200, tls=True, cert=DEVICE),
        Step(mtls, f"{REVOKED_DEVICE}: on the CRL, refused", "GET",
             f"/devices/{REVOKED_DEVICE}/telemetry", 401, tls=True, cert=REVOKED_DEVICE),
        Step(mtls, "a certificate no mapping rule knows: authenticated, denied", "GET", device,
             403, tls=True, cert=STRANGER),
        Step(mtls, "no client certificate", "GET", device, 401, tls=True),
        Step(policy, "no token", "GET", "/tenants/acme/orders", 401),
        Step(policy, "bob reads his tenant's orders", "GET", "/tenants/acme/orders", allowed,
             headers=_bearer("bob")),
        Step(policy, "bob reads another tenant's orders", "GET", "/tenants/globex/orders", denied,
             headers=_bearer("bob")),
        Step(policy, "bob (reader) creates an order", "POST", "/tenants/acme/orders", denied,
             headers=_bearer("bob")),
        Step(policy, "alice (admin) creates an order", "POST", "/tenants/acme/orders", allowed,
             headers=_bearer("alice")),
        Step(policy, "alice (admin) deletes an order", "DELETE", "/tenants/acme/orders/7", allowed,
             headers=_bearer("alice")),
        Step(policy, "carol reads a globex order", "GET", "/tenants/globex/orders/7", allowed,
             headers=_bearer("carol")),
        Step(policy, "carol reads an acme order", "GET", "/tenants/acme/orders/7", denied,
             headers=_bearer("carol")),
    ]  # fmt: skip
    return tuple(steps)


def walkthrough(stack: Stack) -> Walkthrough:
    settings = stack.model.settings
    variables: dict[str, str] = {
        "GW": stack.http.url,
        "GWS": stack.https.url,
        "PKI": str(stack.pki.ca.parent),
    }
    for user, token in stack.seeded.tokens.items():
        variables[user.upper()] = token
    for tenant, key in stack.seeded.keys.items():
        variables[f"{tenant.upper()}_KEY"] = key.secret
    plans: Sequence[object] = settings.usage_plans
    burst = int(getattr(plans[0], "burst_limit", 10)) if plans else 10
    origins = settings.cors_allow_origins
    return Walkthrough(
        steps=steps_for(
            policy_available="policy" not in stack.init_failures,
            cors_origin=next((o for o in origins if o != "*"), None),
            throttle_burst=burst,
            jwt_cached=stack.model.authorizers["jwt"].cache_ttl_seconds > 0,
        ),
        variables=variables,
        http_url=stack.http.url,
        https_url=stack.https.url,
        pki_dir=stack.pki.ca.parent,
    )
