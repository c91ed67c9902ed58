"""Gatehouse authorizers: Lambda authorizers for Amazon API Gateway.

This package is what the Lambda layer ships. It never imports ``aws_cdk``, ``cdk_app`` or the
``gatehouse`` operator toolkit, and ``authorizers.core`` never imports boto3.
"""

#: The one version of the ``gatehouse`` distribution (pyproject.toml reads it from here), also
#: carried by the layer, so a deployed function can tell which runtime it has.
__version__ = "0.2.0"
#: Marks this package as Gatehouse's runtime: ``import gatehouse`` refuses another package
#: named ``authorizers`` that would shadow it (docs/packaging.md).
__distribution__ = "gatehouse"
