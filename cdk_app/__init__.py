"""Gatehouse infrastructure: the AWS CDK app that deploys the authorizers.

``app.py`` calls :func:`cdk_app.app_builder.build_app`, which reads the stage settings from the
``gatehouse`` context block of ``cdk.json`` (:mod:`cdk_app.config`) and creates one
:class:`cdk_app.stage.GatehouseStage` per environment. Nothing here calls AWS or reads
environment variables; handlers are referenced by their dotted names only
(:mod:`cdk_app.constants`).
"""
