"""`make build` (sam build) produces what Lambda will run: the layer's layout, its binaries' architecture,
and bytecode Lambda can use as it is.

The source tree can look right while the built layer is wrong (a ContentUri one level off builds
/opt/python/python/ekc and sam still prints "Build Succeeded"), so this test looks at the build itself.
Lambda's /opt and /var/task are read-only and sam's zip dates every file 1980-01-01, so only bytecode
that is unchecked-hash, for the runtime's Python, saves a cold start from compiling every module.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.cold_start import Container, run
from bench.host_build import FUNCTION_TYPE, build_for_host
from local.tables import load_template

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
LAYER = BUILD / "CommonLayer" / "python"
WEB_API = BUILD / "WebApiFunction"
# ELF e_machine values (the two bytes at offset 18 of an ELF header).
ELF_MACHINES = {"arm64": 0xB7, "x86_64": 0x3E}
ELF_ARCH_NAMES = {"arm64": "aarch64", "x86_64": "x86_64"}
OUTPUT_TAIL = 60
# The bytecode magic number of each Lambda Python runtime (importlib's MAGIC_NUMBER, first two bytes).
RUNTIME_MAGIC = {"python3.11": 3495, "python3.12": 3531, "python3.13": 3571}
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z: the date sam's deployment zip gives every file

# All tests here share one build: with pytest-xdist they must run in the same worker.
pytestmark = pytest.mark.xdist_group("sam-build")


def _tail(text: str, lines: int = OUTPUT_TAIL) -> str:
    """The last non-empty lines of a command's output."""
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    """Run `make build` once; fail with the tail of sam's output if it does not succeed."""
    if shutil.which("make") is None:
        pytest.fail("`make` is not installed: the build test needs it (apt-get install make)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        ["make", "build"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1800,
        check=False,
        env=env,
    )
    # pip's notes about the machine's extra package indexes drown the real error; leave them out.
    output = "\n".join(
        line for line in result.stdout.splitlines() if not line.startswith("WARNING: Location ")
    )
    assert result.returncode == 0, (
        f"`make build` exited {result.returncode}; its output ends with:\n{_tail(output)}"
    )
    globals_ = load_template(ROOT / "template.yaml")["Globals"]["Function"]
    return {"output": output, "architecture": globals_["Architectures"][0], "runtime": globals_["Runtime"]}


def function_ids() -> list[str]:
    """Every AWS::Serverless::Function of template.yaml."""
    resources = load_template(ROOT / "template.yaml")["Resources"]
    return sorted(name for name, resource in resources.items() if resource.get("Type") == FUNCTION_TYPE)


def elf_machine(path: Path) -> int:
    """The e_machine field of an ELF file (little-endian, as on both Lambda architectures)."""
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert header[5] == 1, f"{path} is not little-endian"
    return int.from_bytes(header[18:20], "little")


def test_build_layer_holds_the_package_at_the_top_of_python(built: dict[str, Any]) -> None:
    # Given `make build` has run
    # Then the layer unpacks to /opt/python/ekc, importable in Lambda, and not /opt/python/python/ekc
    assert (LAYER / "ekc" / "__init__.py").is_file()
    assert not (LAYER / "python").exists(), "the layer would unpack to /opt/python/python: fix its ContentUri"
    assert (LAYER / "ekc" / "py.typed").is_file()


@pytest.mark.parametrize(
    "package", ["pynamodb", "aws_lambda_powertools", "argon2", "pydantic_core", "qrcode"]
)
def test_build_layer_holds_the_runtime_dependencies(built: dict[str, Any], package: str) -> None:
    # Given the built layer / Then the packages of layers/common/python/requirements.txt are in it
    assert (LAYER / package / "__init__.py").is_file(), f"{package} is missing from the built layer"


def test_build_layer_binaries_are_for_the_functions_architecture(built: dict[str, Any]) -> None:
    # Given the architecture and runtime the template builds for
    architecture, runtime = built["architecture"], built["runtime"]
    expected = ELF_MACHINES[architecture]
    python_tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    # When the compiled extensions in the layer are inspected
    pydantic_core = list((LAYER / "pydantic_core").glob("_pydantic_core*.so"))
    assert len(pydantic_core) == 1, f"expected one compiled pydantic_core, found {pydantic_core}"
    binaries = sorted(LAYER.rglob("*.so")) + sorted(LAYER.rglob("*.so.*"))
    # Then pydantic_core, argon2's bindings and every other binary are for that architecture
    assert elf_machine(pydantic_core[0]) == expected, (
        f"{pydantic_core[0].name} is not built for {architecture}"
    )
    assert python_tag in pydantic_core[0].name and ELF_ARCH_NAMES[architecture] in pydantic_core[0].name
    assert any("argon2" in str(path.relative_to(LAYER)) for path in binaries), (
        "argon2's compiled bindings missing"
    )
    wrong = [str(path.relative_to(LAYER)) for path in binaries if elf_machine(path) != expected]
    assert wrong == [], f"binaries not built for {architecture}: {wrong}"
    # and none is built for another Python than the runtime's
    other_pythons = [
        path.name for path in binaries if re.search(r"cpython-\d+", path.name) and python_tag not in path.name
    ]
    assert other_pythons == []


def test_build_web_api_function_holds_its_handler_and_not_the_layer(built: dict[str, Any]) -> None:
    # Given the built web API function
    # Then its handler module is at the top of /var/task
    assert (WEB_API / "app.py").is_file()
    # and the domain is not copied into it: a copy in /var/task would shadow the layer's ekc
    assert not (WEB_API / "ekc").exists()


def test_build_viber_function_holds_viberbot_for_the_architecture_and_not_the_layer(
    built: dict[str, Any],
) -> None:
    # Given the built Viber webhook
    viber = BUILD / "ViberWebhookFunction"
    # Then it holds its handler and its own dependencies (viberbot, requests), not the layer's package
    assert (viber / "app.py").is_file()
    assert (viber / "viberbot" / "__init__.py").is_file()
    assert (viber / "requests" / "__init__.py").is_file()
    assert not (viber / "ekc").exists()
    assert not (LAYER / "viberbot").exists(), "viberbot belongs to the Viber function, not the shared layer"
    # And any compiled module in it is for the functions' architecture
    for binary in viber.rglob("*.so"):
        assert elf_machine(binary) == ELF_MACHINES[built["architecture"]], binary


# ---- bytecode --------------------------------------------------------------------------------------------


def bytecode_faults(folder: Path, runtime: str) -> list[str]:
    """Modules under folder without an unchecked-hash .pyc of the runtime's Python compiled from them."""
    tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    magic = RUNTIME_MAGIC[runtime].to_bytes(2, "little") + b"\r\n"
    same_python = f"python{sys.version_info[0]}.{sys.version_info[1]}" == runtime
    faults = []
    for source in sorted(folder.rglob("*.py")):
        where = str(source.relative_to(folder))
        compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        if not compiled.is_file():
            faults.append(f"{where}: no __pycache__/{compiled.name}")
            continue
        header = compiled.read_bytes()[:16]
        if header[:4] != magic:
            faults.append(f"{where}: bytecode of another Python (magic {header[:4]!r})")
        elif int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
            faults.append(f"{where}: not unchecked-hash (flags {int.from_bytes(header[4:8], 'little')})")
        elif same_python and header[8:16] != importlib.util.source_hash(source.read_bytes()):
            faults.append(f"{where}: compiled from another source")
    return faults


def test_build_every_function_is_built_with_bytecode() -> None:
    # Given template.yaml
    template = load_template(ROOT / "template.yaml")
    layer = template["Resources"]["CommonLayer"]["Metadata"]
    makefile = ROOT / layer["ContextPath"] / "Makefile"
    # Then the layer and every function are built by lambda_build/Makefile, whose pattern rule
    # build-%Function builds any function named like the others
    assert layer["BuildMethod"] == "makefile"
    assert "build-CommonLayer:" in makefile.read_text()
    assert "build-%Function:" in makefile.read_text()
    for logical_id in function_ids():
        metadata = template["Resources"][logical_id].get("Metadata") or {}
        assert metadata.get("BuildMethod") == "makefile", (
            f"{logical_id}: add `Metadata: {{BuildMethod: makefile, ContextPath: lambda_build}}`"
        )
        assert metadata.get("ContextPath") == layer["ContextPath"]
        assert logical_id.endswith("Function"), f"{logical_id}: the Makefile builds build-<Name>Function"


def test_build_layer_and_functions_hold_unchecked_hash_bytecode_of_the_runtime(built: dict[str, Any]) -> None:
    # Given the built layer and functions
    folders = {"CommonLayer": LAYER} | {logical_id: BUILD / logical_id for logical_id in function_ids()}
    for name, folder in folders.items():
        modules = list(folder.rglob("*.py"))
        assert modules, f"{name} holds no module"
        # Then every module has its bytecode in __pycache__, for the runtime's Python, unchecked-hash,
        # compiled from that very source
        assert bytecode_faults(folder, built["runtime"]) == [], name
        # and no bytecode of another Python or beside the sources
        tag = "cpython-" + built["runtime"].removeprefix("python").replace(".", "")
        strays = [str(p.relative_to(folder)) for p in folder.rglob("*.pyc") if f".{tag}." not in p.name]
        assert strays == [], f"{name}: bytecode of another Python"


@pytest.fixture
def read_only_copy(built: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, Path]]:
    """/opt/python and /var/task of web_api as Lambda unpacks them: zip-dated, read-only.

    The layer built for arm64 cannot load its binaries here, so this is the same build for this
    machine's architecture (bench/host_build.py: sam build of the template with only that changed).
    """
    build = build_for_host(progress=lambda _: None)
    opt, task = tmp_path / "opt" / "python", tmp_path / "var" / "task"
    shutil.copytree(build.layers["CommonLayer"], opt)
    shutil.copytree(build.functions["WebApiFunction"], task)
    for path in [*opt.rglob("*"), *task.rglob("*"), opt, task]:
        os.utime(path, (ZIP_EPOCH, ZIP_EPOCH), follow_symlinks=False)
    for path in [*opt.rglob("*"), *task.rglob("*"), opt, task]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    yield {"opt": opt, "task": task}
    for path in [opt, task, *opt.rglob("*"), *task.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for f in folders for p in [f, *f.rglob("*")]}


def test_build_imports_from_a_read_only_copy_without_compiling_or_writing(
    read_only_copy: dict[str, Path], built: dict[str, Any]
) -> None:
    # Given the built layer and web_api as Lambda has them, files dated as the zip dates them
    opt, task = read_only_copy["opt"], read_only_copy["task"]
    assert bytecode_faults(opt, built["runtime"]) == []
    before = _snapshot(opt, task)
    environment = {
        "TABLE_NAME": "MainTable",
        "AWS_REGION": "eu-central-1",
        "TOKEN_SIGNING_KEY": "build-test-signing-key-0123456789abcdef",
        "POWERTOOLS_SERVICE_NAME": "web_api",
    }
    # When a fresh interpreter that may write bytecode imports the handler from /var/task and /opt/python
    container = Container("web_api", (task, opt), environment, "app", "lambda_handler", write_bytecode=True)
    imported = run(container, watch_compiles=True)
    # Then no module of the layer or the function was compiled from its source
    ours = [path for path in imported.compiled_from_source or [] if path.startswith(str(opt.parent.parent))]
    assert imported.compiled_from_source is not None
    assert ours == []
    # and nothing was written: no new __pycache__, no rewritten .pyc
    assert _snapshot(opt, task) == before


def test_build_import_check_sees_a_module_compiled_and_written(tmp_path: Path) -> None:
    # Given a module without bytecode in a writable folder (what the read-only check must catch)
    (tmp_path / "app.py").write_text("lambda_handler = print\n")
    before = _snapshot(tmp_path)
    # When a fresh interpreter imports it the way the read-only check does
    imported = run(
        Container("plain", (tmp_path,), {}, "app", "lambda_handler", write_bytecode=True), watch_compiles=True
    )
    # Then the check sees it compiled from source and its bytecode written
    assert imported.compiled_from_source == [str(tmp_path / "app.py")]
    assert _snapshot(tmp_path) != before
    assert (tmp_path / "__pycache__").is_dir()


def test_build_template_has_no_dependency_cycle_once_sam_translates_it(built: dict[str, Any]) -> None:
    # Given the template as CloudFormation sees it after SAM's transform (sam's own venv has the translator)
    sam_python = ROOT / ".sam-venv" / "bin" / "python"
    script = Path(__file__).with_name("sam_dependencies.py")
    # When its resources' references are followed
    result = subprocess.run(
        [str(sam_python), str(script), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "AWS_DEFAULT_REGION": "eu-central-1"},
    )
    # Then no resource depends on itself through others (CloudFormation would refuse the stack)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "no cycle", result.stdout
