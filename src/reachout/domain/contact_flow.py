"""Contact flows: what a flow's Content must be for its type.

A CAMPAIGN flow holds a campaign's reattempt rules (domain/reattempt.py). Every other type holds
Amazon Connect flow language, of which Reachout runs nothing: it checks the structure a flow needs
to be loadable (Version, a StartAction naming one of its Actions, unique action Identifiers, every
transition leading to an action that exists) and keeps the rest as given.
"""
from __future__ import annotations

import json

from reachout.domain import reattempt
from reachout.json_text import read_json

CAMPAIGN = "CAMPAIGN"


def content_problems(flow_type: str, content: str) -> list[str]:
    """Why `content` cannot be a flow of `flow_type`; empty when it can."""
    if flow_type == CAMPAIGN:
        try:
            reattempt.parse(content)
        except reattempt.InvalidRules as error:
            return error.problems
        return []
    return _flow_language_problems(content)


def _flow_language_problems(content: str) -> list[str]:
    try:
        flow = read_json(content)
    except ValueError as error:
        return [f"Content is not JSON: {error}"]
    if not isinstance(flow, dict):
        return ["Content must be a flow language JSON object with Version, StartAction and Actions"]
    problems = []
    if not isinstance(flow.get("Version"), str):
        problems.append("Version is required: the flow language version, e.g. 2019-10-30")
    actions = flow.get("Actions")
    if not isinstance(actions, list) or not actions:
        return problems + ["Actions must be a non-empty list of actions"]
    identifiers: set[str] = set()
    for index, action in enumerate(actions, 1):
        if not isinstance(action, dict) or not isinstance(action.get("Identifier"), str):
            problems.append(f"Actions[{index}] needs an Identifier")
            continue
        if not isinstance(action.get("Type"), str):
            problems.append(f"Action {action['Identifier']} needs a Type")
        if action["Identifier"] in identifiers:
            problems.append(f"Action Identifier {action['Identifier']} is used more than once")
        identifiers.add(action["Identifier"])
    if flow.get("StartAction") not in identifiers:
        problems.append(f"StartAction {json.dumps(flow.get('StartAction'))} is not the Identifier of an action")
    for action in actions:
        if isinstance(action, dict) and isinstance(action.get("Identifier"), str):
            for target in _transition_targets(action.get("Transitions")):
                if target not in identifiers:
                    problems.append(f"Action {action['Identifier']} transitions to {target}, which is not an action")
    return problems


def _transition_targets(transitions) -> list:
    if not isinstance(transitions, dict):
        return []
    targets = [transitions["NextAction"]] if "NextAction" in transitions else []
    for kind in ("Errors", "Conditions"):
        for branch in transitions.get(kind) or []:
            if isinstance(branch, dict) and "NextAction" in branch:
                targets.append(branch["NextAction"])
    return targets
