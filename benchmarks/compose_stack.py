"""deploy/docker-compose.yml brought up whole with podman-compose and used as a team would, through Slack.

    make compose-test        (scripts/compose_test.sh: podman set up, then this module)

Every image is built here (deploy/compose.local.yml over the compose file: no registry is reachable).
The Slack stand-in runs in this process, listening on every interface; the bots reach it as
`host.containers.internal`, and it validates each Web API call against Slack's published spec. What is
checked, in order: the engines become healthy; `migrate` upgrades the schema and exits 0; both bot
replicas answer /readyz behind nginx; `/reindex docs` (sent to nginx) runs on a queue worker and reports
back in Slack; mentions sent to nginx are answered once each with sources, by both replicas (their own
/metrics); every answer has its audit row (read through the review page, signed in with its token);
`stop` ends every citebot container with exit status 0 (SIGTERM: graceful). One JSON object of timings.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from benchmarks.cluster import wait_http
from demo import DEMO_QUESTIONS
from emulator.slack import SlackEmulator

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "citebotci"
FILES = ["-f", str(ROOT / "deploy/docker-compose.yml"), "-f", str(ROOT / "deploy/compose.local.yml")]
LB = "http://127.0.0.1:3000"
REVIEW = "http://127.0.0.1:8080"
CHANNEL, ADMIN = "C0COMPOSE", "U0ADMIN"
REVIEW_TOKEN = "compose-review-token"
QUESTIONS = [DEMO_QUESTIONS[0], "How long are database backups kept?", "Who writes the status page updates?",
             "How do I get VPN access?"]


def compose(*args: str, check: bool = True) -> None:
    """podman-compose on this project, its output shown only when it fails (podman's progress output
    would bury the report); podman's own build flags come from scripts/podman_setup.sh."""
    build_args = os.environ.get("CITEBOT_PODMAN_BUILD_ARGS", "")
    command = [str(Path(sys.executable).parent / "podman-compose"), "-p", PROJECT, *FILES]
    if build_args:
        command += ["--podman-build-args", build_args]
    done = subprocess.run([*command, *args], text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and done.returncode:
        print(done.stdout[-20000:], file=sys.stderr)
        raise SystemExit(f"compose-test: podman-compose {' '.join(args)} exited with {done.returncode}")


def podman(*args: str, check: bool = True) -> str:
    return subprocess.run(["podman", *args], check=check, text=True, capture_output=True).stdout.strip()


def containers(service: str) -> list[str]:
    names = podman("ps", "-a", "--filter", f"label=com.docker.compose.project={PROJECT}",
                   "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}")
    return sorted(names.split())


def wait_until(what: str, ready, timeout: float, interval: float = 1.0, seen=None):
    """`ready()`'s first true result; else exits saying what did not happen (and `seen()`: what did)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = ready()
        if result:
            return result
        time.sleep(interval)
    raise SystemExit(f"compose-test: {what} not within {timeout:.0f} s" + (f"; seen: {seen()}" if seen else ""))


def healthy(name: str) -> bool:
    """One run of the container's own health check (podman 4.3 runs none by itself without systemd)."""
    return subprocess.run(["podman", "healthcheck", "run", name], capture_output=True).returncode == 0


def replica_answers(name: str) -> float:
    """citebot_answers_total from one bot replica's own /metrics (read inside its container)."""
    script = ("import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:3000/metrics').read().decode())")
    metrics = podman("exec", name, "python", "-c", script)
    return sum(float(m) for m in re.findall(r"^citebot_answers_total\{[^}]*\} (\S+)$", metrics, re.M))


def review_listing() -> str:
    """The review page's answer list, signed in with the review token as a person would."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = urllib.parse.urlencode({"token": REVIEW_TOKEN}).encode()
    with opener.open(f"{REVIEW}/login", data=form, timeout=10) as response:
        return response.read().decode()


def run(keep: bool) -> dict:
    timings: dict[str, float] = {}
    started = time.monotonic()

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started - sum(timings.values()), 1)

    compose("down", "-v", check=False)  # what an earlier, interrupted run left
    # The four citebot services share one image: build it once (podman-compose would build it per service,
    # all at once), then the engines; `up` builds nothing that is there.
    compose("build", "bot")
    compose("build", "postgres", "redis", "rabbitmq", "lb")
    lap("build_s")
    with SlackEmulator(bind="0.0.0.0", public_host="host.containers.internal") as slack:
        slack.add_channel(CHANNEL, "compose")
        os.environ.update({"SLACK_API_URL": slack.api_url, "SLACK_SIGNING_SECRET": slack.signing_secret,
                           "CITEBOT_SLACK_ADMINS": ADMIN, "CITEBOT_REVIEW_TOKEN": REVIEW_TOKEN})
        try:
            compose("up", "-d", "postgres", "redis", "rabbitmq", "chroma")
            for engine in ("postgres", "redis", "rabbitmq"):
                wait_until(f"{engine} healthy", lambda e=engine: all(healthy(n) for n in containers(e)), 180)
            # The rest in dependency order, each step once the last is done: podman before 4.6 ignores
            # `condition: service_healthy`, and 4.3 cannot start a container whose `--requires` chain
            # reaches containers started earlier (so --no-deps: this loop is the ordering).
            compose("up", "-d", "--no-deps", "migrate")
            migrate = containers("migrate")
            wait_until("migrate finished", lambda: podman("inspect", "--format", "{{.State.Status}}", *migrate)
                       == "exited", 180)
            migrate_status = podman("inspect", "--format", "{{.State.ExitCode}}", *migrate)
            if migrate_status != "0":
                raise SystemExit(f"compose-test: migrate exited with {migrate_status}")
            compose("up", "-d", "--no-deps", "bot", "worker", "review")
            bots = containers("bot")
            wait_until("both bot replicas ready", lambda: all(healthy(n) for n in bots), 300, 2)
            compose("up", "-d", "--no-deps", "lb")
            wait_http(f"{LB}/readyz", "nginx", timeout=60)
            lap("up_s")

            acked = slack.send_command(f"{LB}/slack/events", "/reindex", "docs", ADMIN, CHANNEL)
            finished = wait_until("the reindex reported in Slack", lambda: [
                m for m in slack.posted if "Reindex finished" in m.get("text", "")], 180,
                seen=lambda: [acked, [(c.method, c.params.get("text")) for c in slack.calls]])
            lap("reindex_s")

            asked, ack_ms = [], []
            for question in QUESTIONS:
                ts = slack._new_ts()
                event = {"type": "app_mention", "user": "U0ASKER", "text": f"<@{slack.BOT_USER}> {question}",
                         "ts": ts, "channel": CHANNEL}
                started_ack = time.monotonic()
                status, _ = slack.send_event(f"{LB}/slack/events", event)
                ack_ms.append(round((time.monotonic() - started_ack) * 1000))
                if status != 200:
                    raise SystemExit(f"compose-test: nginx answered the event with HTTP {status}")
                asked.append(ts)
            def all_answered():
                replies = [slack.replies_to(CHANNEL, ts) for ts in asked]
                return replies if all(r and slack.answered(r[0]) for r in replies) else None

            replies = wait_until("every answer", all_answered, 180, 0.5)
            lap("answers_s")
            time.sleep(2)  # a second reply to a question, were there one, would have been posted by now
            once = all(len(slack.replies_to(CHANNEL, ts)) == 1 for ts in asked)
            with_sources = sum("Sources" in json.dumps(r[0].get("blocks", [])) for r in replies)
            per_replica = {name: replica_answers(name) for name in bots}
            listing = review_listing()
            audited = sum(question in listing for question in QUESTIONS)

            compose("stop")
            lap("stop_s")
            exits = {name: podman("inspect", "--format", "{{.State.ExitCode}}", name)
                     for service in ("bot", "worker", "review") for name in containers(service)}
        finally:
            if not keep:
                compose("down", "-v", check=False)
        report = {"timings": timings, "services": sorted(exits), "reindex_ack": [acked[0], acked[1].decode()],
                  "reindex_message": finished[-1]["text"][:120], "mention_ack_ms": ack_ms,
                  "questions": len(QUESTIONS), "answered_once": once, "answers_with_sources": with_sources,
                  "answers_per_bot_replica": per_replica, "audited_in_review_page": audited,
                  "exit_status_after_stop": exits, "slack_spec_violations": slack.violations}
    failures = [f for f, bad in (
        (f"/reindex was not acknowledged at once (got HTTP {acked[0]}: {acked[1][:200]!r})",
         acked != (200, "Reindex starting…".encode())),
        ("a question was not answered exactly once", not once),
        ("an answer has no sources", with_sources != len(QUESTIONS)),
        ("one bot replica answered nothing (nginx round robin)", not all(per_replica.values()) or len(bots) < 2),
        ("an answer is missing from the review page", audited != len(QUESTIONS)),
        ("a container did not stop cleanly on SIGTERM", any(code != "0" for code in exits.values())),
        ("a Web API call broke Slack's spec", bool(slack.violations))) if bad]
    report["failures"] = failures
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the stopped containers and volumes for a look")
    report = run(parser.parse_args().keep)
    print(json.dumps(report, indent=2))
    if report["failures"]:
        raise SystemExit("compose-test: " + "; ".join(report["failures"]))


if __name__ == "__main__":
    main()
