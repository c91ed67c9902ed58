"""Build the Gatehouse Lambda layer in this repository (the Makefile's entry point).

The build itself is :mod:`gatehouse.layer_build` (it ships in the wheel, so users run the same
build as ``gatehouse layer build``); this script only sets this repository's defaults: output
under ``layers/build/<arch>`` (``layers/build/host`` with ``--host``), messages prefixed
``build.py:``, and the checkout's own ``gatehouse`` and ``authorizers`` on ``sys.path``::

    python layers/build.py                           # arm64, python3.14 -> layers/build/arm64
    python layers/build.py --arch x86_64 --zip dist/layer-x86_64.zip
    python layers/build.py --host --out layers/build/host   # this machine; what tests/layer imports

The pinned requirements are ``layers/requirements.txt`` (``gatehouse/layer-requirements.txt``
links to it, and the wheel carries it); the ``authorizers`` package is copied from the checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
# The checkout first, whatever else is installed: the layer holds this tree's authorizers.
sys.path.insert(0, str(ROOT))

from gatehouse.layer_build import main  # noqa: E402 - after the sys.path line above

if __name__ == "__main__":
    sys.exit(
        main(
            prog="build.py",
            out_root=ROOT / "layers" / "build",
            protect=(ROOT, ROOT / "layers", ROOT / "layers" / "build"),
        )
    )
