"""The gateway benchmark end to end on a tiny store: real processes on loopback, short phases.

Only the figures' shape is checked (counts, not speed): the machine is shared and noisy.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench.gateway import Options, run
from bench.report import Report, render

CATEGORIES = ("shoes", "hats", "bags")
ITEM_COUNT = 60
USER_COUNT = 12
START_TIME = 1_700_000_000


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
    options = Options(
        duration_s=0.4,
        sequential_s=0.3,
        warmup_s=0.1,
        concurrency=2,
        users=USER_COUNT,
        client="python",
        data=store,
    )
    return run(options)


def test_run_serves_requests_without_errors(report: Report) -> None:
    counts = [
        (t.name, t.loaded.requests > 0, t.sequential.requests > 0, t.errors) for t in report.targets
    ]

    assert counts == [("ours", True, True, 0), ("plain", True, True, 0)]


def test_run_ours_calls_personalize_once_per_query(report: Report) -> None:
    ours = report.targets[0]

    assert ours.personalize_calls_per_query == 1.0


def test_run_ours_makes_one_catalog_round_trip_per_query(report: Report) -> None:
    ours = report.targets[0]

    assert ours.catalog_round_trips_per_query == 1.0


def test_run_plain_makes_a_catalog_round_trip_per_item(report: Report) -> None:
    plain = report.targets[1]

    assert (plain.personalize_calls_per_query, plain.catalog_round_trips_per_query > 1) == (
        1.0,
        True,
    )


def test_run_measures_cpu_of_each_part(report: Report) -> None:
    ours = report.targets[0]

    assert (ours.cpu.aiobotocore_ms > 0, ours.cpu.catalog_ms > 0, ours.cpu.total_ms > 0) == (
        True,
        True,
        True,
    )


def test_render_prints_the_table_and_summary(report: Report) -> None:
    text = render(report)

    assert ("| catalog round trips / query" in text, "ours: " in text.splitlines()[-1]) == (
        True,
        True,
    )
