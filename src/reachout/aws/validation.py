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
from re import _parser as sre_parse  # type: ignore[attr-defined]  # the standard library's own parse tree, to judge a pattern's cost

import regex  # botocore patterns are Java regexes: \p{L}, \P{C} need Unicode property support
from botocore.model import Shape

from reachout.aws.errors import ParamValidationError


# Seconds of pattern matching one request may use, all its values together: valid values match in
# microseconds, so only a hostile value comes near it.
PATTERN_BUDGET = 0.5


def validate(shape: Shape | None, params: dict) -> None:
    if shape is None:
        return
    deadline = time.monotonic() + PATTERN_BUDGET
    memo: dict = {}
    try:
        _checker(shape)(params, deadline, memo)
        return
    except _Refused:  # something fails: walk again, saying what and where
        pass
    problems: list[str] = []
    _check(shape, params, "", problems, deadline, memo)
    if problems:
        raise ParamValidationError(problems)


# --- the quick walk ------------------------------------------------------------------------------
# Valid input (nearly every call) needs no message and no path: each shape gets a checker, built once,
# that only says whether its value passes, and stops at the first failure. Then the walk below runs
# to name every failure, with the timed pattern matches' outcomes (`memo`) as the quick walk found
# them, so that the budget is spent once, as in a single walk.

class _Refused(Exception):
    pass


_CHECKERS: dict[Shape, object] = {}


def _checker(shape: Shape):
    found = _CHECKERS.get(shape)
    if found is None:
        found = _CHECKERS[shape] = _build_checker(shape)
    return found


def _passes(value, deadline, memo) -> None:
    return None


def _build_checker(shape: Shape):
    kind, meta = shape.type_name, shape.metadata
    if meta.get("document") or kind in ("boolean", "timestamp"):
        return _passes
    if kind == "structure":
        required = tuple(shape.required_members)
        members = shape.members
        union = bool(meta.get("union"))

        def structure(value, deadline, memo):
            for name in required:
                if value.get(name) is None:
                    raise _Refused
            present = 0
            for name, item in value.items():
                if item is not None:
                    present += 1
                    _checker(members[name])(item, deadline, memo)
            if union and present != 1:
                raise _Refused
        return structure
    low, high = meta.get("min"), meta.get("max")
    if kind in ("integer", "long", "float", "double"):
        def number(value, deadline, memo):
            if (low is not None and value < low) or (high is not None and value > high):
                raise _Refused
        return number
    sized = kind in ("string", "list", "map", "blob")
    if kind == "string":
        enum = frozenset(shape.enum) if shape.enum else None
        pattern = meta.get("pattern") if not enum else None
        linear = _linear(pattern) if pattern is not None else None

        def string(value, deadline, memo):
            size = len(value)
            if (low is not None and size < low) or (high is not None and size > high):
                raise _Refused
            if enum is not None:
                if value not in enum:
                    raise _Refused
            elif linear is not None:
                if linear.search(value) is None:
                    raise _Refused
            elif pattern is not None and not _matches(pattern, value, deadline, memo):
                raise _Refused
        return string
    if kind == "list":
        member = shape.member

        def listed(value, deadline, memo):
            size = len(value)
            if (low is not None and size < low) or (high is not None and size > high):
                raise _Refused
            check = _checker(member)
            for item in value:
                if item is None:
                    raise _Refused
                check(item, deadline, memo)
        return listed
    if kind == "map":
        key_shape, value_shape = shape.key, shape.value

        def mapped(value, deadline, memo):
            size = len(value)
            if (low is not None and size < low) or (high is not None and size > high):
                raise _Refused
            check_key, check_value = _checker(key_shape), _checker(value_shape)
            for key, item in value.items():
                check_key(key, deadline, memo)
                if item is None:
                    raise _Refused
                check_value(item, deadline, memo)
        return mapped
    if sized:
        def sized_value(value, deadline, memo):
            size = len(value)
            if (low is not None and size < low) or (high is not None and size > high):
                raise _Refused
        return sized_value
    return _passes


# --- the walk that names every failure -------------------------------------------------------------

def _check(shape: Shape, value, path: str, problems: list[str], deadline: float, memo: dict) -> None:
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
            _check(shape.members[name], value[name], _join(path, name), problems, deadline, memo)
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
        elif "pattern" in meta and not _matches(meta["pattern"], value, deadline, memo):
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
                _check(shape.member, item, f"{path}.{i}.member", problems, deadline, memo)
    elif kind == "map":
        for key, item in value.items():
            _check(shape.key, key, f"{path}.{key}.key", problems, deadline, memo)
            if item is None:
                problems.append(f"Value null at '{path}.{key}.value' failed to satisfy constraint: "
                                "Member must not be null")
            else:
                _check(shape.value, item, f"{path}.{key}.value", problems, deadline, memo)


def _matches(pattern: str, value: str, deadline: float, memo: dict) -> bool:
    """Whether `value` matches, within what is left of the budget; `memo` holds the outcomes of timed
    matches already run for this request."""
    linear = _linear(pattern)
    if linear is not None:  # linear time: no budget to watch
        return linear.search(value) is not None
    known = memo.get((pattern, value))
    if known is not None:
        return known
    remaining = deadline - time.monotonic()
    try:
        found = remaining > 0 and _pattern(pattern).search(value, timeout=remaining) is not None
    except TimeoutError:
        found = False
    memo[(pattern, value)] = found
    return found


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
