"""The Lambda bundle: the gateway and manylinux wheels of its dependencies, in one zip.

`scripts/package-lambda` runs this. Only PyPI is needed: every dependency comes as a wheel
for the runtime's Python and architecture (pip's --platform/--only-binary), pinned by
constraints.txt. Nothing of the local Personalize goes in (no emulator, numpy or scipy), nor
uvicorn: the Lambda runtime is the server.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT: Final = ROOT / "dist" / "personalize-gateway-lambda.zip"
PACKAGES: Final = ("gateway", "schema")
# Where the SQLite catalog goes when one is bundled: /var/task/catalog.db on Lambda.
CATALOG_NAME: Final = "catalog.db"

# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_ZIPPED_BYTES: Final = 50 * 1024 * 1024  # a zip uploaded directly
MAX_UNZIPPED_BYTES: Final = 250 * 1024 * 1024

# The glibc of each runtime's Amazon Linux (2 for 3.11, 2023 after), which bounds the
# manylinux wheels that load there.
RUNTIME_GLIBC: Final = {"3.11": 26, "3.12": 34, "3.13": 34}
ARCHITECTURES: Final = {"x86_64": "x86_64", "arm64": "aarch64"}
SERVER_ONLY: Final = frozenset({"uvicorn"})
# botocore carries the models of every AWS service (most of its 30 MB); the gateway's clients
# need these, and the endpoint and retry data beside them.
BOTOCORE_SERVICES: Final = frozenset(
    {"personalize-runtime", "personalize-events", "dynamodb", "sts"}
)
# Never in a bundle: what only the local Personalize needs.
FORBIDDEN: Final = ("emulator", "numpy", "scipy")

# A fixed time for every entry, so that the same sources give the same zip.
_ZIP_TIME: Final = (2024, 1, 1, 0, 0, 0)


class BundleError(Exception):
    """The bundle cannot be built, or would not fit Lambda."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    compiled: bool

    def describe(self) -> str:
        return (
            f"{self.path}: {_mib(self.zipped_bytes)} zipped, {_mib(self.unzipped_bytes)} "
            f"unzipped (Lambda's limits: {_mib(MAX_ZIPPED_BYTES)}, {_mib(MAX_UNZIPPED_BYTES)})"
        )


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The gateway's requirements, less what only a long-running server needs."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted = []
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        if name is None or name.group().lower() not in SERVER_ONLY:
            wanted.append(requirement)
    return wanted


def platforms(python: str, architecture: str) -> list[str]:
    """The manylinux tags that load on the runtime, newest first."""
    machine = ARCHITECTURES[architecture]
    newest = RUNTIME_GLIBC[python]
    return [f"manylinux_2_{minor}_{machine}" for minor in range(newest, 16, -1)] + [
        f"manylinux2014_{machine}"
    ]


def install_dependencies(target: Path, *, python: str, architecture: str) -> None:
    """pip-install the dependencies' wheels for the runtime into `target`."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        "--implementation",
        "cp",
        "--python-version",
        python,
        "--only-binary=:all:",
        "--constraint",
        str(ROOT / "constraints.txt"),
    ]
    for platform in platforms(python, architecture):
        command += ["--platform", platform]
    result = subprocess.run(
        [*command, *dependencies()], capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        raise BundleError(f"pip could not install the dependencies:\n{result.stderr}")


def prune_botocore(target: Path) -> None:
    """Drop the models of the AWS services the gateway never calls."""
    for path in (target / "botocore" / "data").iterdir():
        if path.is_dir() and path.name not in BOTOCORE_SERVICES:
            shutil.rmtree(path)


def copy_sources(target: Path) -> None:
    """The gateway's own packages, without caches."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )


def compile_bytecode(target: Path) -> None:
    """Bytecode beside the sources, so no cold start compiles (the task root is read-only).

    Unchecked hashes: a zip keeps times to 2 seconds, which would make timestamped
    bytecode look stale.
    """
    compiled = compileall.compile_dir(
        target,
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise BundleError("compiling the bundle's bytecode failed")


def _files(directory: Path) -> Iterator[Path]:
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            yield path


def write_zip(directory: Path, output: Path) -> int:
    """Zip `directory`'s files into `output`, in a stable order; their unzipped bytes."""
    output.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    partial = output.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _files(directory):
            entry = zipfile.ZipInfo(path.relative_to(directory).as_posix(), _ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(entry, data)
    partial.replace(output)
    return unzipped


def check_fits(zipped: int, unzipped: int) -> None:
    """BundleError when Lambda would refuse a bundle of these sizes."""
    if zipped > MAX_ZIPPED_BYTES:
        raise BundleError(
            f"the zip is {zipped:,} bytes, over the {MAX_ZIPPED_BYTES:,} Lambda takes uploaded"
        )
    if unzipped > MAX_UNZIPPED_BYTES:
        raise BundleError(
            f"the bundle unzips to {unzipped:,} bytes, over Lambda's {MAX_UNZIPPED_BYTES:,}"
        )


def build(
    output: Path = DEFAULT_OUTPUT,
    *,
    python: str = "3.12",
    architecture: str = "x86_64",
    catalog: Path | None = None,
) -> Bundle:
    """Build the bundle at `output` for Lambda's Python `python` on `architecture`.

    Bytecode is compiled only when this interpreter is the runtime's Python.
    """
    if python not in RUNTIME_GLIBC:
        raise BundleError(f"no Lambda runtime for Python {python} (one of {sorted(RUNTIME_GLIBC)})")
    with tempfile.TemporaryDirectory(prefix="lambda-bundle-") as scratch:
        target = Path(scratch) / "bundle"
        install_dependencies(target, python=python, architecture=architecture)
        prune_botocore(target)
        copy_sources(target)
        found = [name for name in FORBIDDEN if (target / name).exists()]
        if found:
            raise BundleError(f"the bundle must not carry {', '.join(found)}")
        if catalog is not None:
            shutil.copyfile(catalog, target / CATALOG_NAME)
        compiled = python == f"{sys.version_info.major}.{sys.version_info.minor}"
        if compiled:
            compile_bytecode(target)
        unzipped = write_zip(target, output)
    zipped = output.stat().st_size
    check_fits(zipped, unzipped)
    return Bundle(output, zipped, unzipped, compiled)


def unpack(bundle: Path, directory: Path) -> None:
    """Unpack `bundle` into `directory` as Lambda does into /var/task."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(directory)


# Runs in the clean interpreter: imports the handler from the bundle alone, then invokes it.
_INVOKE = """\
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from gateway.lambda_handler import close, handler
imported = time.perf_counter()
event = json.loads(sys.stdin.read())
first = handler(event, None)
answered = time.perf_counter()
warm = []
for _ in range(int(sys.argv[2])):
    before = time.perf_counter()
    handler(event, None)
    warm.append(time.perf_counter() - before)
print(json.dumps({
    "response": first,
    "import_seconds": imported - started,
    "first_seconds": answered - imported,
    "warm_seconds": warm,
    "modules": sorted(sys.modules),
}))
close()
"""


def invoke_unpacked(
    directory: Path,
    event: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    warm_invocations: int = 0,
    python: str = sys.executable,
) -> dict[str, Any]:
    """Invoke the handler unpacked in `directory` in a fresh, isolated interpreter (`-I -S`:
    no site-packages, no PYTHON* variables): the response, times and modules loaded."""
    result = subprocess.run(
        [python, "-I", "-S", "-c", _INVOKE, str(directory), str(warm_invocations)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=dict(environ),
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise BundleError(f"the unpacked handler failed:\n{result.stderr}")
    answer: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/package-lambda",
        description=f"Build {DEFAULT_OUTPUT.relative_to(ROOT)} for AWS Lambda.",
    )
    parser.add_argument(
        "--python",
        default="3.12",
        choices=sorted(RUNTIME_GLIBC),
        help="the runtime's Python (deploy/template.yaml's PythonRuntime); default 3.12",
    )
    parser.add_argument(
        "--arm64", action="store_true", help="for Graviton (arm64) instead of x86_64"
    )
    parser.add_argument(
        "--catalog", type=Path, help=f"a SQLite catalog to ship as /var/task/{CATALOG_NAME}"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the zip to write")
    options = parser.parse_args(argv)
    try:
        bundle = build(
            options.output,
            python=options.python,
            architecture="arm64" if options.arm64 else "x86_64",
            catalog=options.catalog,
        )
    except BundleError as error:
        print(f"package-lambda: {error}", file=sys.stderr)
        return 1
    print(bundle.describe())
    if not bundle.compiled:
        print(
            f"note: no bytecode compiled (this is Python {sys.version_info.major}."
            f"{sys.version_info.minor}); run with Python {options.python} for faster cold starts",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    raise SystemExit(main())
