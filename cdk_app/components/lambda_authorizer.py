"""An API Gateway Lambda authorizer rendered from an :class:`AuthorizerModel`.

TOKEN: the one identity source is the token header, with the model's validation regex (a
header that does not match is a 401 without invoking the function). REQUEST: the identity
sources are the cache key; an uncached authorizer with no identity source (mTLS: the client
certificate cannot be a cache key) leaves ``IdentitySource`` out instead of sending "".
"""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from gatehouse.api_model import AuthorizerModel


def lambda_authorizer(
    scope: Construct, id: str, *, model: AuthorizerModel, handler: lambda_.IFunction, name: str
) -> apigw.IAuthorizer:
    """The TOKEN or REQUEST authorizer ``model`` describes, invoking ``handler``."""
    ttl = cdk.Duration.seconds(model.cache_ttl_seconds)
    if model.type == "TOKEN":
        return apigw.TokenAuthorizer(
            scope,
            id,
            authorizer_name=name,
            handler=handler,
            identity_source=model.identity_sources[0],
            validation_regex=model.validation_regex,
            results_cache_ttl=ttl,
        )
    authorizer = apigw.RequestAuthorizer(
        scope,
        id,
        authorizer_name=name,
        handler=handler,
        identity_sources=list(model.identity_sources),
        results_cache_ttl=ttl,
    )
    if not model.identity_sources:
        resource = cast("apigw.CfnAuthorizer", authorizer.node.default_child)
        resource.add_property_deletion_override("IdentitySource")
    return authorizer
