"""Cold starts as Lambda runs them: a fresh process per container, the built layer and function on its path.

Each measurement starts bench/container.py in a new interpreter with what a Lambda container has on
sys.path (/var/task = the built function, /opt/python = the built layer), writing no bytecode, and
reads the CLOCK_MONOTONIC times it prints. A function and its floor (a minimal handler with the same
libraries and DynamoDB requests, bench/floors/) alternate in pairs, so a noisy machine moves both.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTAINER_SCRIPT = Path(__file__).resolve().parent / "container.py"
MARKER = "BENCH-RESULT "
NANOSECONDS = 1e9
Event = dict[str, Any]


@dataclass(frozen=True)
class Container:
    """What a fresh container runs: its sys.path (/var/task first), its handler and its environment."""

    name: str
    paths: tuple[Path, ...]
    environment: Mapping[str, str]
    module: str = "app"
    handler: str = "lambda_handler"
    # Only the source tree may write bytecode, as a developer's checkout does; Lambda's folders are read-only.
    write_bytecode: bool = False


def lambda_container(
    name: str, task: Path, layers: Sequence[Path], environment: Mapping[str, str], handler: str
) -> Container:
    """A container as Lambda lays it out: /var/task, then each layer's /opt/python; Handler `module.attr`."""
    module, _, attribute = handler.rpartition(".")
    return Container(name, (task, *layers), environment, module, attribute)


@dataclass
class Run:
    """One container's life: when its interpreter started, imported the handler and answered each event."""

    spawned: int
    started: int
    import_started: int
    imported: int
    answers: list[dict[str, Any]]
    import_cpu: int = 0
    clients: int | None = None
    cookie: str | None = None
    compiled_from_source: list[str] | None = None
    output: str = field(default="", repr=False)

    @property
    def import_seconds(self) -> float:
        """The handler module's import."""
        return (self.imported - self.import_started) / NANOSECONDS

    @property
    def import_cpu_seconds(self) -> float:
        """CPU time of the handler module's import: what other processes on this machine do not move."""
        return self.import_cpu / NANOSECONDS

    @property
    def first_answer_cpu_seconds(self) -> float:
        """The process's CPU time from its start to the first answer."""
        return self.answers[0]["cpu"] / NANOSECONDS

    @property
    def first_answer_seconds(self) -> float:
        """From spawning the process to the first answer: the cold start, end to end."""
        return (self.answers[0]["at"] - self.spawned) / NANOSECONDS

    @property
    def first_request_seconds(self) -> float:
        """From the import's end to the first answer."""
        return (self.answers[0]["at"] - self.imported) / NANOSECONDS

    @property
    def statuses(self) -> list[int]:
        """The HTTP status of each answer."""
        return [answer["status"] for answer in self.answers]


def run(
    container: Container, events: Sequence[Event] = (), instrument: bool = False, watch_compiles: bool = False
) -> Run:
    """Start one fresh container, let it import its handler and handle `events`; its times and answers."""
    spec = {
        "paths": [str(path) for path in container.paths],
        "module": container.module,
        "handler": container.handler,
        "events": list(events),
        "instrument": instrument,
        "watch_compiles": watch_compiles,
    }
    # -I: no PYTHON* variables and no script folder on sys.path; -S: no site-packages, only what the
    # paths hold; -B: no bytecode written, as on Lambda's read-only file systems.
    flags = ["-I", "-S"] if container.write_bytecode else ["-I", "-S", "-B"]
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": ":UTC"}
    environment.update(container.environment)
    spawned = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    result = subprocess.run(
        [sys.executable, *flags, str(CONTAINER_SCRIPT)],
        input=json.dumps(spec),  # the spec on stdin: nothing on disk for another process to tidy away
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
    if result.returncode != 0 or not lines:
        raise RuntimeError(
            f"{container.name}: the container failed (exit {result.returncode}):\n"
            + "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        )
    data = json.loads(lines[-1].removeprefix(MARKER))
    return Run(
        spawned=spawned,
        started=data["started"],
        import_started=data["import_started"],
        imported=data["imported"],
        answers=data["answers"],
        import_cpu=data["import_cpu"],
        clients=data["clients"],
        cookie=data["cookie"],
        compiled_from_source=data["compiled_from_source"],
        output=result.stdout,
    )


def _expect(run_: Run, name: str, statuses: Sequence[int]) -> Run:
    if run_.statuses != list(statuses):
        raise RuntimeError(
            f"{name}: answered {run_.statuses}, expected {list(statuses)}:\n{run_.output[-3000:]}"
        )
    return run_


def _median(values: Sequence[float], digits: int = 4) -> float:
    return round(statistics.median(values), digits)


def cold_start(
    function: Container,
    floor: Container,
    event_factory: Callable[[], Event],
    pairs: int = 11,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """A fresh container to its first answer, the function against its floor: median of paired ratios."""
    for container in (function, floor, function, floor):  # warm the file cache for both alike
        _expect(run(container, [event_factory()]), container.name, [200])
    runs: dict[str, list[Run]] = {function.name: [], floor.name: []}
    for pair in range(pairs):
        order = (function, floor) if pair % 2 == 0 else (floor, function)
        for container in order:
            runs[container.name].append(_expect(run(container, [event_factory()]), container.name, [200]))
        latest = {name: f"{done[-1].first_answer_seconds:.3f} s" for name, done in runs.items()}
        progress(f"  pair {pair + 1}/{pairs}: " + ", ".join(f"{name} {t}" for name, t in latest.items()))
    mine, base = runs[function.name], runs[floor.name]
    ratios = [a.first_answer_seconds / b.first_answer_seconds for a, b in zip(mine, base, strict=True)]
    cpu_ratios = [
        a.first_answer_cpu_seconds / b.first_answer_cpu_seconds for a, b in zip(mine, base, strict=True)
    ]
    return {
        "ratio": _median(ratios, 3),
        # The same in CPU time of the container's process (DynamoDB Local's work is not in it).
        "cpu_ratio": _median(cpu_ratios, 3),
        "pairs": pairs,
        "seconds": _median([r.first_answer_seconds for r in mine]),
        "import_seconds": _median([r.import_seconds for r in mine]),
        "first_request_seconds": _median([r.first_request_seconds for r in mine]),
        "floor_seconds": _median([r.first_answer_seconds for r in base]),
        "floor_import_seconds": _median([r.import_seconds for r in base]),
        "floor_first_request_seconds": _median([r.first_request_seconds for r in base]),
        # How far the pairs spread: the middle half of their ratios (a busy machine widens it).
        "ratio_quartiles": quartiles(ratios),
    }


def import_times(
    containers: Sequence[Container], rounds: int = 9, progress: Callable[[str], None] = print
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Import seconds (wall, CPU) of each container's handler in fresh processes, taking turns."""
    for container in containers:  # the source tree writes its bytecode here, as a checkout has it
        run(container)
    times: dict[str, list[float]] = {container.name: [] for container in containers}
    cpu: dict[str, list[float]] = {container.name: [] for container in containers}
    for round_ in range(rounds):
        order = containers if round_ % 2 == 0 else list(reversed(containers))
        for container in order:
            imported = run(container)
            times[container.name].append(imported.import_seconds)
            cpu[container.name].append(imported.import_cpu_seconds)
        progress(
            f"  round {round_ + 1}/{rounds}: "
            + ", ".join(f"{name} {values[-1]:.3f} s" for name, values in times.items())
        )
    return times, cpu


def quartiles(values: Sequence[float]) -> list[float]:
    """The first and third quartiles."""
    first, _, third = statistics.quantiles(values, n=4)
    return [round(first, 3), round(third, 3)]


def paired_ratios(times: Mapping[str, Sequence[float]], numerator: str, denominator: str) -> list[float]:
    """The round-by-round ratios of two containers' times."""
    return [a / b for a, b in zip(times[numerator], times[denominator], strict=True)]


def paired_ratio(times: Mapping[str, Sequence[float]], numerator: str, denominator: str) -> float:
    """Median of the round-by-round ratios of two containers' times."""
    return _median(paired_ratios(times, numerator, denominator), 3)


def clients_and_requests(container: Container, events: Sequence[Event]) -> dict[str, Any]:
    """botocore clients made and DynamoDB operations sent by a fresh container over `events`."""
    fresh = _expect(run(container, events, instrument=True), container.name, [200] * len(events))
    seconds, previous = [], fresh.imported
    for answer in fresh.answers:
        seconds.append(round((answer["at"] - previous) / NANOSECONDS, 4))
        previous = answer["at"]
    return {
        "clients": fresh.clients,
        "operations": [answer["operations"] for answer in fresh.answers],
        "request_seconds": seconds,
        "cookie": fresh.cookie,
    }
