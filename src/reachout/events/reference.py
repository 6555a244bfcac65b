"""A plain EventBridge pattern matcher, one rule at a time, written to be obviously right rather than
fast: the reference that tests and benchmarks hold the compiled `PatternIndex` against.

It reads the pattern's JSON itself and evaluates every operator directly on the event's leaves; it
shares nothing with the index but `validate` (to refuse invalid patterns) and the definitions of the
language (see pattern.py's docstring).
"""
from __future__ import annotations

import ipaddress
import itertools
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from reachout.events.pattern import validate


class Leaf(NamedTuple):
    path: str
    value: Any
    trail: tuple[tuple[int, int], ...]  # (array number, index) for each array the leaf sits in


def leaves(event: Mapping) -> list[Leaf]:
    """Every leaf of the event: objects join keys with ".", arrays are see-through."""
    found: list[Leaf] = []
    numbers = itertools.count(1)

    def visit(value: Any, path: str | None, trail: tuple) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                visit(child, key if path is None else f"{path}.{key}", trail)
        elif isinstance(value, list):
            array = next(numbers)
            for index, item in enumerate(value):
                visit(item, path, trail + ((array, index),))
        elif path is not None:
            found.append(Leaf(path, value, trail))

    visit(event, None, ())
    return found


class Obj(tuple):
    """A JSON object as its (key, value) pairs in order, so that duplicate keys are kept."""


Branch = dict[str, list[Any]]  # path -> the values listed for it


class ReferencePattern:
    def __init__(self, text: str):
        validate(text)
        self.text = text
        self.branches = _branches(json.JSONDecoder(object_pairs_hook=Obj).raw_decode(text.lstrip(" \t\r\n"))[0])

    def matches(self, event: Mapping) -> bool:
        return self.matches_leaves(leaves(event))

    def matches_leaves(self, event_leaves: list[Leaf]) -> bool:
        return any(_branch_matches(branch, event_leaves) for branch in self.branches)


def _branches(pattern: Obj, prefix: str | None = None, start: list[Branch] | None = None) -> list[Branch]:
    """The pattern's alternatives: fields are set in every branch in document order (a later field with
    the same path wins), and "$or" replaces each branch by one copy per alternative."""
    branches = [{}] if start is None else start
    for key, value in pattern:
        if key == "$or":
            branches = [b for alternative in value for b in _branches(alternative, prefix, [dict(x) for x in branches])]
        else:
            path = key if prefix is None else f"{prefix}.{key}"
            if isinstance(value, Obj):
                branches = _branches(value, path, branches)
            else:
                for branch in branches:
                    branch[path] = list(value)
    return branches


def _branch_matches(branch: Branch, event_leaves: list[Leaf]) -> bool:
    """Some choice of one leaf per field (None where the field is met by absence) that satisfies every
    field and takes no two leaves from different elements of one array."""
    options = []
    for path, values in branch.items():
        here = [leaf for leaf in event_leaves if leaf.path == path]
        chosen: list[Leaf | None] = [leaf for leaf in here if any(_accepts(v, leaf.value) for v in values)]
        if not here and any(_is_exists(v, False) for v in values):
            chosen.append(None)
        if not chosen:
            return False
        options.append(chosen)
    return any(_consistent([leaf for leaf in combination if leaf is not None])
               for combination in itertools.product(*options))


def _consistent(chosen: list[Leaf]) -> bool:
    element: dict[int, int] = {}
    for leaf in chosen:
        for array, index in leaf.trail:
            if element.setdefault(array, index) != index:
                return False
    return True


def _is_exists(value: Any, present: bool) -> bool:
    return isinstance(value, Obj) and value[0] == ("exists", present)


def _accepts(spec: Any, value: Any) -> bool:
    """Whether one listed value (a literal or an {operator: argument} object) accepts one leaf value."""
    if not isinstance(spec, Obj):
        return _equal(spec, value)
    operator, argument = spec[0]
    text = value if isinstance(value, str) else None
    if operator == "exists":
        return argument is True
    if operator in ("prefix", "suffix"):
        if text is None:
            return False
        if isinstance(argument, Obj):  # {"equals-ignore-case": ...}
            text, argument = text.lower(), argument[0][1].lower()
        return text.startswith(argument) if operator == "prefix" else text.endswith(argument)
    if operator == "equals-ignore-case":
        return text is not None and text.lower() == argument.lower()
    if operator == "wildcard":
        return text is not None and _glob(argument, text)
    if operator == "cidr":
        return text is not None and _in_cidr(argument, text)
    if operator == "numeric":
        return _numeric(argument, value)
    if operator == "anything-but":
        return not _excluded(argument, value)
    raise AssertionError(operator)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _millionths(number: float) -> int | None:
    """Numbers compare to six decimals within [-5e9, 5e9], with AWS's double arithmetic."""
    return int(1e6 * (5e9 + number)) if -5e9 <= number <= 5e9 else None


def _equal(spec: Any, value: Any) -> bool:
    if spec is None or isinstance(spec, bool):
        return value is spec
    if isinstance(spec, str):
        if not isinstance(value, str):
            return False
        if _ip(spec) is not None:  # an address literal matches any spelling of the address
            return _ip(spec) == _ip(value)
        return spec == value
    if not _is_number(value):
        return False
    a, b = _millionths(spec), _millionths(value)
    return a == b if a is not None and b is not None else spec == value


def _numeric(terms: list, value: Any) -> bool:
    if not _is_number(value) or _millionths(value) is None:
        return False
    number = _millionths(value)
    for operator, bound in zip(terms[::2], terms[1::2]):
        limit = _millionths(bound)
        if not {"=": number == limit, "<": number < limit, "<=": number <= limit,
                ">": number > limit, ">=": number >= limit}[operator]:
            return False
    return True


def _excluded(argument: Any, value: Any) -> bool:
    """Whether anything-but's argument names the value."""
    if isinstance(argument, Obj):
        operator, texts = argument[0]
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(value, str):
            return False
        if operator == "prefix":
            return any(value.startswith(t) for t in texts)
        if operator == "suffix":
            return any(value.endswith(t) for t in texts)
        if operator == "equals-ignore-case":
            return any(value.lower() == t.lower() for t in texts)
        return any(_glob(t, value) for t in texts)  # wildcard
    for excluded in argument if isinstance(argument, list) else [argument]:
        if isinstance(excluded, str) and value == excluded:
            return True
        if _is_number(excluded) and _is_number(value) and _millionths(value) == _millionths(excluded):
            return True
    return False


def _glob(pattern: str, text: str) -> bool:
    """`*` matches any run of characters; `\\*` and `\\\\` are literal."""
    tokens: list[str | None] = []  # None is a star
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            tokens.append(pattern[i + 1])
            i += 2
        else:
            tokens.append(None if pattern[i] == "*" else pattern[i])
            i += 1
    # can[j]: tokens[:k] matches text[:j], for the current k
    can = [True] + [False] * len(text)
    for token in tokens:
        if token is None:
            for j in range(1, len(text) + 1):
                can[j] = can[j] or can[j - 1]
        else:
            can = [False] + [can[j - 1] and text[j - 1] == token for j in range(1, len(text) + 1)]
    return can[len(text)]


def _ip(text: str) -> tuple[int, int] | None:
    if not text or any(c not in "0123456789abcdefABCDEF:." for c in text):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version, int(address)


def _in_cidr(cidr: str, text: str) -> bool:
    """From the address as written (AWS does not mask it) to the top of its block."""
    base, bits = cidr.rstrip("/").split("/")
    low, address = _ip(base), _ip(text)
    if address is None or address[0] != low[0]:
        return False
    width = 32 if low[0] == 4 else 128
    return low[1] <= address[1] <= low[1] | ((1 << (width - int(bits))) - 1)
