"""Build one Lambda layer or function for `sam build`'s makefile method, bytecode included.

Lambda unpacks a layer to /opt and a function to /var/task, both read-only, so a package without
bytecode is compiled again by every cold start and the result thrown away. This builds what the
python3.11 builder built (the source, and the requirements as manylinux wheels for the runtime's
Python and the function's architecture) and then compiles every module with the runtime's Python into
`__pycache__`, as unchecked-hash .pyc files: Python uses them without looking at the source's
timestamp, which the deployment zip does not keep anyway.

Run by lambda_build/Makefile with the interpreter of the runtime (python3.11 for python3.11); it
refuses any other, since another Python's bytecode would be ignored by Lambda's.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import py_compile
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Where Lambda puts each kind of artifact: what tracebacks should name, not the build machine's path.
RUNTIME_ROOTS = {"layer": "/opt/python", "function": "/var/task"}
# The manylinux tags of the wheels the python3.11 builder of aws-lambda-builders accepts (its glibc
# floor for python3.11 is manylinux_2_17): the same set, so the pins in requirements.txt keep their reasons.
PLATFORMS = {
    "arm64": ["manylinux2014_aarch64", "manylinux_2_17_aarch64"],
    "x86_64": ["manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64"],
}
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
UNCHECKED_HASH_FLAGS = 0b01  # PEP 552: hash-based, check_source off


def _python_version(runtime: str) -> tuple[int, int]:
    major, _, minor = runtime.removeprefix("python").partition(".")
    if not (runtime.startswith("python") and major.isdigit() and minor.isdigit()):
        raise SystemExit(f"not a Python Lambda runtime: {runtime!r}")
    return int(major), int(minor)


def install_requirements(requirements: Path, target: Path, runtime: str, architecture: str) -> None:
    """Install the requirements' wheels for Lambda's platform into target (no bytecode: compiled later).

    A package published only as an sdist (docopt) is built into a wheel here first, as the python3.11
    builder does; only a pure-Python one can then install for Lambda's platform.
    """
    major, minor = _python_version(runtime)
    with tempfile.TemporaryDirectory(prefix="lambda-build-wheels-") as wheels:
        pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]
        # This machine's wheels of everything, and wheels built from the sdists among them.
        built = [*pip, "wheel", "--requirement", str(requirements), "--wheel-dir", wheels]
        subprocess.run(built, check=True)  # noqa: S603 - this Python's own pip, our arguments
        platforms = [arg for platform in PLATFORMS[architecture] for arg in ("--platform", platform)]
        command = [*pip, "install", "--requirement", str(requirements), "--target", str(target)]
        command += ["--find-links", wheels, "--only-binary=:all:", *platforms, "--implementation", "cp"]
        command += ["--python-version", f"{major}.{minor}", "--abi", f"cp{major}{minor}"]
        command += ["--no-compile"]  # pip would write timestamp-checked .pyc files with its own settings
        subprocess.run(command, check=True)  # noqa: S603 - this Python's own pip, our arguments
    # Console scripts are not importable and the python3.11 builder leaves them out too.
    shutil.rmtree(target / "bin", ignore_errors=True)


def copy_source(source: Path, target: Path) -> None:
    """Copy the source tree, without any bytecode a developer's runs left in it."""
    shutil.copytree(source, target, ignore=SKIPPED, dirs_exist_ok=True)


def compile_tree(target: Path, runtime_root: str) -> None:
    """Compile every module under target into __pycache__ as unchecked-hash bytecode."""
    ok = compileall.compile_dir(
        target,
        quiet=1,
        force=True,
        workers=0,  # one process per core
        stripdir=str(target),
        prependdir=runtime_root,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise SystemExit(f"some modules under {target} do not compile with Python {sys.version.split()[0]}")


def missing_bytecode(target: Path) -> list[str]:
    """The modules under target without an unchecked-hash .pyc of this Python beside them."""
    missing = []
    for source in sorted(target.rglob("*.py")):
        compiled = Path(importlib.util.cache_from_source(str(source)))
        header = compiled.read_bytes()[:8] if compiled.is_file() else b""
        if header[:4] != importlib.util.MAGIC_NUMBER or int.from_bytes(header[4:8], "little") != (
            UNCHECKED_HASH_FLAGS
        ):
            missing.append(str(source.relative_to(target)))
    return missing


def main(argv: list[str] | None = None) -> int:
    """Build a layer or a function into the artifacts directory sam gives."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(RUNTIME_ROOTS))
    parser.add_argument("--name", required=True, help="the resource's logical id, for messages")
    parser.add_argument("--source", type=Path, required=True, help="the resource's CodeUri (a copy)")
    parser.add_argument("--artifacts", type=Path, required=True, help="sam's ARTIFACTS_DIR")
    parser.add_argument("--runtime", required=True, help="the Lambda runtime, e.g. python3.11")
    parser.add_argument("--architecture", required=True, choices=sorted(PLATFORMS))
    args = parser.parse_args(argv)

    wanted = _python_version(args.runtime)
    if sys.version_info[:2] != wanted:
        raise SystemExit(
            f"{args.name}: {args.runtime} needs Python {wanted[0]}.{wanted[1]} to compile its bytecode, "
            f"but {sys.executable} is {sys.version.split()[0]} (set PYTHON=python{wanted[0]}.{wanted[1]})"
        )
    # A layer's Python packages live under python/ (Lambda puts /opt/python on sys.path).
    target = args.artifacts / "python" if args.kind == "layer" else args.artifacts
    target.mkdir(parents=True, exist_ok=True)
    requirements = args.source / "requirements.txt"
    if requirements.is_file():
        install_requirements(requirements, target, args.runtime, args.architecture)
    copy_source(args.source, target)
    compile_tree(target, RUNTIME_ROOTS[args.kind])
    missing = missing_bytecode(target)
    if missing:
        raise SystemExit(
            f"{args.name}: no unchecked-hash bytecode for {len(missing)} modules: {missing[:10]}"
        )
    modules = sum(1 for _ in target.rglob("*.py"))
    print(f"{args.name}: {modules} modules compiled for {args.runtime} {args.architecture} (unchecked-hash)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
