"""Gatehouse operator toolkit: the ``gatehouse`` CLI. Never shipped in the Lambda layer.

``authorizers`` never imports this package; this package imports ``authorizers`` (the key
format and the record schema) so that what it writes is exactly what the authorizers read.
"""
