"""Reusable constructs, one capability per file.

Not named ``constructs/``: that would shadow the ``constructs`` package whenever ``cdk_app/``
is on ``sys.path``.
"""
