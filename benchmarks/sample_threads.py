"""A realistic sample of resolved support threads, written as a standard Slack export folder.

No public dataset of support threads with escalation habits ships on PyPI with a licence we could
reuse, so the sample is generated: a fictional platform team's #help-* channels, where askers report
problems in many phrasings and the team answers in its house style (thank, loop in the owning group,
ask for the details that group needs, keep it in the thread). The generator is seeded, so
`python -m benchmarks.sample_threads DIR` rebuilds the shipped folder byte for byte, and benchmarks can
ask for more threads than the ~200 shipped.

The export also holds what real exports hold and the dataset builder must cope with: bot posts,
threads nobody marked resolved, threads with only bot messages, pasted tokens and e-mail addresses.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "tuning" / "sample_export"
RESOLVED_REACTION = "white_check_mark"
GROUPS = {"db": ("S01DB", "@db-team"), "sre": ("S02SRE", "@sre-oncall"), "it": ("S03IT", "@it-helpdesk"),
          "sec": ("S04SEC", "@security"), "ci": ("S05CI", "@ci-owners"), "rel": ("S06REL", "@release-managers"),
          "fin": ("S07FIN", "@finance-ops")}
PEOPLE = [("U101", "Priya Raman"), ("U102", "Tom Becker"), ("U103", "Ana Souza"), ("U104", "Kenji Mori"),
          ("U105", "Lena Fischer"), ("U106", "Omar Haddad"), ("U107", "Sofia Rossi"), ("U108", "Jonas Berg"),
          ("U109", "Maya Cohen"), ("U110", "Luis Ortega"), ("U111", "Chloe Martin"), ("U112", "Arjun Nair")]
RESPONDERS = [("U201", "Grace Lee"), ("U202", "Noah Williams"), ("U203", "Ines Duarte")]
BOT_ID = "B900CITEBOT"


@dataclass(frozen=True)
class Issue:
    question: str
    details: tuple[str, ...]  # what the asker may add
    asks: tuple[str, ...]  # what the owning group needs to know


@dataclass(frozen=True)
class Topic:
    channel: str
    group: str
    area: str
    issues: tuple[Issue, ...]


TOPICS = [
    Topic("help-platform", "db", "the databases", (
        Issue("the orders read replica is lagging way behind primary, dashboards show stale data",
              ("it started around 14:05 UTC", "only the eu-west replica seems affected"),
              ("when it started, with timezone", "which dashboards you are looking at")),
        Issue("can't connect to the analytics postgres from staging, the connection just times out",
              ("it worked yesterday", "I'm using the staging bastion"),
              ("the exact error message", "the host you connect from")),
        Issue("my migration has been stuck for ages and I think it's holding a lock on the users table",
              ("the migration is 0042_add_index", "it's running on prod"),
              ("the migration name and the environment", "the query it is running")),
        Issue("is it normal that the billing db is at like 95% CPU right now?",
              ("there's a big report running", "it's been like this for an hour"),
              ("a link to the dashboard", "any jobs you started recently")),
        Issue("getting `too many connections` from the reporting service since this morning",
              ("I already restarted the service twice", "only the reporting service is affected"),
              ("the exact error message", "how many replicas of the service are running")),
        Issue("need a copy of last night's prod snapshot restored somewhere I can query",
              ("it's for the churn analysis", "read-only is fine"),
              ("what you need it for and for how long", "which tables you actually need")))),
    Topic("help-platform", "sre", "production incidents", (
        Issue("checkout API is throwing 502s for some customers",
              ("customers are emailing support about it", "it started right after the 13:00 deploy"),
              ("when it started and which region", "whether all customers or only some are affected")),
        Issue("alerts are firing for disk full on the search nodes",
              ("three nodes are above 90%", "the alert has been flapping since the morning"),
              ("a link to the alert", "which nodes are affected")),
        Issue("latency on the public API doubled after lunch, anyone looking at it?",
              ("p99 went from 300ms to 700ms", "it's only the us-east region as far as I can tell"),
              ("a link to the dashboard you're looking at", "any recent deploys you know of")),
        Issue("status page says all good but our uptime check is red",
              ("the check fails from two locations", "it's the EU endpoint"),
              ("the name of the uptime check", "when it turned red")),
        Issue("the payments webhook consumer stopped processing, the queue keeps growing",
              ("the queue is at 40k messages", "no errors in the consumer logs"),
              ("the queue name and when it stopped", "whether payments are failing for customers")),
        Issue("seeing a spike of 500s on the mobile gateway",
              ("grafana shows the error rate at 8%", "both iOS and Android are affected"),
              ("a link to the graph", "when the spike started")))),
    Topic("help-access", "it", "accounts and laptops", (
        Issue("I'm locked out of Okta after resetting my phone",
              ("I can't receive the push anymore", "I'm on my personal laptop right now"),
              ("your username (not your password)", "whether you still have your backup codes")),
        Issue("my laptop won't connect to the VPN since the last update",
              ("I'm on macOS 15", "I tried reinstalling the client already"),
              ("the exact error the VPN client shows", "your laptop's asset tag")),
        Issue("new joiner here, my GitHub org invite never arrived",
              ("I started on Monday", "I checked my spam folder"),
              ("your GitHub username", "your manager's name")),
        Issue("can someone add me to the design team's Google Drive?",
              ("my manager approved it in the ticket", "it's for the rebrand project"),
              ("the ticket number", "who approved the access")),
        Issue("my laptop battery is swollen, what do I do?",
              ("the trackpad is popping up", "it's about two years old"),
              ("your laptop's asset tag", "which office you're in")),
        Issue("the VPN client keeps asking for a certificate I don't have",
              ("it's a new laptop", "the old one worked fine"),
              ("a screenshot of the prompt", "your laptop's asset tag")))),
    Topic("help-access", "sec", "security issues", (
        Issue("I think I accidentally pushed a token in a public PR",
              ("the PR was open for about 10 minutes", "I force-pushed it away already"),
              ("the link to the PR (don't paste the secret itself)", "which service the token belongs to")),
        Issue("got a weird email asking me to re-enter my SSO password, phishing?",
              ("I haven't clicked anything", "it looks like it's from IT"),
              ("the email, forwarded as an attachment", "whether you clicked the link or typed anything")),
        Issue("need read access to the prod AWS console for an investigation",
              ("it's for the fraud investigation", "my manager is fine with it"),
              ("the business reason and how long you need it", "which account and which services")),
        Issue("found an S3 bucket that looks world-readable",
              ("the bucket name starts with tmp-exports", "it has CSV files in it"),
              ("the bucket name", "how you found it")),
        Issue("a contractor is asking for the shared vault password, ok to give?",
              ("they're from the design agency", "they need it today"),
              ("the contractor's company and what they need to reach", "who their contact here is")),
        Issue("my personal access token shows activity I don't recognise",
              ("the activity is from an IP I don't know", "I haven't used it in weeks"),
              ("which token (the name, not the value)", "when the activity happened")))),
    Topic("help-platform", "ci", "CI", (
        Issue("CI jobs have been queued forever, nothing is picking them up",
              ("it's the monorepo pipeline", "the queue has 60 jobs"),
              ("a link to a queued job", "when you first noticed it")),
        Issue("the integration suite fails on main but passes locally",
              ("it fails on the same test every time", "it started after the dependency bump"),
              ("a link to the failing job", "the name of the failing test")),
        Issue("docker layer cache seems broken, every build takes 40 minutes",
              ("it used to take 8 minutes", "all services are affected"),
              ("a link to a slow build", "the Dockerfile you're building")),
        Issue("my PR is blocked by a required check that never reports",
              ("the check is called license-scan", "I already retried three times"),
              ("the PR link", "the name of the check")),
        Issue("artifact upload step fails with 403 since yesterday",
              ("the job id is 88213", "only the release job fails"),
              ("a link to the failing job", "the full log of the upload step")),
        Issue("the nightly e2e run didn't happen last night",
              ("the schedule still shows it", "it ran fine the night before"),
              ("the pipeline name", "whether anyone changed the schedule")))),
    Topic("help-platform", "rel", "releases", (
        Issue("need an emergency deploy approved for a hotfix",
              ("the hotfix PR is already approved", "the customer impact is real"),
              ("the PR link and the risk of waiting", "the rollback plan")),
        Issue("the canary stage has been stuck for an hour",
              ("the canary shows no errors", "it's the search service"),
              ("the service name and the version", "a link to the pipeline run")),
        Issue("can we deploy on Friday afternoon? it's a tiny change",
              ("it's a one-line config change", "it's behind a feature flag"),
              ("the PR link", "why it can't wait until Monday")),
        Issue("the rollback button is greyed out for the payments service",
              ("the last deploy was this morning", "I'm on the payments team"),
              ("the version you want to roll back to", "what's broken right now")),
        Issue("the release train is blocked, who decides whether we skip this week?",
              ("two services failed the smoke tests", "the freeze starts tomorrow"),
              ("which services are blocking", "what the impact of skipping would be")),
        Issue("I need a change freeze exception for the pricing fix",
              ("sales needs it before the launch", "the change is small"),
              ("the PR link and the risk of waiting", "who reviewed the change")))),
    Topic("help-office", "fin", "expenses and purchasing", (
        Issue("my expense report has been pending approval for three weeks",
              ("it was for the Berlin offsite", "my manager says they approved it"),
              ("the report id", "who approved it so far")),
        Issue("can I expense a conference ticket I bought myself?",
              ("the amount is 480 EUR", "my manager already said yes"),
              ("the conference and the amount", "your cost centre")),
        Issue("my corporate card got declined abroad",
              ("I'm in Lisbon this week", "it worked last month"),
              ("the last four digits of the card", "where and when it was declined")),
        Issue("who approves a software purchase over the team budget?",
              ("it's a yearly licence", "the vendor needs an answer this week"),
              ("the vendor and the amount", "your cost centre")),
        Issue("my reimbursement went to my old bank account",
              ("I changed banks last month", "I updated it in the HR tool"),
              ("the report id", "when you updated your bank details")),
        Issue("I need a purchase order for a vendor invoice",
              ("the vendor is chasing us", "the invoice is already approved"),
              ("the invoice number and amount", "your cost centre")))),
]

OPENINGS = ("Thanks for flagging!", "Thanks for the heads-up.", "Good catch, thanks for raising it.",
            "Sorry you ran into this.", "Thanks for reporting it here.", "Oof, sorry about that.")
LOOP_INS = ("Looping in {group} since they own {area}.", "I'll loop in {group}, they'll pick it up from here.",
            "Pinging {group} on this one, it's their area.", "Looping in {group} so the right people see it.",
            "{group} owns {area}, looping them in.")
ASKS = ("Could you add {ask} here in the thread?", "Can you share {ask} so they can start right away?",
        "While they look, could you drop {ask} below?", "It would help if you add {ask} to the thread.")
CLOSINGS = ("We'll follow up right here in the thread.", "Please keep updates in this thread so nothing gets lost.",
            "We'll keep you posted here.", "Someone will get back to you in this thread.")
DETAIL_ONLY = ("Before I pull anyone in, can you share {ask}? That tells us who should own it.",
               "Happy to help. Can you add {ask} first, so we route it to the right people?")
INCIDENT_NOTE = "If customers are affected, please also open an incident with /incident."
THANKS = ("thanks!", "thank you, that did it", "perfect, all sorted now", "got it, thanks a lot",
          "works now :raised_hands:", "thanks, resolved on my side")
BOT_REPLY = "I couldn't find this in the indexed docs, so I won't guess. I'm looping in @platform-oncall."


def _team_reply(rng: random.Random, topic: Topic, issue: Issue, escalate: bool, name_mention: str | None) -> str:
    sub_id, handle = GROUPS[topic.group]
    group = f"<!subteam^{sub_id}|{handle}>"
    ask = rng.choice(issue.asks)
    if not escalate:
        return rng.choice(DETAIL_ONLY).format(ask=ask)
    parts = [rng.choice(OPENINGS), rng.choice(LOOP_INS).format(group=group, area=topic.area)]
    if name_mention:
        parts.append(f"<@{name_mention}> was on this last week too.")
    parts.append(rng.choice(ASKS).format(ask=ask))
    if topic.group == "sre" and rng.random() < 0.6:
        parts.append(INCIDENT_NOTE)
    parts.append(rng.choice(CLOSINGS))
    return " ".join(parts)


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + ("" if text[-1] in ".?!" else ".")


def _question(rng: random.Random, issue: Issue) -> str:
    text = issue.question
    style = rng.random()
    if style < 0.25:
        text = "hey team, " + text
    elif style < 0.4:
        text = text[0].upper() + text[1:] + " :sweat_smile:"
    elif style < 0.5:
        text = "quick one: " + text
    if rng.random() < 0.35:
        text = _sentence(text) + " " + _sentence(rng.choice(issue.details))
    if rng.random() < 0.04:
        text = _sentence(text) + " My token is xoxb-1234567890-abcdefghijkl in case it matters."
    if rng.random() < 0.05:
        text = _sentence(text) + " You can reach me at someone.private@example.com"
    return text


def generate(n: int = 200, seed: int = 7) -> list[dict]:
    """`n` threads: {channel, messages, resolved}; messages are Slack message dicts."""
    rng = random.Random(seed)
    start = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
    threads = []
    for i in range(n):
        topic = rng.choice(TOPICS)
        issue = rng.choice(topic.issues)
        asker = rng.choice(PEOPLE)[0]
        responders = rng.sample(RESPONDERS, 2)
        when = start + timedelta(hours=9 * i + rng.randint(0, 5), minutes=rng.randint(0, 59))
        clock = [when]

        def message(user: str | None, text: str, bot: bool = False) -> dict:
            clock[0] += timedelta(minutes=rng.randint(1, 40))
            ts = f"{clock[0].timestamp():.6f}"
            msg = {"type": "message", "ts": ts, "text": text}
            if bot:
                msg.update(subtype="bot_message", bot_id=BOT_ID, username="citebot")
            else:
                msg["user"] = user
            return msg

        kind = rng.random()
        if kind < 0.015:  # only the bot spoke: nothing to learn from
            messages = [message(None, "Reminder: the support rotation changes on Monday.", bot=True),
                        message(None, BOT_REPLY, bot=True)]
        else:
            messages = [message(asker, _question(rng, issue))]
            if rng.random() < 0.3:
                messages.append(message(None, BOT_REPLY, bot=True))
            if rng.random() < 0.25:
                messages.append(message(responders[1][0], "Hmm, I haven't seen that before."))
            if rng.random() < 0.3:
                messages.append(message(asker, _sentence(rng.choice(issue.details))[:-1] + ", if that helps."))
            escalate = rng.random() < 0.8
            mention = rng.choice(PEOPLE)[0] if rng.random() < 0.1 else None
            messages.append(message(responders[0][0], _team_reply(rng, topic, issue, escalate, mention)))
            messages.append(message(asker, rng.choice(THANKS)))
        root_ts = messages[0]["ts"]
        for msg in messages:
            msg["thread_ts"] = root_ts
        resolved = rng.random() < 0.92
        if resolved:
            messages[0]["reactions"] = [{"name": RESOLVED_REACTION, "users": [asker], "count": 1}]
        threads.append({"channel": topic.channel, "messages": messages})
    return threads


def write_export(threads: list[dict], folder: Path) -> None:
    """The standard export layout: channels.json, users.json, <channel>/<YYYY-MM-DD>.json."""
    folder.mkdir(parents=True, exist_ok=True)
    channels = sorted({t["channel"] for t in threads})
    ids = {name: f"C0{n:02d}{name.split('-')[-1].upper()[:6]}" for n, name in enumerate(channels, 1)}
    (folder / "channels.json").write_text(json.dumps([{"id": ids[c], "name": c} for c in channels], indent=1))
    users = [{"id": uid, "name": name.split()[0].lower(), "real_name": name} for uid, name in PEOPLE + RESPONDERS]
    users.append({"id": "U900", "name": "citebot", "real_name": "citebot", "is_bot": True})
    (folder / "users.json").write_text(json.dumps(users, indent=1))
    by_day: dict[tuple[str, str], list[dict]] = {}
    for thread in threads:
        for msg in thread["messages"]:
            day = datetime.fromtimestamp(float(msg["ts"]), tz=timezone.utc).strftime("%Y-%m-%d")
            by_day.setdefault((thread["channel"], day), []).append(msg)
    for (channel, day), messages in sorted(by_day.items()):
        (folder / channel).mkdir(exist_ok=True)
        messages.sort(key=lambda m: float(m["ts"]))
        (folder / channel / f"{day}.json").write_text(json.dumps(messages, indent=1))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    write_export(generate(count), target)
    print(f"wrote {count} threads to {target}")
