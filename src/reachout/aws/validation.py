"""Every constraint of an input shape, checked on the server: boto3's client-side validation is a
courtesy of one client, not a protection.

Messages follow the wording AWS services return ("1 validation error detected: Value 'x' at 'name'
failed to satisfy constraint: Member must have length less than or equal to 127"); values of
sensitive shapes are never echoed.

Length comes before pattern, and pattern matching is bounded: some model patterns backtrack
(connect's DirectoryAlias takes seconds on a long value), and a request's patterns together may spend
at most PATTERN_BUDGET seconds; a value whose match does not finish in time fails its pattern.
"""
from __future__ import annotations

import re
import time
from functools import lru_cache
from re import _parser as sre_parse  # the standard library's own parse tree, to judge a pattern's cost

import regex  # botocore patterns are Java regexes: \p{L}, \P{C} need Unicode property support
from botocore.model import Shape

from reachout.aws.errors import ParamValidationError


# Seconds of pattern matching one request may use, all its values together: valid values match in
# microseconds, so only a hostile value comes near it.
PATTERN_BUDGET = 0.5


def validate(shape: Shape | None, params: dict) -> None:
    if shape is None:
        return
    problems: list[str] = []
    _check(shape, params, "", problems, time.monotonic() + PATTERN_BUDGET)
    if problems:
        raise ParamValidationError(problems)


def _check(shape: Shape, value, path: str, problems: list[str], deadline: float) -> None:
    kind = shape.type_name
    meta = shape.metadata
    if meta.get("document"):  # free-form JSON: no constraint to check
        return
    if kind == "structure":
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(f"Value null at '{_join(path, name)}' failed to satisfy constraint: "
                                "Member must not be null")
        present = [name for name, member_value in value.items() if member_value is not None]
        if meta.get("union") and len(present) != 1:
            problems.append(f"Value at '{path or shape.name}' failed to satisfy constraint: Member must "
                            f"have exactly one of [{', '.join(shape.members)}] set, found {len(present)}")
        for name in present:
            _check(shape.members[name], value[name], _join(path, name), problems, deadline)
        return

    def fail(requirement: str) -> None:  # built only on failure: the message shows the whole value
        shown = "" if meta.get("sensitive") else f" '{_show(value)}'"
        problems.append(f"Value{shown} at '{path}' failed to satisfy constraint: Member must {requirement}")

    if kind in ("string", "list", "map", "blob"):
        size = len(value)
        if "min" in meta and size < meta["min"]:
            fail(f"have length greater than or equal to {meta['min']}")
            return
        if "max" in meta and size > meta["max"]:
            fail(f"have length less than or equal to {meta['max']}")
            return  # an over-long value is refused before any pattern is run on it
    if kind == "string":
        if shape.enum and value not in shape.enum:
            fail(f"satisfy enum value set: [{', '.join(shape.enum)}]")
        elif "pattern" in meta and not _matches(meta["pattern"], value, deadline):
            fail(f"satisfy regular expression pattern: {meta['pattern']}")
    elif kind in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            fail(f"have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            fail(f"have value less than or equal to {meta['max']}")
    elif kind == "list":
        for i, item in enumerate(value, 1):
            if item is None:
                problems.append(f"Value null at '{path}.{i}.member' failed to satisfy constraint: "
                                "Member must not be null")
            else:
                _check(shape.member, item, f"{path}.{i}.member", problems, deadline)
    elif kind == "map":
        for key, item in value.items():
            _check(shape.key, key, f"{path}.{key}.key", problems, deadline)
            if item is None:
                problems.append(f"Value null at '{path}.{key}.value' failed to satisfy constraint: "
                                "Member must not be null")
            else:
                _check(shape.value, item, f"{path}.{key}.value", problems, deadline)


def _matches(pattern: str, value: str, deadline: float) -> bool:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    linear = _linear(pattern)
    if linear is not None:
        return linear.search(value) is not None
    try:
        return _pattern(pattern).search(value, timeout=remaining) is not None
    except TimeoutError:
        return False


@lru_cache(maxsize=None)
def _linear(pattern: str) -> re.Pattern | None:
    """The pattern compiled by the standard library when its matching time is linear in the value, so it
    needs no timeout; else None. A timed match of `regex` costs ten times an untimed `re` one, and the
    patterns every call meets (client tokens, ids, phone numbers, attribute names) are of this kind:
    anchored at the start, no alternation, no repeated group, at most one unbounded repeat, each repeat
    of one character at a time."""
    anchored = _pattern(pattern).pattern  # as _pattern reads it (unescaped, whole-value anchors)
    try:
        tree = sre_parse.parse(anchored)
        compiled = re.compile(anchored)
    except (re.error, OverflowError, RecursionError):  # Java-only syntax (\p{L}), or beyond `re`
        return None
    nodes = list(tree)
    if not nodes or nodes[0] != (sre_parse.AT, sre_parse.AT_BEGINNING):
        return None  # an unanchored search restarts at every position
    unbounded, combinations = 0, 1
    while nodes:
        op, argument = nodes.pop()
        if op is sre_parse.SUBPATTERN:
            nodes.extend(argument[-1])
        elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
            low, high, item = argument
            if len(item) != 1 or not _one_character(*item[0]):
                return None
            if high is sre_parse.MAXREPEAT or high - low > 64:
                unbounded += 1
            else:
                combinations *= high - low + 1
        elif op is not sre_parse.AT and not _one_character(op, argument):
            return None  # alternation, lookaround, backreference
    return compiled if unbounded <= 1 and combinations <= 1024 else None


def _one_character(op, argument) -> bool:
    """A matcher of one character that both libraries read alike. Their \\w and \\s differ at the edges
    of Unicode (combining marks, some separators), so patterns using them stay with `regex`."""
    if op in (sre_parse.LITERAL, sre_parse.NOT_LITERAL, sre_parse.ANY):
        return True
    if op is sre_parse.CATEGORY:
        return argument in _SAME_CATEGORIES
    if op is sre_parse.IN:
        return all(kind is not sre_parse.CATEGORY or value in _SAME_CATEGORIES for kind, value in argument)
    return False


_SAME_CATEGORIES = frozenset({sre_parse.CATEGORY_DIGIT, sre_parse.CATEGORY_NOT_DIGIT})


@lru_cache(maxsize=None)  # compiled once per pattern, shared by every shape that carries it
def _pattern(pattern: str) -> regex.Pattern:
    r"""Smithy patterns are not implicitly anchored, so one with explicit anchors is taken as written
    (profiles' TagArn `^arn:[a-z0-9]{1,10}:profile` is a prefix). Models that carry none at all
    (campaigns' `[a-zA-Z0-9_\-.]*`) are whole-value patterns: their API reference prints the same
    pattern anchored (`^[a-zA-Z0-9_\-.]*$`)."""
    pattern = _OVER_ESCAPED.sub(lambda _: "\\", pattern)
    if not pattern.startswith("^") and not pattern.endswith("$"):
        pattern = f"^(?:{pattern})\\Z"
    return regex.compile(pattern)


# Some patterns are escaped twice in the models (connect's PhoneNumber `\\+[1-9]\\d{1,14}$`, Page,
# Workspace*, an events ARN): read literally they would demand a backslash, and no valid value has one.
# The services apply them as singly escaped; so does Reachout (a doubled backslash before an escape).
_OVER_ESCAPED = regex.compile(r"\\\\(?=[pPdDsSwW+.\-])")


def _show(value) -> str:
    text = str(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
