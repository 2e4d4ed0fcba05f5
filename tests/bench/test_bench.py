"""The benchmark end to end on a tiny store: the three servers on loopback against one canned
Personalize, a short cache-cold phase. Only shapes and counts are checked, never speed: the
machine is shared and noisy. The Apollo peer needs bench/apollo's npm packages (scripts/node-deps):
without them its test is skipped, except in CI, where it fails.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest

from bench.gateway import APOLLO_STAMP, Options, run
from bench.report import COLUMNS, SPLIT_ROWS, Report, render

CATEGORIES = ("shoes", "hats", "bags")
ITEM_COUNT = 60
USER_COUNT = 12
START_TIME = 1_700_000_000
APOLLO_READY = APOLLO_STAMP.is_file()


def write_tiny_store(directory: Path) -> None:
    """60 items in 3 categories; 12 users, each viewing 8 items of one category."""
    directory.mkdir(parents=True)
    items = [f"i-{index:03d}" for index in range(ITEM_COUNT)]
    with open(directory / "items.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["ITEM_ID", "TITLE", "DESCRIPTION", "CATEGORY", "PRICE", "IMAGE_URL"])
        for index, item in enumerate(items):
            category = CATEGORIES[index % len(CATEGORIES)]
            writer.writerow(
                [item, f"Item {index}", f"A {category} item", category, f"{5 + index}.99", ""]
            )
    users = [f"u-{index:02d}" for index in range(USER_COUNT)]
    with open(directory / "users.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["USER_ID"])
        writer.writerows([user] for user in users)
    with open(directory / "interactions.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"])
        for number, user in enumerate(users):
            shelf = items[number % len(CATEGORIES) :: len(CATEGORIES)]
            for step in range(8):
                item = shelf[(number * 5 + step * 3) % len(shelf)]
                writer.writerow([user, item, START_TIME + number * 1000 + step * 60, "view"])


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    store = tmp_path_factory.mktemp("bench") / "store"
    write_tiny_store(store)
    servers = ("ours", "plain", "apollo") if APOLLO_READY else ("ours", "plain")
    options = Options(
        duration_s=1.0,
        warmup_s=0.2,
        sequential_s=0.5,
        concurrency=2,
        scenarios=("cache-cold",),
        servers=servers,
        data=store,
    )
    return run(options)


def titles(data: Any) -> list[str]:
    return [entry["item"]["title"] for entry in data["recommendations"]["items"]]


def test_ours_answers_the_standard_query_with_catalog_items(report: Report) -> None:
    first = report.answers["ours"][0]

    assert len(titles(first)) == 25, first


def test_plain_gives_the_same_data_as_ours(report: Report) -> None:
    assert report.answers["plain"] == report.answers["ours"], report.answers["plain"]


def test_apollo_gives_the_same_data_as_ours(report: Report) -> None:
    if not APOLLO_READY:
        message = "bench/apollo's npm packages are not installed: run scripts/node-deps"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    assert report.answers["apollo"] == report.answers["ours"], report.answers["apollo"]


def test_every_server_is_measured_without_errors(report: Report) -> None:
    errors = {m.server: m.errors for m in report.sections[0].measurements}

    assert errors == dict.fromkeys(report.answers, 0), errors


def test_every_server_calls_personalize_once_per_query(report: Report) -> None:
    calls = {m.server: m.personalize_calls_per_query for m in report.sections[0].measurements}

    assert calls == dict.fromkeys(report.answers, 1.0), calls


def test_peers_make_one_catalog_round_trip_per_query(report: Report) -> None:
    trips = {
        m.server: m.catalog_round_trips_per_query
        for m in report.sections[0].measurements
        if m.server != "ours"
    }

    assert trips == dict.fromkeys(set(report.answers) - {"ours"}, 1.0), trips


def test_ours_makes_at_most_one_catalog_round_trip_per_query(report: Report) -> None:
    ours = report.sections[0].find("ours")
    trips = ours.catalog_round_trips_per_query if ours is not None else None

    assert (trips or 0.0) <= 1.0, trips  # an item cache may answer instead
    assert trips is not None, ours


def test_cpu_split_of_ours_has_every_part(report: Report) -> None:
    split = report.sections[0].cpu_splits["ours"]
    parts = [split.aiobotocore_ms > 0, split.catalog_ms > 0, split.execution_ms > 0]

    assert parts == [True, True, True], split


def test_render_prints_every_column(report: Report) -> None:
    text = render(report)
    missing = [name for name, _, _ in COLUMNS if name not in text]
    missing += [label for label, _ in SPLIT_ROWS if label not in text]

    assert missing == [], text


def test_render_prints_the_ratios(report: Report) -> None:
    text = render(report)

    assert "ours / plain: req/s" in text, text


def test_catalogs_bench_counts_one_round_trip_per_query_and_none_for_personalize(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.catalogs import main

    store = tmp_path / "store"
    write_tiny_store(store)

    code = main(["--data", str(store), "--sources", "sqlite,personalize", "--queries", "6"])

    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert code == 0, lines
    assert lines["sqlite"][1:3] == ["6", "1.00"], lines["sqlite"]
    assert lines["personalize"][1:3] == ["6", "0.00"], lines["personalize"]


def test_observability_bench_prints_cpu_per_query_of_each_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.observability import VARIANTS, main

    store = tmp_path / "store"
    write_tiny_store(store)

    code = main(["--data", str(store), "--queries", "4", "--rounds", "1"])

    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert code == 0, lines
    for variant in VARIANTS:
        assert float(lines[variant][1]) > 0, lines.get(variant)
