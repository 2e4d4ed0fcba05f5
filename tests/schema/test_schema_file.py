"""The committed schema.graphql is the schema the code builds."""

from __future__ import annotations

from pathlib import Path

from schema import export_sdl, schema

SCHEMA_FILE = Path(__file__).parents[2] / "schema.graphql"
REGENERATE = "personalize-gateway schema export > schema.graphql"


def test_schema_file_matches_the_code() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")

    assert committed == export_sdl(), (
        f"{SCHEMA_FILE.name} differs from the schema the code builds: if the change is "
        f"intended, regenerate it with `{REGENERATE}` and commit it"
    )


def test_schema_export_is_the_subgraph_sdl() -> None:
    result = schema.execute_sync("{ _service { sdl } }")

    assert result.data is not None
    assert export_sdl() == result.data["_service"]["sdl"] + "\n"
