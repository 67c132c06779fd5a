"""What the local command-line tools share: finding the running stack's endpoints and signing key."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from local.tables import ROOT

# A running `make run` may leave its endpoints here (KEY=VALUE lines); the shell's values win.
STACK_ENV = ROOT / ".local" / "stack.env"
# `make run` keeps its random dev signing key here, so QR links made beside it are accepted by it.
KEY_FILE = ROOT / ".local" / "ddb" / "token-signing-key"


def stack_environment(path: Path = STACK_ENV) -> dict[str, str]:
    """The values a running stack wrote down, if it did."""
    if not path.is_file():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() and not name.startswith("#"):
            found[name.strip()] = value.strip()
    return found


def prepare(*, aws: bool, need_dynamodb: bool, need_signing_key: bool = False) -> None:
    """Set the environment the layer's settings read: the stack's endpoints (or AWS), dummy local keys."""
    for name, value in stack_environment().items():
        os.environ.setdefault(name, value)
    if aws:
        return
    if need_dynamodb and not os.environ.get("DYNAMODB_ENDPOINT"):
        raise SystemExit(
            'DYNAMODB_ENDPOINT is not set. `make run` prints it ("DYNAMODB_ENDPOINT = http://127.0.0.1:NNNN"):\n'
            "  make import DIR=tests/data/import DYNAMODB_ENDPOINT=http://127.0.0.1:NNNN\n"
            "or pass --aws to use the AWS account of your credentials (TABLE_NAME names the table)."
        )
    # DynamoDB Local and moto accept any key; DynamoDB Local wants letters and digits only.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_REGION", "eu-central-1")
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ["AWS_REGION"])
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "local-cli")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    if need_signing_key and not os.environ.get("TOKEN_SIGNING_KEY"):
        if not KEY_FILE.is_file():
            raise SystemExit(
                f"TOKEN_SIGNING_KEY is not set and {KEY_FILE.relative_to(ROOT)} does not exist: start "
                "`make run` once (it makes the dev key), or set TOKEN_SIGNING_KEY to the key to sign with."
            )
        os.environ["TOKEN_SIGNING_KEY"] = KEY_FILE.read_text(encoding="utf-8").strip()


def progress_line(stage: str, done: int, total: int) -> None:
    """One progress line on stderr, rewritten in place on a terminal."""
    percent = 100 * done // total if total else 100
    end = "\n" if done >= total else ""
    if sys.stderr.isatty():
        print(f"\r  {stage}: {done}/{total} ({percent}%)\x1b[K", end=end, file=sys.stderr, flush=True)
    elif done >= total:
        print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)
