from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest

from emulator.dataset import Dataset
from emulator.sample import write_sample_dataset

FILES = ("items.csv", "users.csv", "interactions.csv")


def digests(directory: Path) -> dict[str, str]:
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in FILES}


@pytest.fixture(scope="module")
def second_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    directory = tmp_path_factory.mktemp("second-sample")
    messages: list[str] = []
    write_sample_dataset(directory, seed=2018, progress=messages.append)
    return directory, messages


def test_sample_with_same_seed_writes_same_bytes(
    sample_dir: Path, second_run: tuple[Path, list[str]]
) -> None:
    assert digests(second_run[0]) == digests(sample_dir)


def test_sample_bytes_are_those_of_seed_2018(sample_dir: Path) -> None:
    # Pinned so that a change of Python, platform or generator cannot alter the sample unnoticed.
    assert digests(sample_dir) == {
        "items.csv": "5db35550fb23adcad26f7a83a9b8fbda1661e4de9898eb777e71c7532fe239da",
        "users.csv": "8d951d591b3843bdbd976df1ea0ff947a2ee34b5ea24e070b3f0029a3225dd1f",
        "interactions.csv": "63d24c8514554d7d21e7191e180bb15ce7ba41adee03799199e814bafa838813",
    }


def test_sample_reports_progress_a_few_times_per_phase(second_run: tuple[Path, list[str]]) -> None:
    directory, messages = second_run
    rows = len((directory / "interactions.csv").read_text(encoding="utf-8").splitlines()) - 1

    assert messages[0] == "items 2400/2400"
    assert messages[-2:] == ["users 6000/6000", f"interactions {rows}/{rows}"]
    assert len(messages) <= 10


def test_sample_has_at_least_the_promised_sizes(sample_dataset: Dataset) -> None:
    sizes = (
        len(sample_dataset.items),
        len({item["CATEGORY"] for item in sample_dataset.items.values()}),
        len(sample_dataset.users),
        len(sample_dataset.interactions),
    )

    assert all(
        size >= minimum for size, minimum in zip(sizes, (2_000, 10, 5_000, 200_000), strict=True)
    )


def test_sample_image_urls_are_root_relative(sample_dataset: Dataset) -> None:
    wrong = [
        (item_id, item["IMAGE_URL"])
        for item_id, item in sample_dataset.items.items()
        if item["IMAGE_URL"] != f"/images/items/{item_id}.svg"
    ]

    assert wrong == []


def test_sample_prices_have_two_decimals(sample_dataset: Dataset) -> None:
    wrong = [
        item["PRICE"]
        for item in sample_dataset.items.values()
        if not re.fullmatch(r"[1-9][0-9]*\.[0-9]{2}", item["PRICE"])
    ]

    assert wrong == []


def test_sample_interactions_span_about_ninety_days(sample_dataset: Dataset) -> None:
    timestamps = [interaction.timestamp for interaction in sample_dataset.interactions]

    assert 85 * 86_400 <= max(timestamps) - min(timestamps) <= 90 * 86_400


def test_sample_has_fewer_carts_than_views_and_fewer_purchases_than_carts(
    sample_dataset: Dataset,
) -> None:
    counts = Counter(interaction.event_type for interaction in sample_dataset.interactions)

    assert set(counts) == {"view", "cart", "purchase"}
    assert counts["view"] > 5 * counts["cart"]
    assert counts["cart"] > counts["purchase"]


def test_sample_popularity_is_skewed(sample_dataset: Dataset) -> None:
    counts = sorted(
        Counter(interaction.item_id for interaction in sample_dataset.interactions).values(),
        reverse=True,
    )

    top_tenth = sum(counts[: len(counts) // 10]) / sum(counts)

    assert top_tenth > 0.3
