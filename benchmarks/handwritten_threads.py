"""Held-out support threads written by hand, for the tuning benchmark's second evaluation set.

The bundled sample threads come from templates (`benchmarks.sample_threads`), so a model tuned on them
and evaluated on more of them is graded on the generator's phrasing. These 44 threads were written one by
one for the same fictional platform team (same channels, same groups) with what real threads have and
the templates lack: typos and lowercase, several turns, people chatting off topic before the answer,
replies that ask first and escalate later, and threads where the team simply answered instead of
escalating. None of them is used for training; `python -m benchmarks.tuning --handwritten` evaluates base
and tuned models on them, and `python -m benchmarks.handwritten_threads DIR` writes them as a standard
Slack export folder.

Speakers: "a" the asker, "t" the teammate whose last reply is the reference, "o" another teammate, "b"
the bot. Group handles are written as Slack writes user-group mentions.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.sample_threads import GROUPS, PEOPLE, RESOLVED_REACTION, RESPONDERS, write_export


def g(key: str) -> str:
    sub_id, handle = GROUPS[key]
    return f"<!subteam^{sub_id}|{handle}>"


DB, SRE, IT, SEC, CI, REL, FIN = (g(k) for k in ("db", "sre", "it", "sec", "ci", "rel", "fin"))

THREADS: list[tuple[str, list[tuple[str, str]]]] = [
    ("help-platform", [
        ("a", "hey, the orders replica is like 40 min behind primary?? dashboards look super stale"),
        ("t", f"ugh, not again. {DB} can one of you take a look at replication on orders? @asker when did you "
              "first notice, roughly?")]),
    ("help-platform", [
        ("a", "getting 'too many connections' from the billing db since lunch"),
        ("o", "is that the same thing as yesterday?"),
        ("a", "no idea tbh"),
        ("t", f"Pulling in {DB}, they'll want to know which service is opening the connections. Can you share "
              "the service name and roughly how many pods it runs?")]),
    ("help-platform", [
        ("a", "Can I get a copy of prod customers table in staging for a repro"),
        ("t", f"That's a data access thing so it goes through {DB}, and they'll probably ask about masking. "
              "Could you write down which columns you actually need?")]),
    ("help-platform", [
        ("a", "migration stuck on 'waiting for lock' for 20 minutes, safe to kill??"),
        ("t", f"Don't kill it yet! {DB} please have a look. Could you paste the migration name and the PR link?")]),
    ("help-platform", [
        ("a", "query that used to take 200ms now takes 9s after the deploy"),
        ("t", "Does it happen on every call or only some?"),
        ("a", "every call since ~10:15"),
        ("t", f"ok, that smells like a plan change. {DB} could you check? If you can, drop the query text in "
              "here (without customer data).")]),
    ("help-platform", [
        ("a", "is the postgres upgrade still happening this weekend? need to plan a deploy"),
        ("t", "Yes, it's Saturday morning as announced in #platform-news, so just avoid deploying between 8 and "
              "12 that day.")]),
    ("help-platform", [
        ("a", "api gateway returning 502s for like 5% of requests, customers noticing"),
        ("t", f"Thanks for flagging! {SRE} this looks customer facing, can someone jump on it? Could you post "
              "a sample request id and the region you see it in?")]),
    ("help-platform", [
        ("a", "pager went off for disk usage on worker-7 but I'm not on call, who handles it?"),
        ("o", "lol welcome to the club"),
        ("t", f"That belongs to {SRE}, looping them in. Can you forward the alert link here so they have the "
              "context?")]),
    ("help-platform", [
        ("a", "the status page says all green but search is timing out for me"),
        ("t", f"Hmm, could be partial. {SRE} can you check search latency? @asker which endpoint and since "
              "when?")]),
    ("help-platform", [
        ("a", "memory keeps climbing on the notifications service until it OOMs, restarting every ~2h"),
        ("t", "Did anything ship to notifications this week?"),
        ("a", "yeah a new retry lib on monday"),
        ("t", f"Ok, handing this to {SRE} since it's restarting in prod. Could you link the Monday PR and a "
              "graph of the memory?")]),
    ("help-platform", [
        ("a", "how do I get a grafana dashboard for my new service"),
        ("t", "You can copy the service template dashboard in Grafana (Dashboards > Templates) and change the "
              "service variable, no need to ask anyone.")]),
    ("help-access", [
        ("a", "my laptop wont boot after the update, stuck on the logo"),
        ("t", f"Oh no. {IT} can you help with a laptop that doesn't boot after the update? Which model is it "
              "and did you try holding the power button for 10 seconds?")]),
    ("help-access", [
        ("a", "need access to the analytics workspace for the new intern starting tomorrow"),
        ("t", f"{IT} handles accounts, pinging them. Could you post the intern's name and their manager so "
              "they can approve it?")]),
    ("help-access", [
        ("a", "vpn keeps disconnecting every few minutes when im at home, office is fine"),
        ("o", "mine did that when my router was doing ipv6 weirdness"),
        ("a", "hmm maybe, dont know how to check"),
        ("t", f"Looping in {IT} for the VPN client side. Can you share your OS version and the client version "
              "from the About screen?")]),
    ("help-access", [
        ("a", "locked out of my account after too many password attempts"),
        ("t", f"{IT} can unlock it. Meanwhile, please don't keep trying or it stays locked longer. Which "
              "account is it, email or the SSO one?")]),
    ("help-access", [
        ("a", "how do I change my slack display name"),
        ("t", "Click your avatar, then Profile, then Edit; the display name field is right there.")]),
    ("help-access", [
        ("a", "where do i request a second monitor"),
        ("t", "Use the hardware form in the IT portal, under Equipment. It usually arrives within a week.")]),
    ("help-access", [
        ("a", "I think I just pasted an API key in a public channel, deleted it right away"),
        ("t", f"Thanks for saying it straight away. {SEC} please rotate it. Which service does the key belong "
              "to and how long was it visible?")]),
    ("help-access", [
        ("a", "got a weird email asking me to re-enter my SSO password, looks legit-ish"),
        ("t", f"Don't click anything in it. Pinging {SEC}. Could you forward the email as an attachment to "
              "them?")]),
    ("help-access", [
        ("a", "a contractor still has access to the repo even though they left last month"),
        ("o", "oof"),
        ("t", f"Good catch. {SEC} can you revoke that? Please share the contractor's username and which "
              "repos.")]),
    ("help-access", [
        ("a", "is it okay to use my personal 1password for work stuff?"),
        ("t", "No, use the company vault; the policy page explains why and how to move items over.")]),
    ("help-platform", [
        ("a", "CI is red on main and it's not my change, the integration tests time out"),
        ("t", f"Looping in {CI} who own the pipelines. Can you paste the link to the failing run?")]),
    ("help-platform", [
        ("a", "builds have been queued for 30+ min, no runners picking them up"),
        ("o", "same here fwiw"),
        ("t", f"Sounds like the runner pool. {CI} could you check the runners? Which repo are you building?")]),
    ("help-platform", [
        ("a", "the lint step fails only in CI, locally it passes, version mismatch maybe?"),
        ("t", "Which linter is it?"),
        ("a", "ruff, pinned in requirements-dev"),
        ("t", f"Then {CI} should look at the image it runs in. Could you share the job log and your local ruff "
              "version?")]),
    ("help-platform", [
        ("a", "how do i rerun just the failed jobs in a pipeline"),
        ("t", "There's a 'Retry failed' button at the top right of the pipeline page; it only reruns the red "
              "jobs.")]),
    ("help-platform", [
        ("a", "can we skip the release freeze for a hotfix? customer is blocked"),
        ("t", f"That's the {REL} call. Could you link the hotfix PR and say which customer is blocked?")]),
    ("help-platform", [
        ("a", "the release notes draft is missing my feature, who do I tell"),
        ("t", f"{REL} keep the notes, pinging them. Can you add the ticket number for the feature?")]),
    ("help-platform", [
        ("a", "rollback needed?? new version breaks login on android"),
        ("o", "confirmed, broken for me too"),
        ("t", f"Escalating to {REL} for the rollback decision and {SRE} since users are impacted. Which app "
              "version are you on?")]),
    ("help-platform", [
        ("a", "when is the next release cut"),
        ("t", "Every other Tuesday, the calendar is pinned in #releases.")]),
    ("help-office", [
        ("a", "my expense report got rejected and i dont understand why"),
        ("t", f"Looping in {FIN}. Could you share the report number so they can see the rejection note?")]),
    ("help-office", [
        ("a", "need to buy a license for a design tool, who approves?"),
        ("t", f"Purchases go through {FIN}. Can you add the tool, the price and your manager?")]),
    ("help-office", [
        ("a", "the corporate card was declined at a conference hotel, im standing at reception rn"),
        ("t", f"Yikes, pinging {FIN} right away. Which card (last four digits are fine) and which hotel?")]),
    ("help-office", [
        ("a", "anyone know if we get reimbursed for home office chairs"),
        ("o", "I did last year!"),
        ("t", "Yes, up to the home office budget in the benefits page; submit it as a normal expense with the "
              "receipt.")]),
    ("help-office", [
        ("a", "the coffee machine on 3 is leaking again"),
        ("o", "the eternal machine"),
        ("t", "Facilities have a ticket open already, they come by tomorrow morning. Use the one on 2 "
              "meanwhile.")]),
    ("help-platform", [
        ("a", "deploy to eu-west failed with 'quota exceeded' on load balancers"),
        ("t", f"{SRE} owns cloud quotas, looping them in. Could you paste the deploy id?")]),
    ("help-platform", [
        ("a", "Hi! sorry if wrong channel, the staging database seems down? cant connect at all"),
        ("t", "Right channel! Is it only staging or prod as well?"),
        ("a", "only staging"),
        ("t", f"Then {DB} will want to look, it's their box. Which service were you connecting from?")]),
    ("help-platform", [
        ("a", "cert for internal-api expires in 3 days per the alert"),
        ("t", f"Thanks, {SRE} please renew. Could you forward the alert so they have the hostname?")]),
    ("help-access", [
        ("a", "new laptop arrived, how do I get my dotfiles and ssh keys over"),
        ("t", f"Pinging {IT} for the migration tool. Please don't copy the ssh keys by hand, {SEC} prefer new "
              "ones; can you tell IT your old laptop's asset tag?")]),
    ("help-access", [
        ("a", "two factor app got wiped when my phone reset, cant log in anywhere"),
        ("t", f"{IT} can reset your 2FA after checking it's you. Are you in the office today or remote?")]),
    ("help-platform", [
        ("a", "flaky test in payments keeps failing maybe 1 in 5 runs"),
        ("o", "that test has been flaky since forever"),
        ("t", f"Let's get it fixed then. {CI} can you quarantine it? Can you paste the test name and a failing "
              "run?")]),
    ("help-platform", [
        ("a", "is there a way to see which version is deployed in prod right now"),
        ("t", "Yes, the deploy dashboard lists the current version per service and region.")]),
    ("help-office", [
        ("a", "invoice from a vendor says overdue but we paid it?"),
        ("t", f"{FIN} can check the payment run. Could you share the vendor name and invoice number?")]),
    ("help-platform", [
        ("a", "backups for the reporting db, do we even have them? someone asked in a customer call"),
        ("t", f"We do, but {DB} can give the exact schedule and retention. Which customer asked, so they can "
              "answer in the right detail?")]),
    ("help-access", [
        ("a", "random popup asking to install a browser extension for 'security', legit?"),
        ("t", f"Not one of ours as far as I know. {SEC} could you check? Can you screenshot the popup?")]),
]


def threads(start: datetime = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)) -> list[dict]:
    """The threads as Slack message dicts ({channel, messages}), each marked resolved by its asker."""
    out = []
    for i, (channel, turns) in enumerate(THREADS):
        asker, team, other = PEOPLE[i % len(PEOPLE)][0], RESPONDERS[i % 3][0], RESPONDERS[(i + 1) % 3][0]
        when = start + timedelta(hours=5 * i)
        messages = []
        for j, (speaker, text) in enumerate(turns):
            ts = f"{(when + timedelta(minutes=7 * j)).timestamp():.6f}"
            message = {"type": "message", "ts": ts, "text": text.replace("@asker", f"<@{asker}>")}
            if speaker == "b":
                message.update(subtype="bot_message", bot_id="B900CITEBOT", username="citebot")
            else:
                message["user"] = {"a": asker, "t": team, "o": other}[speaker]
            messages.append(message)
        messages[0]["reactions"] = [{"name": RESOLVED_REACTION, "users": [asker], "count": 1}]
        for message in messages:
            message["thread_ts"] = messages[0]["ts"]
        out.append({"channel": channel, "messages": messages})
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1])
    write_export(threads(), target)
    print(f"wrote {len(THREADS)} hand-written threads to {target}")
