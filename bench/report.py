"""The benchmark's figures: per scenario, per server, as tables and as JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.load import LoadResult


@dataclass(frozen=True)
class CpuSplit:
    """CPU milliseconds per query, measured with one query in flight at a time."""

    http_view_ms: float  # middleware, the view, the request body and the JSON answer
    execution_ms: float  # Schema.execute without the two calls below
    aiobotocore_ms: float
    catalog_ms: float
    rest_ms: float  # outside the ASGI app: uvicorn's HTTP parsing, the event loop
    total_ms: float
    queries: int


@dataclass(frozen=True)
class Measurement:
    """One server under one scenario's load."""

    server: str
    connections: int
    load: LoadResult
    queries: int  # GraphQL requests the server counted (or the load generator, if it cannot)
    personalize_calls_per_query: float | None
    catalog_round_trips_per_query: float | None
    upstream_failures: int  # Personalize or catalog calls that raised (a fallback may have hidden)
    server_cpu_ms_per_query: float | None
    server_cores: float | None  # CPU seconds of the server's processes per second of the phase
    rss_mb: float | None

    @property
    def errors(self) -> int:
        return self.load.errors + self.upstream_failures

    @property
    def requests_per_s(self) -> float:
        return self.load.requests_per_s


@dataclass
class Section:
    """One scenario: what it is, its measurements, ratios between servers and notes."""

    scenario: str
    title: str
    measurements: list[Measurement] = field(default_factory=list)
    ratios: list[tuple[str, str]] = field(default_factory=list)  # (numerator, denominator)
    cpu_splits: dict[str, CpuSplit] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def find(self, server: str) -> Measurement | None:
        return next((m for m in self.measurements if m.server == server), None)


@dataclass
class Report:
    """A whole run: its set-up lines and one section per scenario."""

    setup: list[str]
    sections: list[Section]
    answers: dict[str, list[Any]] = field(default_factory=dict)  # the checked data, by server

    @property
    def errors(self) -> int:
        return sum(m.errors for section in self.sections for m in section.measurements)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"setup": self.setup, "scenarios": {}}
        for section in self.sections:
            entry = dataclasses.asdict(section)
            entry["measurements"] = {
                m.server: {
                    **dataclasses.asdict(m),
                    "requests_per_s": m.requests_per_s,
                    "errors": m.errors,
                }
                for m in section.measurements
            }
            entry["ratios"] = {
                f"{top}/{bottom}": ratios(section, top, bottom) for top, bottom in section.ratios
            }
            document["scenarios"][section.scenario] = entry
        return document


Column = tuple[str, Callable[[Measurement], float | None], str]

COLUMNS: tuple[Column, ...] = (
    ("req/s", lambda m: m.requests_per_s, "{:,.0f}"),
    ("p50 ms", lambda m: m.load.p50_ms, "{:.1f}"),
    ("p99 ms", lambda m: m.load.p99_ms, "{:.1f}"),
    ("errors", lambda m: m.errors, "{:.0f}"),
    ("Personalize calls/query", lambda m: m.personalize_calls_per_query, "{:.2f}"),
    ("catalog round trips/query", lambda m: m.catalog_round_trips_per_query, "{:.2f}"),
    ("server CPU ms/query", lambda m: m.server_cpu_ms_per_query, "{:.2f}"),
    ("server cores busy", lambda m: m.server_cores, "{:.2f}"),
    ("RSS MB", lambda m: m.rss_mb, "{:.0f}"),
)
SPLIT_ROWS: tuple[tuple[str, str], ...] = (
    ("HTTP + view (middleware, view, JSON)", "http_view_ms"),
    ("GraphQL execution (Schema.execute)", "execution_ms"),
    ("the aiobotocore call", "aiobotocore_ms"),
    ("the catalog", "catalog_ms"),
    ("the rest (uvicorn's HTTP, event loop)", "rest_ms"),
    ("total", "total_ms"),
)


def ratios(section: Section, top: str, bottom: str) -> dict[str, float | None]:
    """req/s, p50 and p99 of `top` over `bottom`."""
    over, under = section.find(top), section.find(bottom)
    if over is None or under is None:
        return {"requests_per_s": None, "p50": None, "p99": None}
    return {
        "requests_per_s": _ratio(over.requests_per_s, under.requests_per_s),
        "p50": _ratio(over.load.p50_ms, under.load.p50_ms),
        "p99": _ratio(over.load.p99_ms, under.load.p99_ms),
    }


def _ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def render(report: Report) -> str:
    """The set-up, then per scenario its table, ratios, CPU split and notes."""
    lines = list(report.setup)
    for section in report.sections:
        lines += ["", f"== {section.scenario}: {section.title}"]
        if section.measurements:
            header = ["server", "conns", *(name for name, _, _ in COLUMNS)]
            rows = [header]
            for m in section.measurements:
                cells = [m.server, str(m.connections)]
                for _, value, spec in COLUMNS:
                    figure = value(m)
                    cells.append("n/a" if figure is None else spec.format(figure))
                rows.append(cells)
            lines.append(format_table(rows))
        for top, bottom in section.ratios:
            found = ratios(section, top, bottom)
            if found["requests_per_s"] is None:
                continue
            lines.append(
                f"{top} / {bottom}: req/s {_times(found['requests_per_s'])}, "
                f"p50 {_times(found['p50'])}, p99 {_times(found['p99'])}"
            )
        if section.cpu_splits:
            names = list(section.cpu_splits)
            rows = [["CPU ms per query, one query in flight", *names]]
            for label, key in SPLIT_ROWS:
                rows.append([label, *(f"{getattr(section.cpu_splits[n], key):.3f}" for n in names)])
            lines.append(format_table(rows))
        lines += section.notes
    return "\n".join(lines)


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
