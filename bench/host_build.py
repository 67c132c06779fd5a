"""The layer and functions built the way `make build` builds them, for this machine's architecture.

The deployed build is for arm64, whose compiled extensions (pydantic_core, argon2's bindings) cannot
load here. So the benchmark (and the build test's import check) run `sam build` on a copy of
template.yaml that differs only in its architecture fields, with the same makefile build method, into
.aws-sam/bench-build: what is measured is exactly what the build produces, bytecode included. The
build is reused while its inputs (template, build helper, sources, requirements) are unchanged.
"""

from __future__ import annotations

import compileall
import copy
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from py_compile import PycInvalidationMode
from typing import Any

from local.tables import load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
SAM = ROOT / ".sam-venv" / "bin" / "sam"
BUILD_DIR = ROOT / ".aws-sam" / "bench-build"
HOST_TEMPLATE = ROOT / ".aws-sam" / "bench-template.json"
NO_BYTECODE_DIR = ROOT / ".aws-sam" / "bench-build-no-bytecode"
RUNTIME_DIR = ROOT / ".aws-sam" / "bench-runtime"
# What Lambda's Python runtime has in /var/runtime (after the layers on sys.path) and the layer does not
# ship: boto3 and s3transfer (the layer brings botocore, PynamoDB's dependency, which comes first).
RUNTIME_PACKAGES = ("boto3", "s3transfer")
STAMP = "bench-inputs.sha256"
# Lambda's architecture names, and the ELF e_machine of each (the two bytes at offset 18).
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
ELF_MACHINES = {"x86_64": 0x3E, "arm64": 0xB7}
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"


@dataclass(frozen=True)
class Build:
    """A sam build: what each layer puts in /opt/python and what each function puts in /var/task."""

    directory: Path
    architecture: str
    layers: dict[str, Path]
    functions: dict[str, Path]


def host_architecture() -> str:
    """This machine's architecture in Lambda's words (x86_64 or arm64)."""
    machine = platform.machine().lower()
    if machine not in ARCHITECTURES:
        raise RuntimeError(f"no Lambda architecture runs like this machine's ({machine})")
    return ARCHITECTURES[machine]


def _merged(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{key: _merged(base.get(key), value) for key, value in override.items()}}
    return copy.deepcopy(override)


def function_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with the template's Globals applied (maps merge, the rest is overridden)."""
    function_globals = (template.get("Globals") or {}).get("Function") or {}
    return _merged(dict(function_globals), template["Resources"][logical_id].get("Properties") or {})


def _code_resources(template: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Logical id -> (type, local code folder) of every function and layer."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        kind = resource.get("Type")
        properties = resource.get("Properties") or {}
        code = properties.get("CodeUri") if kind == FUNCTION_TYPE else properties.get("ContentUri")
        if kind in (FUNCTION_TYPE, LAYER_TYPE) and isinstance(code, str):
            found[logical_id] = (kind, code)
    return found


def for_architecture(template: dict[str, Any], architecture: str) -> dict[str, Any]:
    """A copy of the template whose functions and layers are built and run on `architecture`."""
    copied = copy.deepcopy(template)
    function_globals = (copied.get("Globals") or {}).get("Function") or {}
    if "Architectures" in function_globals:
        function_globals["Architectures"] = [architecture]
    for logical_id in _code_resources(copied):
        resource = copied["Resources"][logical_id]
        properties = resource.setdefault("Properties", {})
        for key in ("Architectures", "CompatibleArchitectures"):
            if key in properties:
                properties[key] = [architecture]
        metadata = resource.get("Metadata") or {}
        if "BuildArchitecture" in metadata:
            metadata["BuildArchitecture"] = architecture
    return copied


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not SKIPPED_PARTS & set(path.parts) and path.suffix != ".pyc":
            yield path


def inputs_digest(template: dict[str, Any], architecture: str) -> str:
    """A digest of everything the build reads: template, build helper, code and requirements."""
    digest = hashlib.sha256(f"{architecture}\n".encode())
    folders = {ROOT / "lambda_build"} | {ROOT / code for _, code in _code_resources(template).values()}
    for path in [TEMPLATE, *(file for folder in sorted(folders) for file in _files(folder))]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def elf_machine(path: Path) -> int | None:
    """The e_machine field of an ELF file, or None for anything else."""
    with path.open("rb") as stream:
        header = stream.read(20)
    return int.from_bytes(header[18:20], "little") if header[:4] == b"\x7fELF" else None


def _tail(text: str, lines: int = 40) -> str:
    kept = [line for line in text.splitlines() if line.strip() and not line.startswith("WARNING: Location ")]
    return "\n".join(kept[-lines:])


def _layout(template: dict[str, Any], directory: Path, architecture: str) -> Build:
    layers, functions = {}, {}
    for logical_id, (kind, _) in _code_resources(template).items():
        if kind == LAYER_TYPE:
            layers[logical_id] = directory / logical_id / "python"
        else:
            functions[logical_id] = directory / logical_id
    return Build(directory, architecture, layers, functions)


def build_for_host(progress: Callable[[str], None] = print, force: bool = False) -> Build:
    """Build (or reuse) the template's layers and functions for this machine; check their binaries."""
    architecture = host_architecture()
    template = load_template(TEMPLATE)
    digest = inputs_digest(template, architecture)
    stamp = BUILD_DIR / STAMP
    build = _layout(template, BUILD_DIR, architecture)
    if not force and stamp.is_file() and stamp.read_text().strip() == digest:
        progress(f"reusing {BUILD_DIR.relative_to(ROOT)} (built from the same inputs)")
        return build
    if not SAM.is_file():
        raise RuntimeError(f"{SAM.relative_to(ROOT)} is missing: `make bench` installs it")
    progress(f"sam build for {architecture} into {BUILD_DIR.relative_to(ROOT)} (same makefile build method)")
    HOST_TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    HOST_TEMPLATE.write_text(json.dumps(for_architecture(template, architecture), indent=1))
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    command = [str(SAM), "build", "--template-file", str(HOST_TEMPLATE), "--base-dir", str(ROOT)]
    command += ["--build-dir", str(BUILD_DIR)]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "LAMBDA_ARCHITECTURE": architecture}
    env.pop("MAKEFLAGS", None)  # `make bench`'s own flags are not for the build's make
    result = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"sam build for {architecture} failed:\n{_tail(result.stdout)}")
    wrong = [
        str(path.relative_to(BUILD_DIR))
        for path in BUILD_DIR.rglob("*.so*")
        if path.is_file() and elf_machine(path) not in (None, ELF_MACHINES[architecture])
    ]
    if wrong:
        raise RuntimeError(f"the {architecture} build holds binaries for another architecture: {wrong[:5]}")
    stamp.write_text(digest + "\n")
    return build


def without_bytecode(build: Build) -> Build:
    """A copy of the build with every __pycache__ removed: what `sam build` produced before bytecode."""
    stamp = BUILD_DIR / STAMP
    copied_stamp = NO_BYTECODE_DIR / STAMP
    if not (copied_stamp.is_file() and copied_stamp.read_text() == stamp.read_text()):
        shutil.rmtree(NO_BYTECODE_DIR, ignore_errors=True)
        shutil.copytree(BUILD_DIR, NO_BYTECODE_DIR, ignore=shutil.ignore_patterns("__pycache__"))
    return Build(
        NO_BYTECODE_DIR,
        build.architecture,
        {name: NO_BYTECODE_DIR / path.relative_to(BUILD_DIR) for name, path in build.layers.items()},
        {name: NO_BYTECODE_DIR / path.relative_to(BUILD_DIR) for name, path in build.functions.items()},
    )


def lambda_runtime() -> Path:
    """A stand-in for Lambda's /var/runtime: this venv's boto3 and s3transfer with their bytecode."""
    versions = " ".join(f"{name}=={importlib.metadata.version(name)}" for name in RUNTIME_PACKAGES)
    stamp = RUNTIME_DIR / STAMP
    if stamp.is_file() and stamp.read_text() == versions:
        return RUNTIME_DIR
    shutil.rmtree(RUNTIME_DIR, ignore_errors=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{name} is not installed in this venv: `make deps` installs it")
        source = Path(next(iter(spec.submodule_search_locations)))
        shutil.copytree(source, RUNTIME_DIR / name, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(RUNTIME_DIR, quiet=1, invalidation_mode=PycInvalidationMode.UNCHECKED_HASH)
    stamp.write_text(versions)
    return RUNTIME_DIR
