"""mTLS client-certificate authorizer: the checks API Gateway does not do.

Pure modules: ``certificate`` (PEM -> inspected facts, issuer checked by signature against the
configured CAs), ``crl`` (CRL parse, signature check, serial lookup), ``rules`` (certificate ->
principal and tenant) and ``decide`` (facts + mapping -> Decision). IO: ``crl_store`` (CRLs
from S3 with conditional GETs). ``config`` reads the settings, ``authorizer`` assembles the
parts and ``handler`` is the Lambda entry point. See docs/mtls.md.
"""
