"""A tiny benchmark harness: named rows in groups, each group with one anchor row.

Every row runs in the same process run, interleaved round by round so machine noise hits all
rows of a group alike; a row's figure is the median time per call over the rounds. Ratios are
against the group's anchor (``anchor=True``): the library or approach we compare ourselves to.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    group: str
    name: str
    func: Callable[[], object]
    anchor: bool = False
    target_us: float | None = None
    samples_us: list[float] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_us)


_ROWS: list[Row] = []


def bench(
    group: str, name: str, *, anchor: bool = False, target_us: float | None = None
) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register ``func`` (no arguments, one operation per call) as a row of ``group``."""

    def register(func: Callable[[], object]) -> Callable[[], object]:
        _ROWS.append(Row(group, name, func, anchor, target_us))
        return func

    return register


def _calibrate(func: Callable[[], object], budget_s: float) -> int:
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            func()
        if time.perf_counter() - start >= budget_s or loops >= 1 << 22:
            return loops
        loops *= 2


def run(rounds: int = 7, budget_s: float = 0.05, only: str | None = None) -> list[Row]:
    rows = [r for r in _ROWS if only is None or only in r.group]
    loops = {id(r): _calibrate(r.func, budget_s) for r in rows}
    for _ in range(rounds):
        for row in rows:
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
            target = ""
            if row.target_us is not None:
                verdict = "met" if row.median_us <= row.target_us else "MISSED"
                target = f"≤ {row.target_us:g} µs: {verdict}"
            lines.append(f"| {group} | {row.name} | {row.median_us:.2f} | {ratio} | {target} |")
    return "\n".join(lines)


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
