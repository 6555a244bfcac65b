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

import time
from functools import lru_cache

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
    try:
        return _pattern(pattern).search(value, timeout=remaining) is not None
    except TimeoutError:
        return False


@lru_cache(maxsize=None)  # compiled once per pattern, shared by every shape that carries it
def _pattern(pattern: str) -> regex.Pattern:
    r"""Smithy patterns are not implicitly anchored, so one with explicit anchors is taken as written
    (profiles' TagArn `^arn:[a-z0-9]{1,10}:profile` is a prefix). Models that carry none at all
    (campaigns' `[a-zA-Z0-9_\-.]*`) are whole-value patterns: their API reference prints the same
    pattern anchored (`^[a-zA-Z0-9_\-.]*$`)."""
    pattern = _OVER_ESCAPED.sub(lambda _: "\\", pattern)
    if len(pattern) > 2 and pattern.startswith("/^") and pattern.endswith("$/"):
        pattern = pattern[1:-1]  # written as a JavaScript literal (connect's Password `/^...$/`)
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
