"""Resolved threads → training examples `(thread so far, a reply of the team)`.

The team's last reply (the one that resolved the thread) is always an example, with the thread before
it as context; an earlier team reply is one too when it does what the team's replies are for: loops a
group in, escalates, or asks for details (the first "can you share the logs?" shows the habit as much
as the answer that closed the thread). Earlier chatter ("hmm, haven't seen that before") is not: taking
every earlier reply taught the model to answer with it (hand-written held-out threads, 500 examples:
tone 0.29 → 0.14 and group handle 0.09 against 0.36 and 0.47 without them). The asker's own "thanks!"
is never an example. Held-out threads give only their resolving reply, so evaluation keeps judging
the reply that closed the thread. Bot posts,
including our own, are dropped: the model must learn the team, not itself. Secrets and e-mail
addresses are always scrubbed, people's names by default (group handles such as @db-team are kept,
because who the team escalates to is exactly the habit we want). Duplicates are dropped, and the
held-out split is by thread, so no thread leaks from training into evaluation.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.redaction import redact
from indexing.sources.slack_threads import is_knowledge, slack_text
from tuning.groups import nearest_groups
from tuning.prompt import SCRUBBED_PERSON, asks_for_details, escalates, escalation_messages, handles, render_thread

if TYPE_CHECKING:  # only for hints: the dataset format itself needs no database (GPU boxes train from JSONL)
    from tuning.threads import Thread, ThreadLoad

_USER_MENTION = re.compile(r"<@(U\w+)(?:\|[^>]*)?>")
MAX_TURN_CHARS = 600  # long pastes (logs) are cut: the habit is in the reply, not in the log


@dataclass
class Example:
    thread: str  # thread key: split and dedupe unit
    channel: str
    prompt: str  # the thread so far, rendered by tuning.prompt
    reply: str
    escalates: bool
    asks: bool
    handles: list[str]
    hint: list[str] = field(default_factory=list)  # groups of the most similar other training thread

    def messages(self) -> list[dict[str, str]]:
        return escalation_messages(self.prompt, self.hint) + [{"role": "assistant", "content": self.reply}]


@dataclass
class DatasetStats:
    threads_in: int = 0
    unresolved_skipped: int = 0
    bot_only: int = 0
    no_team_reply: int = 0
    duplicates: int = 0
    earlier_replies: int = 0  # training examples from a team reply before the resolving one
    chatter_skipped: int = 0  # earlier team replies that loop no one in and ask nothing
    secrets_scrubbed: int = 0
    problems: list[str] = field(default_factory=list)
    train: int = 0
    heldout: int = 0
    escalating_share: float = 0.0
    groups: dict[str, int] = field(default_factory=dict)
    dataset_hash: str = ""


@dataclass
class Dataset:
    train: list[Example]
    heldout: list[Example]
    stats: DatasetStats
    people: dict[str, list[str]] = field(default_factory=dict)  # thread key → Slack ids of whoever wrote in it

    @property
    def threads(self) -> list[str]:
        return sorted({e.thread for e in self.train + self.heldout})

    @property
    def users(self) -> list[str]:
        """Everyone whose messages the examples were built from (kept in the registry, never trained on)."""
        return sorted({user for thread in self.threads for user in self.people.get(thread, [])})

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for name, rows in (("train", self.train), ("heldout", self.heldout)):
            with open(out / f"{name}.jsonl", "w", encoding="utf-8") as handle:
                for example in rows:
                    handle.write(json.dumps({**asdict(example), "messages": example.messages()}) + "\n")
        (out / "stats.json").write_text(json.dumps(asdict(self.stats), indent=2))

    @property
    def vocabulary(self) -> list[str]:
        """Words of the team's replies: the escalation guard lets the tuned model use them."""
        return sorted({w for e in self.train for w in re.findall(r"[a-z][a-z'-]+", e.reply.lower())})


class Scrubber:
    """Secrets and e-mails always; people's names and @mentions unless `names` is False."""

    def __init__(self, names: dict[str, str], scrub_names: bool = True):
        self.scrub_names = scrub_names
        self.names = names
        words = {part for full in names.values() for part in [full, *full.split()] if len(part) > 2}
        self._name_re = re.compile(r"\b(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True))
                                   + r")\b") if words else None
        self.secrets = 0

    def __call__(self, text: str) -> str:
        if self.scrub_names:
            text = _USER_MENTION.sub(SCRUBBED_PERSON, text)
        else:
            text = _USER_MENTION.sub(lambda m: "@" + self.names.get(m.group(1), "teammate").split()[0].lower(), text)
        text = slack_text(text)
        cleaned = redact(text, emails=True) or ""
        self.secrets += cleaned != text
        if self.scrub_names and self._name_re:
            cleaned = self._name_re.sub("a teammate", cleaned)
        return cleaned[:MAX_TURN_CHARS]


def thread_examples(thread: Thread, scrub: Scrubber) -> list[Example] | str:
    """One example per team reply, in order (the last is the resolving one), or why there is none
    ("bot_only" / "no_team_reply")."""
    human = sorted((m for m in thread.messages if is_knowledge(m)), key=lambda m: float(m["ts"]))
    if not human:
        return "bot_only"
    asker = human[0].get("user")
    team = [i for i, m in enumerate(human) if m.get("user") != asker]
    if not team:
        return "no_team_reply"
    turns = [("asker" if m.get("user") == asker else "teammate", scrub(m["text"])) for m in human]
    examples = []
    for target in team:
        reply = turns[target][1]
        examples.append(Example(thread=thread.key, channel=thread.channel, prompt=render_thread(turns[:target]),
                                reply=reply, escalates=escalates(reply), asks=asks_for_details(reply),
                                handles=sorted(handles(reply))))
    return examples


def in_heldout(thread_key: str, fraction: float) -> bool:
    """Stable by thread: the same thread is always on the same side, whatever else is in the data."""
    return int(hashlib.sha256(thread_key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction


def build_dataset(load: ThreadLoad, heldout_fraction: float = 0.15, scrub_names: bool = True) -> Dataset:
    stats = DatasetStats(threads_in=len(load.threads) + load.unresolved, unresolved_skipped=load.unresolved,
                         problems=list(load.problems))
    scrub = Scrubber(load.names, scrub_names)
    seen: set[str] = set()
    people: dict[str, list[str]] = {}
    train, heldout = [], []
    for thread in sorted(load.threads, key=lambda t: t.key):
        examples = thread_examples(thread, scrub)
        if examples == "bot_only":
            stats.bot_only += 1
            continue
        if examples == "no_team_reply":
            stats.no_team_reply += 1
            continue
        whole = hashlib.sha256(("\x00".join(e.reply for e in examples) + examples[-1].prompt).encode()).hexdigest()
        if whole in seen:  # the same thread again (a channel exported twice): none of its replies, on either side
            stats.duplicates += 1
            continue
        seen.add(whole)
        held = in_heldout(thread.key, heldout_fraction)
        for example in examples[-1:] if held else examples:
            earlier = example is not examples[-1]
            if earlier and not (example.escalates or example.asks or example.handles):
                stats.chatter_skipped += 1
                continue
            fingerprint = hashlib.sha256(f"{example.prompt}\x00{example.reply}".lower().encode()).hexdigest()
            if fingerprint in seen:
                stats.duplicates += 1
                continue
            seen.add(fingerprint)
            (heldout if held else train).append(example)
            stats.earlier_replies += earlier
        people[thread.key] = sorted({m["user"] for m in thread.messages if is_knowledge(m) and m.get("user")})
    add_hints(train + heldout, train)
    stats.secrets_scrubbed = scrub.secrets
    stats.train, stats.heldout = len(train), len(heldout)
    everything = train + heldout
    stats.escalating_share = round(sum(e.escalates for e in everything) / len(everything), 3) if everything else 0.0
    stats.groups = dict(Counter(h for e in everything for h in e.handles).most_common())
    digest = hashlib.sha256()
    for example in train + heldout:
        digest.update(json.dumps(asdict(example), sort_keys=True).encode())
    stats.dataset_hash = digest.hexdigest()[:16]
    return Dataset(train, heldout, stats, people)


def group_references(train: list[Example]) -> list[tuple[str, str, list[str]]]:
    """The training threads whose reply named a group: what hints are retrieved from (kept with the model)."""
    return [(e.thread, e.prompt, e.handles) for e in train if e.handles]


def add_hints(examples: list[Example], train: list[Example]) -> None:
    """Each example's hint: the groups looped in on the most similar training thread other than its own."""
    hints = nearest_groups([e.prompt for e in examples], [e.thread for e in examples], group_references(train))
    for example, hint in zip(examples, hints):
        example.hint = hint


def read_examples(path: Path) -> list[Example]:
    """Examples written by `Dataset.write` (train.jsonl / heldout.jsonl)."""
    fields = Example.__dataclass_fields__
    return [Example(**{k: v for k, v in json.loads(line).items() if k in fields})
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
