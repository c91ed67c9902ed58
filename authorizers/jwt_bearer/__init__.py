"""JWT/JWKS authorizer: Amazon Cognito user pools and any OIDC issuer.

Pure modules: ``token`` (strict parse, Bearer header), ``keys`` (JWK -> typed verification
keys), ``issuers`` (trusted issuer profiles), ``claims`` (claim rules), ``verifier`` (signature
+ claims, keys injected), ``routes`` (route rules) and ``decide`` (verified token + request ->
Decision). IO: ``fetch`` (HTTPS JSON), ``jwks`` (the JWKS cache), ``revocation`` (optional
DynamoDB denylist). ``config`` reads the settings, ``authorizer`` assembles the parts and
``handler`` is the Lambda entry point.
"""
