"""The gateway benchmark's figures: per server under test, as a table, a summary line and JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.load import LoadResult


@dataclass(frozen=True)
class CpuSplit:
    """CPU milliseconds per query, measured with one query in flight at a time."""

    aiobotocore_ms: float
    catalog_ms: float
    rest_ms: float
    total_ms: float


@dataclass(frozen=True)
class TargetFigures:
    """What was measured for one server under test ("ours" or "plain")."""

    name: str
    description: str
    loaded: LoadResult  # at the chosen concurrency
    sequential: LoadResult  # concurrency 1
    queries: int  # GraphQL requests the server counted in both measured phases
    personalize_calls_per_query: float
    personalize_failures: int  # calls that raised or timed out: the query got a stand-in answer
    catalog_failures: int
    catalog_round_trips_per_query: float
    cpu: CpuSplit
    server_cpu_per_query_loaded_ms: float
    emulator_cpu_per_call_ms: float | None

    @property
    def errors(self) -> int:
        """Failed requests, and failed upstream calls even when a fallback answered for them."""
        return (
            self.loaded.errors
            + self.sequential.errors
            + self.personalize_failures
            + self.catalog_failures
        )


@dataclass(frozen=True)
class Report:
    """A whole run: its set-up and the figures of each server under test (ours first)."""

    sample: str
    load_generator: str
    pinning: str
    concurrency: int
    duration_s: float  # as measured (wrk runs whole seconds)
    sequential_s: float
    users: int
    targets: Sequence[TargetFigures]

    @property
    def errors(self) -> int:
        return sum(target.errors for target in self.targets)

    def to_json(self) -> dict[str, Any]:
        document = dataclasses.asdict(self)
        for target, figures in zip(document["targets"], self.targets, strict=True):
            for phase in ("loaded", "sequential"):
                target[phase]["requests_per_s"] = getattr(figures, phase).requests_per_s
        if len(self.targets) == 2:
            document["ratios"] = dict(_ratios(*self.targets))
        return document


Row = tuple[str, Callable[[TargetFigures], float | None], str, bool]

_ROWS: tuple[Row, ...] = (
    ("requests/s", lambda t: t.loaded.requests_per_s, "{:,.0f}", True),
    ("latency p50 (ms)", lambda t: t.loaded.p50_ms, "{:.2f}", True),
    ("latency p99 (ms)", lambda t: t.loaded.p99_ms, "{:.2f}", True),
    ("errors (requests, failed Personalize/catalog calls)", lambda t: t.errors, "{:.0f}", False),
    ("Personalize calls / query", lambda t: t.personalize_calls_per_query, "{:.2f}", False),
    ("catalog round trips / query", lambda t: t.catalog_round_trips_per_query, "{:.2f}", False),
    (
        "sequential requests/s (concurrency 1)",
        lambda t: t.sequential.requests_per_s,
        "{:,.0f}",
        True,
    ),
    ("sequential latency p50 (ms)", lambda t: t.sequential.p50_ms, "{:.2f}", True),
    (
        "CPU / query, sequential: aiobotocore call (ms)",
        lambda t: t.cpu.aiobotocore_ms,
        "{:.3f}",
        True,
    ),
    ("CPU / query, sequential: catalog (ms)", lambda t: t.cpu.catalog_ms, "{:.3f}", True),
    ("CPU / query, sequential: rest, GraphQL + HTTP (ms)", lambda t: t.cpu.rest_ms, "{:.3f}", True),
    ("CPU / query, sequential: total (ms)", lambda t: t.cpu.total_ms, "{:.3f}", True),
    (
        "server CPU / query under load (ms)",
        lambda t: t.server_cpu_per_query_loaded_ms,
        "{:.3f}",
        True,
    ),
    ("local Personalize CPU / call (ms)", lambda t: t.emulator_cpu_per_call_ms, "{:.3f}", False),
)
_RATIO_KEYS = {"requests/s": "requests_per_s", "latency p50 (ms)": "p50", "latency p99 (ms)": "p99"}


def _ratios(ours: TargetFigures, plain: TargetFigures) -> Sequence[tuple[str, float | None]]:
    pairs = []
    for label, value, _, _ in _ROWS:
        if label in _RATIO_KEYS:
            pairs.append((_RATIO_KEYS[label], _ratio(value(ours), value(plain))))
    return pairs


def _ratio(ours: float | None, plain: float | None) -> float | None:
    if ours is None or plain is None or plain == 0:
        return None
    return ours / plain


def render(report: Report) -> str:
    """The set-up, the table of figures and the summary line."""
    names = [target.name for target in report.targets]
    header = ["measure", *names]
    with_ratio = len(report.targets) == 2
    if with_ratio:
        header.append(f"{names[0]} / {names[1]}")
    rows = [header]
    for label, value, spec, show_ratio in _ROWS:
        values = [value(target) for target in report.targets]
        cells = [label, *("n/a" if v is None else spec.format(v) for v in values)]
        if with_ratio:
            ratio = _ratio(*values) if show_ratio else None
            cells.append("" if ratio is None else f"{ratio:.2f}x")
        rows.append(cells)
    lines = [
        f"sample: {report.sample}; {report.users:,} userIds cycled",
        f"load: {report.load_generator}, concurrency {report.concurrency} for "
        f"{report.duration_s:.1f} s, then concurrency 1 for {report.sequential_s:.1f} s, after "
        "a warm-up, against each server in turn",
        f"pinning: {report.pinning}",
        *(f"{target.name}: {target.description}" for target in report.targets),
        format_table(rows),
        "CPU split: measured in the sequential phase, where the CPU time during an awaited call "
        "belongs to that call alone (bench/instrumented.py says how each part is counted).",
        summarize(report),
    ]
    return "\n".join(lines)


def summarize(report: Report) -> str:
    """One line: throughput, latency and calls per query of ours, and the ratios to plain."""
    ours = report.targets[0]
    line = (
        f"{ours.name}: {ours.loaded.requests_per_s:,.0f} req/s, p50 {ours.loaded.p50_ms:.1f} ms, "
        f"p99 {ours.loaded.p99_ms:.1f} ms, {ours.personalize_calls_per_query:.2f} Personalize "
        f"call and {ours.catalog_round_trips_per_query:.2f} catalog round trip per query, "
        f"{report.errors} errors"
    )
    if len(report.targets) == 2:
        plain = report.targets[1]
        ratios = dict(_ratios(ours, plain))
        line += (
            f"; vs {plain.name} ({plain.catalog_round_trips_per_query:.1f} round trips/query): "
            f"throughput {_times(ratios['requests_per_s'])}, p50 {_times(ratios['p50'])}, "
            f"p99 {_times(ratios['p99'])}"
        )
    return line


def _times(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as a boxed text table; the first row is the header, numbers align right."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"
    lines = [rule]
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if column == 0 or index == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append(rule)
    lines.append(rule)
    return "\n".join(lines)
