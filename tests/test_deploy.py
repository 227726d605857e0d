"""The shipped schedules run commands that exist, with flags the CLI accepts."""

import shlex
from pathlib import Path

import yaml

from tests.test_cli import run

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _accepts(cli_env, args: list[str]) -> None:
    """Every --flag in `args` is in the subcommand's --help."""
    subcommand = [a for a in args if not a.startswith("-")][:2]
    shown = run(cli_env, *subcommand, "--help")
    assert shown.returncode == 0, shown.stderr
    for flag in (a for a in args if a.startswith("--")):
        assert flag in shown.stdout, f"{flag} is not an option of citebot {' '.join(subcommand)}"


def test_kubernetes_cronjob_runs_tune_run_without_overlap(cli_env):
    job = yaml.safe_load((DEPLOY / "kubernetes" / "tune-cronjob.yaml").read_text())
    assert job["kind"] == "CronJob" and job["spec"]["concurrencyPolicy"] == "Forbid"
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["tune", "run"]
    _accepts(cli_env, container["args"])


def test_cron_example_runs_tune_run(cli_env):
    lines = [line for line in (DEPLOY / "cron" / "citebot-tune.cron").read_text().splitlines()
             if line and not line.startswith("#") and "=" not in line.split()[0]]
    command = shlex.split(lines[0])[5:]
    args = command[command.index(next(a for a in command if a.endswith("/citebot"))) + 1:]
    args = args[: args.index(">>")] if ">>" in args else args
    assert args[:2] == ["tune", "run"]
    _accepts(cli_env, args)
