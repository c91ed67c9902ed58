"""``python -m bench [--rounds N] [--only GROUP]``: run every benchmark, print the table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import (
    api_key_bench,
    cold_bench,
    core_bench,
    harness,
    jwt_bench,
    mtls_bench,
    policy_bench,
)

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="rounds per row (default 7)")
    parser.add_argument("--only", help="run only groups whose name contains this text")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results")
    args = parser.parse_args(argv)
    core_bench.register()
    jwt_bench.register()
    jwt_bench.register_dpop()
    mtls_bench.register()
    api_key_bench.register()
    policy_bench.register()
    cold_bench.register()
    rows = harness.run(rounds=args.rounds, only=args.only)
    if not rows:
        print("no benchmark matched", file=sys.stderr)
        return 2
    text = harness.table(rows)
    if args.only is None or "memory" in args.only.lower():
        text += "\n\n" + cold_bench.memory_table()
    print(text)
    if not args.no_write:
        path = harness.write(rows, text, RESULTS)
        print(f"\nwritten: {RESULTS / 'latest.md'} and {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
