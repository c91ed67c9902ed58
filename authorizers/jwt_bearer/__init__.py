"""JWT/JWKS authorizer: Amazon Cognito user pools and any OIDC issuer.

Modules: ``token`` (strict parse), ``keys`` (JWK -> typed verification keys), ``claims`` (claim
rules, pure), ``verifier`` (signature + claims, keys injected), ``jwks`` and ``fetch`` (the IO:
JWKS cache and HTTPS fetches), ``config`` (settings), ``routes`` (route rules) and ``decide``
(verified token + request -> Decision, pure), ``revocation`` (optional DynamoDB denylist) and
``handler`` (the Lambda entry point).
"""
