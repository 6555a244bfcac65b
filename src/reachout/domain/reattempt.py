"""Reattempt rules (seeds/002, "Outbound campaigns reattempt rules"): which outcomes of a campaign's
communication are tried again, on which channel, after how long.

A campaign names them through its `connectCampaignFlowArn`: a Connect contact flow of type CAMPAIGN
whose Content is this JSON document (Reachout's own format; Amazon Connect keeps these rules in its
console, not in a documented flow language):

    {"Version": "reachout-2026-11",
     "ReattemptRules": [
       {"Dispositions": ["HARD_BOUNCE"], "Channel": "sms", "Wait": "PT1H", "MaxAttempts": 2}
     ]}

- Version: "reachout-2026-11".
- ReattemptRules: 1 to 20 rules, tried in order; the first that applies wins.
- Dispositions: the disposition codes the rule retries (domain/disposition.py: DELIVERED, HARD_BOUNCE,
  SOFT_BOUNCE, UNDELIVERABLE, EXPIRED, HUMAN_ANSWERED, VOICEMAIL_BEEP, VOICEMAIL_NO_BEEP, NO_ANSWER,
  BUSY, INVALID_NUMBER, FAILED, REJECTED) or the channel outcomes they come from (BOUNCED,
  DEFERRED_EXPIRED, SMS_UNDELIVERABLE, SMS_EXPIRED, ...): a code matches every outcome that becomes
  it, an outcome only itself.
- Channel: telephony | sms | email | whatsApp: where the reattempt goes. The endpoint is that
  channel's first valid one on the recipient's profile; the campaign's communication time for the
  channel, if it has one, applies.
- Wait (optional, default PT0S): an ISO 8601 duration of days and time (P1D, PT2H30M, at most P30D);
  the reattempt is due at the first instant the channel's window is open at or after the outcome
  plus the wait.
- MaxAttempts: 2 to 10, the number of attempts (the first contact is attempt 1) up to which the rule
  reattempts: a contact whose attempt number has reached it is not tried again by this rule.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from reachout.domain.disposition import DISPOSITIONS
from reachout.domain.endpoint import ENDPOINT_FIELDS
from reachout.domain.errors import DomainError
from reachout.domain.schedule import parse_duration
from reachout.json_text import read_json

VERSION = "reachout-2026-11"
MAX_RULES = 20
MAX_ATTEMPTS = 10
MAX_WAIT = timedelta(days=30)
CHANNELS = tuple(ENDPOINT_FIELDS)
DISPOSITION_NAMES = frozenset(DISPOSITIONS) | frozenset(d.code for d in DISPOSITIONS.values())
RULE_MEMBERS = ("Dispositions", "Channel", "Wait", "MaxAttempts")


class InvalidRules(DomainError):
    """Content that is not a valid set of reattempt rules; `problems` lists every fault found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ReattemptRule:
    dispositions: frozenset[str]
    channel: str
    wait: timedelta
    max_attempts: int

    def applies(self, disposition: str, outcome: str | None, attempt: int) -> bool:
        return (disposition in self.dispositions or outcome in self.dispositions) and attempt < self.max_attempts


@dataclass(frozen=True)
class ReattemptRules:
    rules: tuple[ReattemptRule, ...]

    def rule_for(self, disposition: str, outcome: str | None, attempt: int) -> ReattemptRule | None:
        """The first rule that retries this disposition (or outcome) at this attempt number."""
        return next((rule for rule in self.rules if rule.applies(disposition, outcome, attempt)), None)


def parse(content: str) -> ReattemptRules:
    """The rules of a CAMPAIGN flow's Content; InvalidRules with every problem when it is not valid."""
    try:
        document = read_json(content)
    except ValueError as error:
        raise InvalidRules([f"Content is not JSON: {error}"]) from None
    if not isinstance(document, dict):
        raise InvalidRules(['Content must be a JSON object such as {"Version": "reachout-2026-11", '
                            '"ReattemptRules": [...]}'])
    problems = [f"Unknown member {key}: expected Version and ReattemptRules"
                for key in document if key not in ("Version", "ReattemptRules")]
    if document.get("Version") != VERSION:
        problems.append(f"Version must be \"{VERSION}\", not {json.dumps(document.get('Version'))}")
    listed = document.get("ReattemptRules")
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_RULES:
        problems.append(f"ReattemptRules must be a list of 1 to {MAX_RULES} rules")
        raise InvalidRules(problems)
    rules = []
    for index, rule in enumerate(listed, 1):
        parsed = _rule(rule, f"ReattemptRules[{index}]", problems)
        if parsed is not None:
            rules.append(parsed)
    if problems:
        raise InvalidRules(problems)
    return ReattemptRules(tuple(rules))


def _rule(rule, where: str, problems: list[str]) -> ReattemptRule | None:
    if not isinstance(rule, dict):
        problems.append(f"{where} must be an object with {', '.join(RULE_MEMBERS)}")
        return None
    found = len(problems)
    problems.extend(f"{where}: unknown member {key}: expected {', '.join(RULE_MEMBERS)}"
                    for key in rule if key not in RULE_MEMBERS)
    dispositions = rule.get("Dispositions")
    if not isinstance(dispositions, list) or not dispositions or not all(isinstance(d, str) for d in dispositions):
        problems.append(f"{where}.Dispositions must be a non-empty list of disposition codes")
        dispositions = []
    for unknown in sorted({d for d in dispositions if d not in DISPOSITION_NAMES}):
        problems.append(f"{where}.Dispositions: {unknown} is not a disposition code or outcome; codes are "
                        f"{', '.join(sorted({d.code for d in DISPOSITIONS.values()}))}")
    channel = rule.get("Channel")
    if channel not in CHANNELS:
        problems.append(f"{where}.Channel must be one of {', '.join(CHANNELS)}, not {json.dumps(channel)}")
    wait = timedelta(0)
    if "Wait" in rule:
        if not isinstance(rule["Wait"], str):
            problems.append(f"{where}.Wait must be an ISO 8601 duration such as PT1H")
        else:
            try:
                wait = parse_duration(rule["Wait"], f"{where}.Wait")
            except DomainError as error:
                problems.append(error.message)
            else:
                if not timedelta(0) <= wait <= MAX_WAIT:
                    problems.append(f"{where}.Wait {rule['Wait']} must be between PT0S and P30D")
    attempts = rule.get("MaxAttempts")
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 2 <= attempts <= MAX_ATTEMPTS:
        problems.append(f"{where}.MaxAttempts must be an integer from 2 to {MAX_ATTEMPTS} (the first contact is "
                        f"attempt 1), not {json.dumps(attempts)}")
    # The checks above leave channel a str and attempts an int whenever no problem was added.
    if len(problems) > found or not isinstance(channel, str) or not isinstance(attempts, int):
        return None
    return ReattemptRule(frozenset(dispositions), channel, wait, attempts)
