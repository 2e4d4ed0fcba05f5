"""The direction of imports: http → wiring → adapters → schema, and no cycle anywhere."""

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGES = ("gateway", "schema", "emulator", "bench")
ADAPTERS = ("gateway.personalize", "gateway.catalog", "gateway.events")


def imported_after(statement: str, roots: set[str]) -> list[str]:
    program = (
        "import json, sys\n"
        f"{statement}\n"
        f"roots = {sorted(roots)!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in roots)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(result.stdout))


def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The project modules `name` imports, at any depth of its code (lazy imports count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            if target in known and target != name:
                yield target
                break


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imports_of(name, path, known)) for name, path in known.items()}


def test_schema_imports_no_web_framework_client_or_gateway() -> None:
    assert (
        imported_after("import schema", {"starlette", "aiobotocore", "gateway", "emulator"}) == []
    )


@pytest.mark.parametrize("module", ["gateway.http.app", "gateway.asgi"])
def test_gateway_service_imports_no_emulator_nor_its_dependencies(module: str) -> None:
    assert imported_after(f"import {module}", {"emulator", "numpy", "scipy"}) == []


def test_settings_import_nothing_else_from_gateway() -> None:
    imported = imported_after("import gateway.settings", {"gateway"})

    others = [name for name in imported if name not in ("gateway", "gateway.settings")]
    assert [name for name in others if not name.startswith("gateway.settings.")] == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapters_import_neither_http_nor_settings_nor_wiring(adapter: str) -> None:
    edges = graph()
    modules_of_adapter = [name for name in edges if name.split(".")[:2] == adapter.split(".")]

    wrong = sorted(
        f"{name} -> {target}"
        for name in modules_of_adapter
        for target in edges[name]
        if target.startswith(("gateway.http", "gateway.settings", "gateway.wiring"))
    )
    assert wrong == []


def test_wiring_imports_nothing_of_http() -> None:
    wrong = sorted(
        target for target in graph()["gateway.wiring"] if target.startswith("gateway.http")
    )

    assert wrong == []


def test_no_import_cycle_in_the_project() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(edges[name]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_only_the_cli_imports_the_emulator() -> None:
    edges = graph()

    importers = sorted(
        name
        for name, targets in edges.items()
        if name.startswith(("gateway", "schema"))
        and any(target.split(".")[0] == "emulator" for target in targets)
    )
    assert importers == ["gateway.cli", "gateway.cli.embedded"], importers


def test_import_graph_sees_lazy_imports() -> None:
    # The CLI imports the emulator inside functions: a graph that missed it would prove nothing.
    assert "emulator.cli" in graph()["gateway.cli.embedded"]
