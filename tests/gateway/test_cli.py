import asyncio
import hashlib
import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import LocalPersonalize
from gateway.catalog.sqlite import SqliteCatalog
from gateway.cli import build_parser, main
from gateway.cli.embedded import local_settings

RECOMMENDER = "arn:aws:personalize:us-east-1:123456789012:recommender/most-popular"
CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/user-personalization"


def write_items(directory: Path, text: str) -> Path:
    path = directory / "items.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_invalid_setting_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_RANKING_ARN", RECOMMENDER)

    code = main(["serve"])

    assert (code, capsys.readouterr().err.splitlines()[:2]) == (
        2,
        [
            "personalize-gateway: invalid configuration",
            f"GATEWAY_RANKING_ARN: {RECOMMENDER} is a recommender, but Personalize's "
            "GetPersonalizedRanking only accepts a campaign (of a personalized-ranking solution "
            "version): set a campaign ARN",
        ],
    )


def test_cli_serve_on_a_busy_port_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        code = main(["serve", "--port", str(port)])

    assert (code, f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err) == (2, True)


def test_cli_serve_refuses_local_options_with_arns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("GATEWAY_RECOMMENDATIONS_ARN", CAMPAIGN)

    code = main(["serve", "--data", str(tmp_path)])

    assert (
        code,
        "--data and --config are for the local Personalize" in capsys.readouterr().err,
    ) == (
        2,
        True,
    )


def test_cli_catalog_load_builds_the_catalog_with_a_column_map(tmp_path: Path) -> None:
    csv_path = write_items(tmp_path, "ITEM_ID,TITLE,NAME\ni-1,Shoe,Trail runner\n")
    db = tmp_path / "catalog.db"

    code = main(["catalog", "load", str(csv_path), "--db", str(db), "--map", "NAME=title"])

    async def read() -> tuple[str | None, object]:
        async with SqliteCatalog.open(db) as catalog:
            item = (await catalog.get_items(["i-1"]))["i-1"]
            return item.title, item.attributes

    assert (code, asyncio.run(read())) == (0, ("Trail runner", {"TITLE": "Shoe"}))


def test_cli_catalog_load_bad_row_exits_1_naming_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = write_items(tmp_path, "ITEM_ID,PRICE\ni-1,cheap\n")

    code = main(["catalog", "load", str(csv_path), "--db", str(tmp_path / "c.db")])

    assert (code, capsys.readouterr().err) == (
        1,
        f"personalize-gateway: {csv_path}, line 2, column PRICE: 'cheap' is not a number\n",
    )


def test_cli_catalog_load_malformed_map_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = write_items(tmp_path, "ITEM_ID,TITLE\ni-1,Shoe\n")

    code = main(["catalog", "load", str(csv_path), "--db", str(tmp_path / "c.db"), "--map", "NAME"])

    assert (code, capsys.readouterr().err) == (
        1,
        "personalize-gateway: --map NAME: write COLUMN=FIELD, e.g. --map NAME=title\n",
    )


def test_cli_catalog_load_missing_csv_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["catalog", "load", str(tmp_path / "none.csv"), "--db", str(tmp_path / "c.db")])

    assert (code, capsys.readouterr().err) == (
        1,
        f"personalize-gateway: {tmp_path / 'none.csv'}: No such file or directory\n",
    )


def test_cli_has_the_emulator_commands() -> None:
    args = build_parser().parse_args(["sample-data", "somewhere"])

    assert (args.func.__module__, args.directory) == ("emulator.cli", Path("somewhere"))


def test_cli_serve_never_writes_the_sample_over_own_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_CATALOG_PATH", str(tmp_path / "catalog.db"))
    own = write_items(tmp_path, "ITEM_ID,TITLE\nmine-1,My own item\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    code = main(["serve", "--port", str(port), "--data", str(tmp_path)])

    assert (code, own.read_text(), "interactions.csv" in capsys.readouterr().err) == (
        1,
        "ITEM_ID,TITLE\nmine-1,My own item\n",
        True,
    )


def test_cli_embedded_default_records_events_in_the_local_personalize(
    local_personalize: LocalPersonalize,
) -> None:
    assert local_settings(local_personalize)["event_tracking_id"] == "local-tracking-id"


def test_cli_schema_export_prints_the_committed_schema_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    committed = (Path(__file__).parents[2] / "schema.graphql").read_text(encoding="utf-8")

    code = main(["schema", "export"])

    assert (code, capsys.readouterr().out == committed) == (0, True)


def test_cli_serve_refuses_an_unreadable_fallback_items_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("GATEWAY_FALLBACK_ITEMS_FILE", str(tmp_path / "popular.txt"))

    code = main(["serve"])

    assert (code, capsys.readouterr().err) == (
        2,
        f"personalize-gateway: GATEWAY_FALLBACK_ITEMS_FILE: cannot read {tmp_path}/popular.txt "
        "(No such file or directory)\n",
    )


def test_cli_embedded_default_falls_back_on_the_popularity_recommender(
    local_personalize: LocalPersonalize,
) -> None:
    assert local_settings(local_personalize)["fallback_arn"] == (
        local_personalize.config.recommender_arn("most-popular")
    )


def test_cli_auth_hash_key_prints_the_digest_of_the_key_on_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("k3y-for-the-tests-0123456789abcdef\n"))

    code = main(["auth", "hash-key"])

    assert (code, capsys.readouterr().out) == (
        0,
        hashlib.sha256(b"k3y-for-the-tests-0123456789abcdef").hexdigest() + "\n",
    )


def test_cli_auth_hash_key_refuses_a_short_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("password\n"))

    code = main(["auth", "hash-key"])

    assert (code, capsys.readouterr().err) == (
        2,
        "personalize-gateway: the key is 8 characters; use at least 16 random ones "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')\n",
    )


WITHOUT_LOCAL_EXTRA = """
import sys

class HideLocalExtra:
    # As on an install without [local]: numpy and scipy cannot be imported.
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("numpy", "scipy"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideLocalExtra())
from gateway.cli import main
sys.exit(main(["serve", "--port", sys.argv[1]]))
"""


def test_cli_serve_without_the_local_extra_says_what_to_install(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")
    }
    environment["PYTHONPATH"] = str(Path(__file__).parents[2])

    finished = subprocess.run(
        [sys.executable, "-c", WITHOUT_LOCAL_EXTRA, str(port)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.count("\n") == 1, finished.stderr
    assert "pip install 'personalize-gateway[local]'" in finished.stderr, finished.stderr
