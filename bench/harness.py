"""A tiny benchmark harness: named rows in groups, each group with one anchor row.

Every row runs in the same process run, interleaved round by round so machine noise hits all
rows of a group alike: each round runs one block of every row, rows measured outside this
process (Node, fresh interpreters) included, in registration order. A row's figure is the
median of its block medians over the rounds. Ratios are against the group's anchor
(``anchor=True``): the library or approach we compare ourselves to.

Handler rows time the real entry point, ``lambda_handler(event, context)``, with
:data:`CONTEXT` (what the Lambda runtime passes; building it is the runtime's cost, not ours).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    group: str
    name: str
    func: Callable[[], object] | None
    anchor: bool = False
    target_us: float | None = None
    #: Target: at most this many times the anchor's median.
    target_ratio: float | None = None
    #: Target: at least ``factor`` times faster than the row named ``name`` in the group.
    faster_than: tuple[str, float] | None = None
    #: For rows measured outside this process (Node, fresh interpreters): one block -> µs/op.
    external: Callable[[], float] | None = None
    samples_us: list[float] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_us)


_ROWS: list[Row] = []


def bench(
    group: str,
    name: str,
    *,
    anchor: bool = False,
    target_us: float | None = None,
    target_ratio: float | None = None,
    faster_than: tuple[str, float] | None = None,
) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register ``func`` (no arguments, one operation per call) as a row of ``group``."""

    def register(func: Callable[[], object]) -> Callable[[], object]:
        _ROWS.append(
            Row(group, name, func, anchor, target_us, target_ratio, faster_than=faster_than)
        )
        return func

    return register


def bench_external(
    group: str,
    name: str,
    *,
    run: Callable[[], float],
    anchor: bool = False,
    target_ratio: float | None = None,
) -> None:
    """Register a row measured by ``run()``: one block, its µs/op (a block median)."""
    _ROWS.append(Row(group, name, None, anchor, target_ratio=target_ratio, external=run))


class BenchContext:
    """The Lambda context a handler row passes: a constant remaining time, so a reused context
    never runs out (the runtime makes a fresh one per invocation, at its own cost)."""

    function_name = "gatehouse-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:gatehouse-bench"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/gatehouse-bench"
    log_stream_name = "2026/01/01/[$LATEST]bench"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


CONTEXT = BenchContext()


def _calibrate(func: Callable[[], object], budget_s: float) -> int:
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            func()
        if time.perf_counter() - start >= budget_s or loops >= 1 << 22:
            return loops
        loops *= 2


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send what rows print (stdout: EMF metrics; the Powertools Logger's lines) to devnull.

    The Logger's handler holds the stream it was built with, so ``redirect_stdout`` alone would
    leave log lines on the terminal: it is pointed at the sink as well.
    """
    from authorizers.core.observability import logger

    handler = logger.registered_handler
    with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):
        previous = handler.setStream(sink)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            handler.setStream(previous)  # type: ignore[attr-defined]


def run(rounds: int = 7, budget_s: float = 0.05, only: str | None = None) -> list[Row]:
    """Measure every row; what rows print goes to devnull (:func:`quiet`)."""
    with quiet():
        return _run(rounds, budget_s, only)


def _run(rounds: int, budget_s: float, only: str | None) -> list[Row]:
    rows = [r for r in _ROWS if only is None or only in r.group]
    loops = {id(r): _calibrate(r.func, budget_s) for r in rows if r.func is not None}
    for _ in range(rounds):
        for row in rows:  # one block of each row per round, external rows in their place
            if row.external is not None:
                row.samples_us.append(row.external())
                continue
            assert row.func is not None
            n = loops[id(row)]
            start = time.perf_counter()
            for _ in range(n):
                row.func()
            row.samples_us.append((time.perf_counter() - start) / n * 1e6)
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| group | row | median µs/op | vs anchor | target |",
        "|---|---|---:|---:|---|",
    ]
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    for group, members in groups.items():
        anchor = next((r for r in members if r.anchor), None)
        for row in members:
            ratio = "anchor" if row.anchor else "-"
            if anchor is not None and not row.anchor:
                ratio = f"{row.median_us / anchor.median_us:.2f}x"
            target = _targets(row, anchor, members)
            lines.append(f"| {group} | {row.name} | {row.median_us:.2f} | {ratio} | {target} |")
    return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _targets(row: Row, anchor: Row | None, members: list[Row]) -> str:
    notes = []
    if row.target_us is not None:
        notes.append(f"≤ {row.target_us:g} µs: {_verdict(row.median_us <= row.target_us)}")
    if row.target_ratio is not None and anchor is not None:
        ok = row.median_us <= row.target_ratio * anchor.median_us
        notes.append(f"≤ {row.target_ratio:g}x anchor: {_verdict(ok)}")
    if row.faster_than is not None:
        name, factor = row.faster_than
        other = next((r for r in members if r.name == name), None)
        if other is not None:
            speedup = other.median_us / row.median_us
            ok = speedup >= factor
            notes.append(f"{speedup:.2f}x faster than {name} (≥ {factor:g}x): {_verdict(ok)}")
    return "; ".join(notes)


def write(rows: list[Row], text: str, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.machine()}, Python {platform.python_version()}, {platform.system()}"
    (directory / "latest.md").write_text(
        f"# Benchmark results\n\nMachine: {machine}. Regenerate: `make bench`.\n"
        "Ratios compare rows of one group measured in the same run.\n\n" + text + "\n"
    )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = directory / f"{stamp}.json"
    payload = {
        "machine": machine,
        "python": sys.version,
        "rows": [
            {
                "group": r.group,
                "name": r.name,
                "anchor": r.anchor,
                "median_us": r.median_us,
                "samples_us": r.samples_us,
                "target_us": r.target_us,
            }
            for r in rows
        ],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
