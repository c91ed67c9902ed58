"""Cedar policy authorizer: authenticate with JWT, API key or mTLS, then ask a Cedar policy set.

Pure modules: ``routes`` (route table and normalization), ``model`` (the Cedar schema,
entities and context we ship), ``bundle`` (the policy document and YAML route rules compiled
to Cedar), ``analysis`` (what each route's decision depends on, for the authorizer cache),
``engine`` (validated, pre-parsed policy set; fail-closed evaluation; cache-safe enumeration)
and ``decide`` (identity + request -> Decision). IO: ``source`` (file, S3, SSM) and ``store``
(refresh with last-known-good). ``authenticate`` reuses the other authorizers as
authenticators, ``config`` reads the settings, ``authorizer`` assembles the parts and
``handler`` is the Lambda entry point. docs/policies.md teaches the model.
"""
