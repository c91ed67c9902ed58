"""Gatehouse authorizers: Lambda authorizers for Amazon API Gateway.

This package is what the Lambda layer ships. It never imports ``aws_cdk``, ``cdk_app`` or the
``gatehouse`` operator toolkit, and ``authorizers.core`` never imports boto3.
"""
