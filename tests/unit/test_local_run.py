"""How `python -m local.run` prepares the functions: their settings, workers and demo clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from local.run import _demo_clock, choose_environment, function_configs
from local.template import Resolver, functions, load_template

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "local_stack"


def test_function_configs_run_each_function_from_its_template_folder_with_its_limits() -> None:
    # Given the fake template, read as the stack reads it
    template = load_template(FAKE / "template.yaml")
    functions_ = functions(template, Resolver(template, {"Things": "Things", "DataBucket": "data-bucket"}))

    # When the workers' configuration is made, with OVERRIDDEN set in the developer's shell
    environ = {"PATH": "/usr/bin", "OVERRIDDEN": "from-shell"}
    configs = {c.name: c for c in function_configs(functions_, environ, {"OVERRIDDEN"}, 8, FAKE)}

    # Then code and layers come from the template's folder, limits from the template
    alpha, beta = configs["AlphaFunction"], configs["BetaFunction"]
    assert alpha.path == (str(FAKE / "functions" / "alpha"), str(FAKE / "layer"))
    assert alpha.cwd == str(FAKE / "functions" / "alpha") and alpha.handler == "app.handler"
    assert (alpha.max_workers, beta.max_workers) == (3, 8)  # ReservedConcurrentExecutions, else the default
    assert (alpha.timeout, beta.timeout, alpha.memory_size) == (30, 2, 256)
    # And each environment is the stack's, the Globals and its own, the shell's value winning
    assert alpha.environment["POWERTOOLS_SERVICE_NAME"] == "alpha"
    assert beta.environment["POWERTOOLS_SERVICE_NAME"] == "beta"
    assert alpha.environment["OVERRIDDEN"] == beta.environment["OVERRIDDEN"] == "from-shell"
    assert alpha.environment["TABLE_NAME"] == "Things" and alpha.environment["PATH"] == "/usr/bin"
    assert alpha.environment["TZ"] == ":UTC"


def test_choose_environment_keeps_what_the_shell_set_and_says_where_values_came_from(tmp_path: Path) -> None:
    template = load_template(FAKE / "template.yaml")
    chosen = choose_environment(
        "http://127.0.0.1:3000", tmp_path, functions(template), template, {"STAGE": "mine"}
    )
    assert chosen["STAGE"] == ("mine", "from the environment")
    assert chosen["PUBLIC_BASE_URL"] == ("http://127.0.0.1:3000", "this gateway")
    assert chosen["SHARED"] == ("from-globals", "template.yaml")  # the same for every function
    assert "OVERRIDDEN" not in chosen  # differs between functions: each worker gets its own
    # The signing key is random and kept beside the data, so sessions survive a restart
    key, _ = chosen["TOKEN_SIGNING_KEY"]
    assert len(key) >= 32 and (tmp_path / "token-signing-key").read_text() == key
    assert chosen == choose_environment(
        "http://127.0.0.1:3000", tmp_path, functions(template), template, {"STAGE": "mine"}
    )


def test_demo_clock_gives_later_workers_the_time_the_demo_clock_shows_then() -> None:
    # Given a stack started with LOCAL_NOW at real time 1000.0
    local_now = datetime.fromisoformat("2026-11-24T23:04:36+02:00")
    # When a worker starts 90 real seconds later
    environment = _demo_clock(local_now, real_start=1000.0, now=lambda: 1090.0)()
    # Then its LOCAL_NOW is 90 seconds on, with the same offset
    assert datetime.fromisoformat(environment["LOCAL_NOW"]) == local_now + timedelta(seconds=90)
    assert environment["LOCAL_NOW"].endswith("+02:00")
