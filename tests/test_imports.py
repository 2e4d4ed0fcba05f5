"""The direction of imports: gateway → schema, and nothing of the service imports the emulator."""

import json
import subprocess
import sys

import pytest


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


def test_schema_imports_no_web_framework_client_or_gateway() -> None:
    assert (
        imported_after("import schema", {"starlette", "aiobotocore", "gateway", "emulator"}) == []
    )


@pytest.mark.parametrize("module", ["gateway.http.app", "gateway.asgi"])
def test_gateway_service_imports_no_emulator_nor_its_dependencies(module: str) -> None:
    assert imported_after(f"import {module}", {"emulator", "numpy", "scipy"}) == []
