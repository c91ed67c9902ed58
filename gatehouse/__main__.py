"""``python -m gatehouse`` is the ``gatehouse`` command."""

from gatehouse._launcher import main

main()
