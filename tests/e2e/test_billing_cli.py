"""`make import` and `make qr` beside a running `make run`: the real CLIs, as processes, against the stack's
DynamoDB Local and over its HTTP API."""

from __future__ import annotations

import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.qr_decode import decode_png, decode_svg

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "import"
ENDPOINT = re.compile(r"^\s+DYNAMODB_ENDPOINT\s+=\s+(?P<url>http://\S+)")


@dataclass(frozen=True)
class Stack:
    """A running local stack: its URL, its DynamoDB endpoint and its signing key."""

    url: str
    dynamodb: str
    key: str


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """`python -m local.run` on a free port, in memory, with a key this test knows."""
    key = secrets.token_urlsafe(48)
    env = {
        n: v for n, v in os.environ.items() if n not in ("DYNAMODB_ENDPOINT", "PUBLIC_BASE_URL", "LOCAL_NOW")
    }
    env.update(TOKEN_SIGNING_KEY=key, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "local.run", "--port", "0", "--in-memory"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    found: queue.Queue[tuple[str, str]] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if match := ENDPOINT.match(line):
                found.put(("dynamodb", match["url"]))
            if line.startswith("READY "):
                found.put(("url", line.split()[1]))

    threading.Thread(target=read, daemon=True).start()
    seen: dict[str, str] = {}
    try:
        while len(seen) < 2:
            name, value = found.get(timeout=180)
            seen[name] = value
        yield Stack(seen["url"], seen["dynamodb"], key)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        DYNAMODB_ENDPOINT=stack.dynamodb,
        TOKEN_SIGNING_KEY=stack.key,
        PUBLIC_BASE_URL=stack.url,
        PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'common' / 'python'}",
    )
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _post(url: str, body: dict[str, str]) -> tuple[int, str]:
    answer = requests.post(url, json=body, timeout=30)
    return answer.status_code, answer.text


def test_import_cli_loads_the_sample_beside_the_stack_and_again_changes_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    # Given the sample files in a folder of their own
    folder = tmp_path / "drop"
    shutil.copytree(SAMPLE, folder)
    # When `make import`'s module runs twice against the running stack's DynamoDB Local
    first = _cli(stack, "local.billing_import", str(folder))
    again = _cli(stack, "local.billing_import", str(folder))
    # Then the first run loads (the demo's two accounts were there already) and the second changes nothing
    assert first.returncode == 0, first.stderr
    assert "accounts: 2 added, 0 changed, 2 unchanged, 0 retired, 0 refused" in first.stderr
    assert "meters: 3 added" in first.stderr
    assert again.returncode == 0, again.stderr
    for kind, n in (("organizations", 4), ("accounts", 4), ("meters", 9)):
        assert f"{kind}: 0 added, 0 changed, {n} unchanged, 0 retired, 0 refused" in again.stderr
    # and each file has its (empty) report beside it
    assert (folder / "meters.report.csv").read_text() == "line,key,code,reason\n"


def test_import_cli_refuses_a_malformed_file_and_says_why(stack: Stack, tmp_path: Path) -> None:
    # Given a meters file saved in Windows-1251
    (tmp_path / "meters.csv").write_bytes((SAMPLE / "meters.csv").read_text().encode("cp1251"))
    # When it is imported
    result = _cli(stack, "local.billing_import", str(tmp_path))
    # Then the run fails, names the reason, and the report says it too
    assert result.returncode == 1
    assert "REFUSED: the file is not UTF-8" in result.stderr
    assert (tmp_path / "meters.report.csv").read_text().splitlines()[1].startswith("0,,file_not_utf8,")


def test_qr_cli_codes_sign_in_on_the_running_stack(stack: Stack, tmp_path: Path) -> None:
    # Given the sample imported (four accounts with meters)
    shutil.copytree(SAMPLE, tmp_path / "drop")
    assert _cli(stack, "local.billing_import", str(tmp_path / "drop")).returncode == 0
    tmp_path = tmp_path / "print"
    # When `make qr`'s module prints the city's codes into a folder
    result = _cli(stack, "local.print_run", "--month", "2026-11", "--out", str(tmp_path), "--processes", "2")
    # Then every account has its codes, and the web code of each signs in on the running stack
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "links.csv").read_text().splitlines()
    accounts = [line.split(",")[0] for line in lines[1:]]
    assert accounts == ["77777", "88888", "100201", "100202"]
    for number in accounts:
        link = decode_png((tmp_path / "web" / f"{number}.png").read_bytes())[0]
        assert link.startswith(stack.url + "/#/qr/")
        status, body = _post(stack.url + "/api/auth/qr", {"token": link.split("#/qr/")[1]})
        assert status == 200, body
        assert decode_svg((tmp_path / "viber" / f"{number}.svg").read_bytes())[0].startswith("viber://pa?")
