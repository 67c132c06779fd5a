"""`make build` (sam build) produces what Lambda will run: the layer's layout and its binaries' architecture.

The source tree can look right while the built layer is wrong (a ContentUri one level off builds
/opt/python/python/ekc and sam still prints "Build Succeeded"), so this test looks at the build itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local.tables import load_template

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
LAYER = BUILD / "CommonLayer" / "python"
WEB_API = BUILD / "WebApiFunction"
# ELF e_machine values (the two bytes at offset 18 of an ELF header).
ELF_MACHINES = {"arm64": 0xB7, "x86_64": 0x3E}
ELF_ARCH_NAMES = {"arm64": "aarch64", "x86_64": "x86_64"}
OUTPUT_TAIL = 60

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
