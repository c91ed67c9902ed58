"""Gatehouse: Lambda authorizers for Amazon API Gateway, and the toolkit around them.

The runtime is the top-level package ``authorizers`` (what the Lambda layer holds; the handler
paths ``authorizers.<kind>.handler.lambda_handler`` are resolved from the layer). This package
is the toolkit: the ``gatehouse`` CLI, the local gateway and, as they land, the public
surfaces ``gatehouse.cdk`` and ``gatehouse.testing``. It is never shipped in the layer;
``authorizers`` never imports it.

The wheel installs both top-level names. ``authorizers`` is a generic name, so importing this
package checks that the ``authorizers`` Python finds is ours: a package of the same name in a
user's repository would otherwise shadow the runtime silently (docs/packaging.md).
"""

from __future__ import annotations

import authorizers as _runtime

if getattr(_runtime, "__distribution__", None) != "gatehouse":
    raise ImportError(
        f"the package 'authorizers' found at {getattr(_runtime, '__file__', None) or '?'} is "
        "not Gatehouse's runtime: a package of that name earlier on sys.path shadows it. "
        "Rename yours, or keep its directory off sys.path (docs/packaging.md)."
    )

__version__: str = _runtime.__version__
__all__ = ["__version__"]
