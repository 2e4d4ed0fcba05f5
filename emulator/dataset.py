"""Datasets in Amazon Personalize's own CSV formats: items, users and interactions."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _csv import Reader

ITEMS_FILE = "items.csv"
USERS_FILE = "users.csv"
INTERACTIONS_FILE = "interactions.csv"
MAX_ID_LENGTH = 256

_INTERACTION_COLUMNS = ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE")


@dataclass(frozen=True, slots=True)
class Interaction:
    """One row of the interactions dataset, or one event sent with PutEvents."""

    user_id: str
    item_id: str
    timestamp: int
    event_type: str
    event_value: float | None = None


@dataclass
class Dataset:
    """The three datasets of a Personalize dataset group, as read from their CSV files."""

    items: dict[str, dict[str, str]]
    users: dict[str, dict[str, str]]
    interactions: list[Interaction]


class DatasetError(ValueError):
    """A dataset file that Personalize would reject; the message names the file, line and column."""


def load_dataset(directory: Path) -> Dataset:
    """Read items.csv, interactions.csv and, when present, users.csv from `directory`."""
    items = _load_entities(directory / ITEMS_FILE, "ITEM_ID")
    users_path = directory / USERS_FILE
    users = _load_entities(users_path, "USER_ID") if users_path.exists() else {}
    interactions = _load_interactions(directory / INTERACTIONS_FILE)
    return Dataset(items=items, users=users, interactions=interactions)


def _load_entities(path: Path, id_column: str) -> dict[str, dict[str, str]]:
    entities: dict[str, dict[str, str]] = {}
    first_lines: dict[str, int] = {}
    with _records(path) as rows:
        header = _read_header(path, rows, (id_column,))
        id_index = header.index(id_column)
        columns = [(index, name) for index, name in enumerate(header) if index != id_index]
        for line, row in rows:
            _check_width(path, line, row, header)
            entity_id = _check_id(path, line, id_column, row[id_index])
            if entity_id in entities:
                raise DatasetError(
                    f"{path.name}, line {line}, column {id_column}: duplicate {id_column} "
                    f"{entity_id!r} (first seen on line {first_lines[entity_id]})"
                )
            first_lines[entity_id] = line
            entities[entity_id] = {name: row[index] for index, name in columns}
    return entities


def _load_interactions(path: Path) -> list[Interaction]:
    interactions: list[Interaction] = []
    # Interning keeps one string object per distinct id instead of one per row.
    strings: dict[str, str] = {}
    intern = strings.setdefault
    with _records(path) as rows:
        header = _read_header(path, rows, _INTERACTION_COLUMNS)
        user_index, item_index, time_index, type_index = (
            header.index(name) for name in _INTERACTION_COLUMNS
        )
        value_index = header.index("EVENT_VALUE") if "EVENT_VALUE" in header else None
        width = len(header)
        append = interactions.append
        for line, row in rows:
            if len(row) != width:
                _check_width(path, line, row, header)
            user_id = row[user_index]
            item_id = row[item_index]
            timestamp = row[time_index]
            event_type = row[type_index]
            if not (0 < len(user_id) <= MAX_ID_LENGTH):
                _check_id(path, line, "USER_ID", user_id)
            if not (0 < len(item_id) <= MAX_ID_LENGTH):
                _check_id(path, line, "ITEM_ID", item_id)
            if not (timestamp.isascii() and timestamp.isdigit()):
                raise DatasetError(
                    f"{path.name}, line {line}, column TIMESTAMP: expected an integer "
                    f"epoch-seconds value, got {timestamp!r}"
                )
            if not (0 < len(event_type) <= MAX_ID_LENGTH):
                raise DatasetError(
                    f"{path.name}, line {line}, column EVENT_TYPE: expected an event type of 1 "
                    f"to {MAX_ID_LENGTH} characters, got {_shorten(event_type)!r}"
                )
            event_value = None
            if value_index is not None and row[value_index]:
                event_value = _parse_event_value(path, line, row[value_index])
            append(
                Interaction(
                    intern(user_id, user_id),
                    intern(item_id, item_id),
                    int(timestamp),
                    intern(event_type, event_type),
                    event_value,
                )
            )
    interactions.sort(key=attrgetter("timestamp"))
    return interactions


@contextmanager
def _records(path: Path) -> Iterator[Iterator[tuple[int, list[str]]]]:
    try:
        file = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise DatasetError(f"{path.name}: file not found in {path.parent}") from None
    with file:
        yield _numbered(path, csv.reader(file))


def _numbered(path: Path, reader: Reader) -> Iterator[tuple[int, list[str]]]:
    """The non-blank records, each with the physical line it starts on."""
    line = 1
    try:
        for row in reader:
            if row:
                yield line, row
            line = reader.line_num + 1
    except csv.Error as error:
        raise DatasetError(f"{path.name}, line {reader.line_num}: {error}") from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _not_utf8(path: Path) -> DatasetError:
    # The decoder works on whole blocks, so the line is found again in the raw bytes.
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return DatasetError(
            f"{path.name}, line {line}: not UTF-8 text (byte {data[error.start]:#04x})"
        )
    return DatasetError(f"{path.name}: not UTF-8 text")


def _read_header(
    path: Path, rows: Iterator[tuple[int, list[str]]], required: Sequence[str]
) -> list[str]:
    first = next(rows, None)
    if first is None:
        raise DatasetError(f"{path.name}, line 1: the file is empty, expected a header row")
    header = [name.strip().upper() for name in first[1]]
    for name in required:
        if name not in header:
            raise DatasetError(
                f"{path.name}, line 1, column {name}: required column missing "
                f"(header has {', '.join(header)})"
            )
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            raise DatasetError(f"{path.name}, line 1: column {position} of the header has no name")
        if name in seen:
            raise DatasetError(f"{path.name}, line 1, column {name}: duplicate column name")
        seen.add(name)
    return header


def _check_width(path: Path, line: int, row: list[str], header: list[str]) -> None:
    if len(row) != len(header):
        raise DatasetError(
            f"{path.name}, line {line}: expected {len(header)} fields "
            f"({','.join(header)}), got {len(row)}"
        )


def _check_id(path: Path, line: int, column: str, value: str) -> str:
    if not value:
        raise DatasetError(f"{path.name}, line {line}, column {column}: empty id")
    if len(value) > MAX_ID_LENGTH:
        raise DatasetError(
            f"{path.name}, line {line}, column {column}: id of {len(value)} characters, "
            f"the limit is {MAX_ID_LENGTH} ({_shorten(value)!r})"
        )
    return value


def _parse_event_value(path: Path, line: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise DatasetError(
            f"{path.name}, line {line}, column EVENT_VALUE: expected a number, got {text!r}"
        )
    return value


def _shorten(value: str) -> str:
    return value if len(value) <= 40 else value[:37] + "..."
