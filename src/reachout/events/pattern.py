"""Amazon EventBridge event patterns: validation with AWS's own error messages, and `PatternIndex`, which
matches an event against many rules at once.

How a pattern sees an event (as EventBridge does):
- An event is a set of leaves (path, value): the path joins object keys with "." (so {"a.b": 1} and
  {"a": {"b": 1}} look the same to a pattern) and arrays are see-through (each element is a leaf of its
  own). Only strings, numbers, true, false and null are leaves; an empty array or object has none.
- A pattern field matches when some leaf at its path satisfies one of the field's values;
  {"exists": false} when the path has no leaf at all. All fields of a pattern must match; "$or" splits a
  pattern into alternatives ("branches"), and a rule matches when any branch does.
- Array consistency: the leaves one branch relies on may not come from different elements of the same
  array ({"a": [{"b": 1}, {"c": 2}]} does not match {"a": {"b": [1], "c": [2]}}).
- Numbers are compared to six decimal places and only within [-5e9, 5e9]; strings are compared byte for
  byte; a string that is an IP address literal matches any spelling of the same address.

The index is a shared machine: every branch is a sequence of (path, condition) steps in a canonical
order (selective exact conditions first), branches with common steps share nodes, and at each node the
conditions on one path are arranged for lookup (a dict for exact values, sorted bounds for numeric
ranges, prefix lengths for prefixes...). Matching flattens the event once, keeping only the paths rules
mention, and walks the machine from the root, so its cost follows the partial matches, not the number
of rules.
"""
from __future__ import annotations

import bisect
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NoReturn

PREFIX = "Event pattern is not valid. Reason: "
TOO_COMPLEX = ("Rule is too complex - try using fewer wildcard characters or fewer repeating character "
               "sequences after a wildcard character")
ONE_KEY = "Only one key allowed in match expression"
TOO_MANY_ELEMENTS = "Too many elements in numeric expression"  # sic: AWS says this for anything-but too
ANYTHING_BUT_VALUE = "Value of anything-but must be an array or single string/number value."
OUT_OF_RANGE = "Value must be between -5.0E9 and 5.0E9, inclusive"
OPERATORS = frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists",
                       "cidr"})
FIVE_BILLION = 5e9
# AWS rejects wildcards whose worst-case input matches too many of their prefixes at once; it does not
# publish the limit. Its own examples: "/Users/*/dir/dir/dir/dir/dir/doc.txt" (7) is accepted and
# "*:*:*:*:*:event-bus/*" (11) is not; we allow up to 9.
MAX_WILDCARD_COMPLEXITY = 9


class InvalidEventPattern(ValueError):
    """AWS's InvalidEventPatternException. `message` is the text AWS returns (with the parser location
    where AWS gives one); `reason` is the part after "Reason: " without that location."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def reason(self) -> str:
        return self.message.removeprefix(PREFIX).split("\n at [Source:", 1)[0]

    @property
    def short_message(self) -> str:
        return PREFIX + self.reason


# ---------------------------------------------------------------------------------------------------
# Values and matchers

_TRUE, _FALSE, _NULL = ("true",), ("false",), ("null",)  # tuples: never equal to a string or a number


def comparable(number: float) -> int | None:
    """A number as EventBridge compares it: in millionths, offset by five billion, with the same double
    arithmetic (so two numbers that agree to six decimals are equal); None outside [-5e9, 5e9]."""
    if not -FIVE_BILLION <= number <= FIVE_BILLION:
        return None
    return int(1e6 * (FIVE_BILLION + number))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def value_key(value: Any) -> Hashable:
    """The identity of a leaf value for exact matching: the string itself, a number in millionths (or
    the number as such outside the comparable range), or a marker for true, false and null."""
    if type(value) is str:
        return value
    if value is None:
        return _NULL
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    if _is_number(value):
        number = comparable(value)
        return number if number is not None else ("N", value)
    return None


_IP_CHARACTERS = re.compile(r"[0-9A-Fa-f:.]+")


@lru_cache(maxsize=65536)
def ip_address(text: str) -> tuple[int, int] | None:
    """(version, address) when `text` is an IPv4 or IPv6 address literal; IPv4-mapped IPv6 counts as IPv4."""
    if len(text) > 45 or not _IP_CHARACTERS.fullmatch(text):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version, int(address)


def _fold(text: str) -> str:
    return text.lower()


@dataclass(frozen=True, slots=True)
class Exact:
    """A string, number, true, false or null as written (also numeric "=")."""
    key: Hashable

    def test(self, value: Any) -> bool:
        return value_key(value) == self.key


@dataclass(frozen=True, slots=True)
class ExactAddress:
    """A string that is an IP address literal: it matches the same address however it is spelled."""
    address: tuple[int, int]

    def test(self, value: Any) -> bool:
        return type(value) is str and ip_address(value) == self.address


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    folded: str

    def test(self, value: Any) -> bool:
        return type(value) is str and _fold(value) == self.folded


@dataclass(frozen=True, slots=True)
class Prefix:
    text: str
    folded: bool  # the equals-ignore-case form; `text` is then lower-cased

    def test(self, value: Any) -> bool:
        return type(value) is str and (_fold(value) if self.folded else value).startswith(self.text)


@dataclass(frozen=True, slots=True)
class Suffix:
    text: str
    folded: bool

    def test(self, value: Any) -> bool:
        return type(value) is str and (_fold(value) if self.folded else value).endswith(self.text)


@dataclass(frozen=True, slots=True)
class Wildcard:
    """`*` stands for any run of characters; `segments` are the literal parts between the stars."""
    segments: tuple[str, ...]
    regex: re.Pattern = field(compare=False, hash=False, repr=False)

    @classmethod
    def of(cls, segments: tuple[str, ...]) -> Wildcard:
        return cls(segments, re.compile(".*".join(re.escape(s) for s in segments), re.DOTALL))

    def test(self, value: Any) -> bool:
        return type(value) is str and self.regex.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Numeric:
    """A range over comparable numbers (see `comparable`); None is an open end."""
    low: int | None
    low_open: bool
    high: int | None
    high_open: bool

    def contains(self, number: int) -> bool:
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            return False
        return self.high is None or number < self.high or (not self.high_open and number == self.high)

    def test(self, value: Any) -> bool:
        number = comparable(value) if _is_number(value) else None
        return number is not None and self.contains(number)


@dataclass(frozen=True, slots=True)
class Cidr:
    """An address range: from the address as written to the top of its block (AWS does not mask the
    bottom, so 10.0.0.5/24 starts at 10.0.0.5)."""
    version: int
    low: int
    high: int

    def test(self, value: Any) -> bool:
        address = ip_address(value) if type(value) is str else None
        return address is not None and address[0] == self.version and self.low <= address[1] <= self.high


@dataclass(frozen=True, slots=True)
class Exists:
    present: bool

    def test(self, value: Any) -> bool:  # a leaf exists: only {"exists": true} is met by a value
        return self.present


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """Any leaf (null, booleans and other types included) whose key is not one of `keys` (strings and
    comparable numbers)."""
    keys: frozenset

    def test(self, value: Any) -> bool:
        return value_key(value) not in self.keys


@dataclass(frozen=True, slots=True)
class AnythingButIgnoreCase:
    folded: frozenset[str]

    def test(self, value: Any) -> bool:
        return type(value) is not str or _fold(value) not in self.folded


@dataclass(frozen=True, slots=True)
class AnythingButPrefix:
    texts: tuple[str, ...]

    def test(self, value: Any) -> bool:
        return type(value) is not str or not value.startswith(self.texts)


@dataclass(frozen=True, slots=True)
class AnythingButSuffix:
    texts: tuple[str, ...]

    def test(self, value: Any) -> bool:
        return type(value) is not str or not value.endswith(self.texts)


@dataclass(frozen=True, slots=True)
class AnythingButWildcard:
    wildcards: tuple[Wildcard, ...]

    def test(self, value: Any) -> bool:
        return not any(w.test(value) for w in self.wildcards)


Matcher = (Exact | ExactAddress | EqualsIgnoreCase | Prefix | Suffix | Wildcard | Numeric | Cidr | Exists
           | AnythingBut | AnythingButIgnoreCase | AnythingButPrefix | AnythingButSuffix | AnythingButWildcard)
Condition = frozenset  # of Matcher: a field's values, any of which may match
Step = tuple[str, Condition]  # (path, condition)


def _rank(condition: Condition) -> int:
    """Steps are ordered selective-first so that the machine branches early on dict lookups: exact
    values, then other positive tests, then the rarely failing anything-but and exists-false."""
    def rank(m: Matcher) -> int:
        if isinstance(m, (Exact, ExactAddress, EqualsIgnoreCase)):
            return 0
        if isinstance(m, (AnythingBut, AnythingButIgnoreCase, AnythingButPrefix, AnythingButSuffix,
                          AnythingButWildcard)) or m == Exists(False):
            return 2
        return 1
    return max(rank(m) for m in condition)


@dataclass(frozen=True)
class EventPattern:
    """A valid event pattern: one branch per combination of "$or" alternatives, each a tuple of steps in
    the machine's canonical order; a path appears at most once per branch."""
    text: str
    branches: tuple[tuple[Step, ...], ...]


# ---------------------------------------------------------------------------------------------------
# Parsing: JSON with positions, then the pattern grammar

@dataclass(slots=True)
class _Json:
    """A JSON value as written, with the offsets AWS's messages point at: `head` is where a streaming
    parser stands after the value's first token (past an opening bracket or quote, past a whole number
    or literal) and `end` is past the whole value."""
    kind: str  # object, array, string, number, literal
    value: Any  # object: list of (key, _Json); array: list of _Json; otherwise the Python value
    raw: str  # the token as written (brackets for containers)
    head: int
    end: int


class _Failure(Exception):
    def __init__(self, reason: str, at: int | None, twice: bool = False):
        super().__init__(reason)
        self.reason, self.at, self.twice = reason, at, twice


def _fail(reason: str, at: int | None = None, twice: bool = False) -> NoReturn:
    """`at`: the offset AWS reports, None for the messages it gives without one; `twice`: AWS repeats
    the location for errors inside anything-but lists (its parser re-wraps them)."""
    raise _Failure(reason, at, twice)


_SPACE = re.compile(r"[ \t\r\n]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r'[^ \t\r\n,:\[\]{}"]+')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


class _NonNumeric(ValueError):
    pass


def _no_constants(name: str) -> NoReturn:
    raise _NonNumeric(name)


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _scan(text: str, i: int) -> tuple[_Json, int]:
    """Reads the JSON value at text[i:] (already known to be valid) with its offsets."""
    i = _SPACE.match(text, i).end()
    c = text[i]
    if c in "{[":
        close, items, j = "}" if c == "{" else "]", [], _SPACE.match(text, i + 1).end()
        while text[j] != close:
            if c == "{":
                key = _STRING.match(text, j)
                j = _SPACE.match(text, key.end()).end() + 1  # past the colon
                value, j = _scan(text, j)
                items.append((_string_value(key.group()), value))
            else:
                value, j = _scan(text, j)
                items.append(value)
            j = _SPACE.match(text, j).end()
            if text[j] == ",":
                j = _SPACE.match(text, j + 1).end()
        return _Json("object" if c == "{" else "array", items, c, i + 1, j + 1), j + 1
    if c == '"':
        token = _STRING.match(text, i)
        return _Json("string", _string_value(token.group()), token.group(), i + 1, token.end()), token.end()
    token = _SCALAR.match(text, i)
    kind = "number" if token.group()[0] in "-0123456789" else "literal"
    return _Json(kind, json.loads(token.group()), token.group(), token.end(), token.end()), token.end()


def _string_value(token: str) -> str:
    return token[1:-1] if "\\" not in token else json.loads(token)


def _location(text: str, offset: int) -> str:
    """Jackson's location suffix, as AWS appends it: 1-based line and column (in UTF-16 units)."""
    line_start = text.rfind("\n", 0, offset) + 1
    column = len(text[line_start:offset].encode("utf-16-le")) // 2 + 1
    shown = f'"{text}"' if len(text) <= 500 else f'"{text[:500]}"[truncated {len(text) - 500} chars]'
    return f"\n at [Source: (String){shown}; line: {text.count(chr(10), 0, offset) + 1}, column: {column}]"


def _syntax_error(text: str, error: json.JSONDecodeError) -> InvalidEventPattern:
    """Invalid JSON, in the words of AWS's parser (Jackson) for the common cases."""
    pos, message = error.pos, error.msg
    char = text[pos] if pos < len(text) else ""
    where = pos
    if message.startswith("Unterminated string"):
        reason = "Unexpected end-of-input: was expecting closing quote for a string value"
        where = len(text)
    elif not char:
        reason = "Unexpected end-of-input"
        where = len(text)
    elif message == "Expecting value" and (char.isalpha() or char in "_+"):
        token = _SCALAR.match(text, pos).group()
        reason = (f"Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token "
                  "'null', 'true' or 'false')")
        where = pos + len(token)
    elif message.startswith("Expecting property name"):
        reason = f"Unexpected character ('{char}' (code {ord(char)})): was expecting double-quote to start field name"
    elif message.startswith("Expecting ':'"):
        reason = (f"Unexpected character ('{char}' (code {ord(char)})): was expecting a colon to separate field "
                  "name and value")
    elif message.startswith("Expecting ','"):
        inside = "Object" if _innermost(text, pos) == "{" else "Array"
        reason = f"Unexpected character ('{char}' (code {ord(char)})): was expecting comma to separate {inside} entries"
    elif message.startswith("Invalid control character"):
        reason = (f"Illegal unquoted character ((CTRL-CHAR, code {ord(char)})): has to be escaped using backslash "
                  "to be included in string value")
    elif message.startswith("Invalid \\escape"):
        escaped = text[pos + 1:pos + 2]
        reason = f"Unrecognized character escape '{escaped}' (code {ord(escaped) if escaped else 0})"
    else:
        reason = (f"Unexpected character ('{char}' (code {ord(char)})): expected a valid value (JSON String, "
                  "Number, Array, Object or token 'null', 'true' or 'false')")
    return InvalidEventPattern(PREFIX + reason + _location(text, where))


def _innermost(text: str, pos: int) -> str:
    """The innermost open bracket before `pos` (outside strings)."""
    stack: list[str] = []
    i = 0
    while i < pos:
        c = text[i]
        if c == '"':
            token = _STRING.match(text, i)
            i = token.end() if token else pos
            continue
        if c in "{[":
            stack.append(c)
        elif c in "}]" and stack:
            stack.pop()
        i += 1
    return stack[-1] if stack else ""


def _parse(text: str) -> _Json:
    start = _SPACE.match(text, 0).end()
    if start == len(text):
        raise InvalidEventPattern(PREFIX + "Filter is not an object" + _location(text, start))
    # AWS's parser streams: a first token that is not "{" fails before anything after it is read.
    first = text[start]
    if first in '["':
        raise InvalidEventPattern(PREFIX + "Filter is not an object" + _location(text, start + 1))
    scalar = _SCALAR.match(text, start)
    if first != "{" and scalar and (scalar.group() in ("true", "false", "null") or _NUMBER.fullmatch(scalar.group())):
        raise InvalidEventPattern(PREFIX + "Filter is not an object" + _location(text, scalar.end()))
    try:
        _DECODER.raw_decode(text, start)  # what follows the pattern object is ignored, as AWS does
        return _scan(text, start)[0]
    except json.JSONDecodeError as error:
        raise _syntax_error(text, error) from None
    except _NonNumeric as error:
        at = text.find(str(error), start)
        raise InvalidEventPattern(PREFIX + f"Non-standard token '{error}': enable "
                                  "JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to allow"
                                  + _location(text, at + len(str(error)))) from None
    except RecursionError:
        raise InvalidEventPattern(PREFIX + "Maximum nesting depth exceeded") from None


def validate(pattern: str | Mapping) -> EventPattern:
    """Parses and checks an event pattern; raises InvalidEventPattern with AWS's message."""
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    root = _parse(text)
    compiler = _Compiler()
    try:
        branches = compiler.pattern(root)
        for wildcard in compiler.wildcards:
            if _wildcard_complexity(wildcard.segments) > MAX_WILDCARD_COMPLEXITY:
                _fail(TOO_COMPLEX)
    except _Failure as failure:
        where = "" if failure.at is None else _location(text, failure.at) * (2 if failure.twice else 1)
        raise InvalidEventPattern(PREFIX + failure.reason + where) from None
    except RecursionError:
        raise InvalidEventPattern(PREFIX + "Maximum nesting depth exceeded") from None
    ordered = {tuple(sorted(b.items(), key=lambda step: (_rank(step[1]), step[0]))): None for b in branches}
    return EventPattern(text, tuple(ordered))


class _Compiler:
    """The pattern grammar over positioned JSON, in document order, failing at the first error as AWS
    does. Fields go into every current branch; "$or" multiplies the branches; a field written twice
    keeps its last value (AWS's duplicate-key behaviour)."""

    def __init__(self) -> None:
        self.wildcards: list[Wildcard] = []

    def pattern(self, root: _Json) -> list[dict[str, Condition]]:
        if root.kind != "object":
            _fail("Filter is not an object", root.head)
        return self.fields(root, None, [{}], inside_or=False)

    def fields(self, node: _Json, prefix: str | None, branches: list[dict], inside_or: bool) -> list[dict]:
        if not node.value:
            _fail("Empty objects are not allowed", node.end)
        for key, value in node.value:
            if key == "$or":
                branches = self.alternatives(value, prefix, branches)
                continue
            if inside_or and key in OPERATORS:
                _fail(f"{key} is Ruler reserved fieldName which cannot be used inside $or.", value.head)
            path = key if prefix is None else f"{prefix}.{key}"
            if value.kind == "object":
                branches = self.fields(value, path, branches, inside_or)
            elif value.kind == "array":
                condition = self.condition(value)
                for branch in branches:
                    branch[path] = condition
            else:
                _fail(f'"{key}" must be an object or an array', value.head)
        return branches

    def alternatives(self, node: _Json, prefix: str | None, branches: list[dict]) -> list[dict]:
        if node.kind != "array":
            _fail("It must be an Array followed with $or.", node.head)
        result: list[dict] = []
        for item in node.value:
            if item.kind != "object":
                _fail("Only JSON object is allowed in array of $or relationship.", item.head)
            result += self.fields(item, prefix, [dict(b) for b in branches], inside_or=True)
        if len(node.value) < 2:
            _fail("There must have at least 2 Objects in $or relationship.", node.end)
        return result

    def condition(self, node: _Json) -> Condition:
        matchers: list[Matcher] = []
        for item in node.value:
            if item.kind == "object":
                matchers.append(self.operator(item))
            elif item.kind == "array":
                _fail("Match value must be String, number, true, false, or null", item.head)
            elif item.kind == "string" and ip_address(item.value):
                matchers.append(ExactAddress(ip_address(item.value)))
            else:
                matchers.append(Exact(value_key(item.value)))
        if not matchers:
            _fail("Empty arrays are not allowed", node.end)
        return frozenset(matchers)

    def operator(self, node: _Json) -> Matcher:
        if not node.value:
            _fail("Match expression name not found", node.end)
        (name, arg), extra = node.value[0], node.value[1:]
        if name in ("prefix", "suffix"):
            matcher: Matcher = self.affix(name, arg)
        elif name == "equals-ignore-case":
            matcher = EqualsIgnoreCase(_fold(self.string(arg, "equals-ignore-case match pattern must be a string")))
        elif name == "wildcard":
            matcher = self.wildcard(self.string(arg, "wildcard match pattern must be a string"), arg.end)
        elif name == "exists":
            if arg.kind != "literal" or not isinstance(arg.value, bool):
                _fail("exists match pattern must be either true or false.", arg.head)
            matcher = Exists(arg.value)
        elif name == "cidr":
            matcher = _cidr(self.string(arg, "prefix match pattern must be a string"))
        elif name == "numeric":
            matcher = self.numeric(arg)
        elif name == "anything-but":
            matcher = self.anything_but(arg)
        else:
            _fail(f"Unrecognized match type {name}", arg.head)
        if extra:
            _fail(TOO_MANY_ELEMENTS if name in ("numeric", "anything-but") else ONE_KEY, extra[0][1].head)
        return matcher

    @staticmethod
    def string(node: _Json, message: str) -> str:
        if node.kind != "string":
            _fail(message, node.head)
        return node.value

    def affix(self, name: str, arg: _Json) -> Prefix | Suffix:
        kind = Prefix if name == "prefix" else Suffix
        if arg.kind == "object" and arg.value and arg.value[0][0] == "equals-ignore-case":
            (_, inner), extra = arg.value[0], arg.value[1:]
            text = self.string(inner, "equals-ignore-case match pattern must be a string")
            if extra:
                _fail(ONE_KEY, extra[0][1].head)
            return kind(_fold(text), folded=True)
        return kind(self.string(arg, f"{name} match pattern must be a string"), folded=False)

    def wildcard(self, text: str, at: int, twice: bool = False) -> Wildcard:
        """`*` is a wildcard, `\\*` and `\\\\` are a literal star and backslash; AWS counts positions in
        UTF-8 bytes from the opening quote."""
        segments, literal, i, position = [], [], 0, 1
        while i < len(text):
            c = text[i]
            if c == "*":
                if text[i + 1:i + 2] == "*":
                    _fail(f"Consecutive wildcard characters at pos {position}", at, twice)
                segments.append("".join(literal))
                literal = []
            elif c == "\\":
                escaped = text[i + 1:i + 2]
                if escaped not in ("*", "\\") or not escaped:
                    _fail(f"Invalid escape character at pos {position}", at, twice)
                literal.append(escaped)
                i += 1
                position += 1
            else:
                literal.append(c)
            position += len(c.encode("utf-8", "surrogatepass"))
            i += 1
        segments.append("".join(literal))
        wildcard = Wildcard.of(tuple(segments))
        self.wildcards.append(wildcard)
        return wildcard

    def numeric(self, arg: _Json) -> Numeric | Exact:
        if arg.kind != "array":
            _fail("Value of numeric must be an array.", arg.head)
        items, end = arg.value, arg.end

        def number(index: int, name: str) -> float:
            if index >= len(items):
                _fail(f"Value of {name} must be numeric", end)
            if items[index].kind != "number":
                _fail(f"Value of {name} must be numeric", items[index].head)
            return items[index].value

        def bound(value: float) -> int:
            result = comparable(value)
            if result is None:
                _fail(OUT_OF_RANGE, end)
            return result

        if not items or items[0].kind != "string":
            _fail(f"Invalid member in numeric match: {items[0].raw if items else ']'}", items[0].head if items else end)
        operator = items[0].value
        if operator not in ("=", "<", "<=", ">", ">="):
            _fail(f"Unrecognized numeric range operator: {operator}", items[0].end)
        value = number(1, "equals" if operator == "=" else operator)
        if operator in ("=", "<", "<="):
            if len(items) > 2:
                _fail(TOO_MANY_ELEMENTS, items[2].head)
            if operator == "=":
                return Exact(bound(value))
            return Numeric(None, False, bound(value), operator == "<")
        if len(items) == 2:
            return Numeric(bound(value), operator == ">", None, False)
        upper = items[2]
        if upper.kind != "string":
            _fail(f"Bad value in numeric range: {upper.raw}", upper.head)
        if upper.value not in ("<", "<="):
            _fail(f"Bad numeric range operator: {upper.value}", upper.end)
        top = number(3, upper.value)
        if len(items) > 4:
            _fail("Too many terms in numeric range expression", items[4].head)
        low, high = bound(value), bound(top)
        if low >= high:
            _fail("Bottom must be less than top", end)
        return Numeric(low, operator == ">", high, upper.value == "<")

    def anything_but(self, arg: _Json) -> Matcher:
        if arg.kind == "object":
            if not arg.value:
                _fail("Anything-But expression name not found", arg.end)
            (name, inner), extra = arg.value[0], arg.value[1:]
            if name in ("prefix", "suffix"):
                texts = self.texts(inner, "prefix/suffix match pattern must be a string")
                for text, node, twice in texts:
                    if not text:
                        _fail("Null prefix/suffix not allowed", node.end, twice)
                matcher: Matcher = (AnythingButPrefix if name == "prefix" else AnythingButSuffix)(
                    tuple(text for text, _, _ in texts))
            elif name == "wildcard":
                texts = self.texts(inner, "wildcard match pattern must be a string")
                matcher = AnythingButWildcard(tuple(self.wildcard(text, node.end, twice)
                                                    for text, node, twice in texts))
            elif name == "equals-ignore-case":
                texts = self.texts(inner, "Inside anything-but/equals-ignore-case list, number|start|null|boolean "
                                          "is not supported.")
                matcher = AnythingButIgnoreCase(frozenset(_fold(text) for text, _, _ in texts))
            else:
                _fail(f"Unsupported anything-but pattern: {name}", inner.head)
            if extra:
                _fail(TOO_MANY_ELEMENTS if name == "equals-ignore-case" else ONE_KEY, extra[0][1].head)
            return matcher
        if arg.kind == "array":
            strings, numbers = set(), set()
            for item in arg.value:
                if item.kind == "string":
                    strings.add(item.value)
                elif item.kind == "number":
                    number = comparable(item.value)
                    if number is None:
                        _fail(OUT_OF_RANGE, item.end)
                    numbers.add(number)
                else:
                    _fail("Inside anything but list, start|null|boolean is not supported.", item.head, twice=True)
            if bool(strings) == bool(numbers):
                _fail("Inside anything but list, either all values are number or string, mixed type is not "
                      "supported", arg.end)
            return AnythingBut(frozenset(strings | numbers))
        if arg.kind == "string":
            return AnythingBut(frozenset({arg.value}))
        if arg.kind == "number":
            number = comparable(arg.value)
            if number is None:
                _fail(OUT_OF_RANGE)
            return AnythingBut(frozenset({number}))
        _fail(ANYTHING_BUT_VALUE, arg.head)

    @staticmethod
    def texts(node: _Json, message: str) -> list[tuple[str, _Json, bool]]:
        """One string or a non-empty list of them, for the anything-but sub-forms: (text, its node,
        whether an error about it repeats the location)."""
        if node.kind == "string":
            return [(node.value, node, False)]
        if node.kind == "object":
            _fail(ANYTHING_BUT_VALUE, node.head)
        if node.kind != "array":
            _fail(message, node.head)
        if not node.value:
            _fail("Empty arrays are not allowed", node.end)
        for item in node.value:
            if item.kind != "string":
                _fail(message, item.head, twice=True)
        return [(item.value, item, True) for item in node.value]


def _cidr(text: str) -> Cidr:
    parts = text.split("/")
    while parts and not parts[-1]:  # Java's split, which AWS uses, drops trailing empty parts
        parts.pop()
    if len(parts) != 2:
        _fail("Malformed CIDR, one '/' required")
    if not re.fullmatch(r"[+-]?[0-9]+", parts[1]) or not -2 ** 31 <= int(parts[1]) < 2 ** 31:
        _fail("Malformed CIDR, mask bits must be an integer")
    bits = int(parts[1])
    if bits < 0:
        _fail("Malformed CIDR, mask bits must not be negative")
    address = ip_address(parts[0])
    if address is None:
        _fail(f"Nonstandard IP address: {parts[0]}")
    version, low = address
    width = 32 if version == 4 else 128
    if bits >= width:
        _fail(f"IPv{version} mask bits must be < {width}")
    return Cidr(version, low, low | ((1 << (width - bits)) - 1))


@lru_cache(maxsize=4096)
def _wildcard_complexity(segments: tuple[str, ...]) -> int:
    """The most prefixes of the wildcard that one input matches at the same time (the non-determinism
    a matcher must carry), found by exploring the sets of matched prefixes reachable by any input."""
    tokens: list[str | None] = []  # None is a star
    for i, segment in enumerate(segments):
        if i:
            tokens.append(None)
        tokens.extend(segment)
    n = len(tokens)

    def close(states: set[int]) -> frozenset[int]:
        for k in sorted(states):  # a prefix followed by a star also matches with the (empty) star
            while k < n and tokens[k] is None and k + 1 not in states:
                states.add(k + 1)
                k += 1
        return frozenset(states)

    alphabet = {t for t in tokens if t is not None} | {"\0"}  # "\0": any character the pattern lacks
    start = close({0})
    seen, todo, widest = {start}, [start], len(start)
    while todo:
        current = todo.pop()
        for char in alphabet:
            following = {k for k in current if k and tokens[k - 1] is None}  # a star absorbs the character
            following |= {k + 1 for k in current if k < n and tokens[k] == char}
            states = close(following)
            if states and states not in seen:
                seen.add(states)
                todo.append(states)
                widest = max(widest, len(states))
                if len(seen) > 20000:
                    return MAX_WILDCARD_COMPLEXITY + 1
    return widest


# ---------------------------------------------------------------------------------------------------
# The compiled index

class _Ranges:
    """Numeric conditions on one path at one node. One-sided ranges answer from sorted bounds (all those
    on the right side of the value match); two-sided ones are cut the same way by their low bound and
    then checked."""

    def __init__(self, items: list[tuple[Numeric, _Node]]):
        def table(pairs: list[tuple[int, _Node]]) -> tuple[list[int], list[_Node]]:
            pairs.sort(key=lambda pair: pair[0])
            return [b for b, _ in pairs], [c for _, c in pairs]

        one_sided_low = [(m, c) for m, c in items if m.high is None]
        one_sided_high = [(m, c) for m, c in items if m.low is None]
        self.at_least = table([(m.low, c) for m, c in one_sided_low if not m.low_open])
        self.above = table([(m.low, c) for m, c in one_sided_low if m.low_open])
        self.at_most = table([(m.high, c) for m, c in one_sided_high if not m.high_open])
        self.below = table([(m.high, c) for m, c in one_sided_high if m.high_open])
        between = sorted(((m, c) for m, c in items if m.low is not None and m.high is not None),
                         key=lambda pair: pair[0].low)
        self.between_lows = [m.low for m, _ in between]
        self.between = between

    def collect(self, number: int, out: list) -> None:
        bounds, children = self.at_least
        out += children[:bisect.bisect_right(bounds, number)]
        bounds, children = self.above
        out += children[:bisect.bisect_left(bounds, number)]
        bounds, children = self.at_most
        out += children[bisect.bisect_left(bounds, number):]
        bounds, children = self.below
        out += children[bisect.bisect_right(bounds, number):]
        for matcher, child in self.between[:bisect.bisect_right(self.between_lows, number)]:
            if matcher.contains(number):
                out.append(child)


class _Affixes:
    """Prefixes (or suffixes) by text, probed with the value's own prefix of each length in use."""

    def __init__(self, suffix: bool):
        self.suffix = suffix
        self.by_text: dict[str, list[_Node]] = {}
        self.lengths: list[int] = []

    def add(self, text: str, child: _Node) -> None:
        self.by_text.setdefault(text, []).append(child)

    def freeze(self) -> None:
        self.lengths = sorted({len(text) for text in self.by_text})

    def collect(self, value: str, out: list) -> None:
        size = len(value)
        for length in self.lengths:
            if length > size:
                break
            hit = self.by_text.get(value[size - length:] if self.suffix else value[:length])
            if hit:
                out += hit


class _Lookup:
    """The conditions on one path at one node, arranged so that a value finds the children whose
    condition it meets without trying each condition in turn (except the rare kinds in `others`)."""

    def __init__(self) -> None:
        self.exact: dict[Hashable, list[_Node]] = {}  # value_key -> children
        self.addresses: dict[tuple[int, int], list[_Node]] = {}
        self.folded: dict[str, list[_Node]] = {}  # equals-ignore-case
        self.prefixes, self.suffixes = _Affixes(suffix=False), _Affixes(suffix=True)
        self.folded_prefixes, self.folded_suffixes = _Affixes(suffix=False), _Affixes(suffix=True)
        self.numeric: list[tuple[Numeric, _Node]] = []
        self.ranges: _Ranges | None = None
        self.present: list[_Node] = []  # exists: true
        self.absent: list[_Node] = []  # exists: false, followed when the path has no leaf
        self.excluding: list[_Node] = []  # one entry per anything-but (set of values)...
        self.excluded: dict[Hashable, set[int]] = {}  # ...and, per value, the entries that exclude it
        self.others: list[tuple[Matcher, _Node]] = []  # tested one by one
        self.fold = False  # whether values must be lower-cased for a lookup
        self.only_exact = False  # exact values only: a string needs just the dict
        self.children = self._all

    def add(self, matcher: Matcher, child: _Node) -> None:
        match matcher:
            case Exact(key):
                self.exact.setdefault(key, []).append(child)
            case ExactAddress(address):
                self.addresses.setdefault(address, []).append(child)
            case EqualsIgnoreCase(folded):
                self.folded.setdefault(folded, []).append(child)
            case Prefix(text, folded):
                (self.folded_prefixes if folded else self.prefixes).add(text, child)
            case Suffix(text, folded):
                (self.folded_suffixes if folded else self.suffixes).add(text, child)
            case Numeric():
                self.numeric.append((matcher, child))
            case Exists(present):
                (self.present if present else self.absent).append(child)
            case AnythingBut(keys):
                for key in keys:
                    self.excluded.setdefault(key, set()).add(len(self.excluding))
                self.excluding.append(child)
            case _:
                self.others.append((matcher, child))

    def freeze(self) -> None:
        for affixes in (self.prefixes, self.suffixes, self.folded_prefixes, self.folded_suffixes):
            affixes.freeze()
        self.ranges = _Ranges(self.numeric) if self.numeric else None
        self.fold = bool(self.folded or self.folded_prefixes.by_text or self.folded_suffixes.by_text)
        self.only_exact = not (self.addresses or self.fold or self.prefixes.by_text or self.suffixes.by_text
                               or self.ranges or self.present or self.excluding or self.others)
        self.children = self._exact if self.only_exact else self._all

    def _exact(self, value: Any) -> list[_Node]:
        """The common case, exact values only: one dict lookup."""
        return self.exact.get(value if type(value) is str else value_key(value)) or []

    def _all(self, value: Any) -> list[_Node]:
        out: list[_Node] = []
        key = value_key(value)
        hit = self.exact.get(key)
        if hit:
            out += hit
        if type(value) is str:
            if self.addresses:
                address = ip_address(value)
                if address is not None:
                    out += self.addresses.get(address, ())
            if self.prefixes.lengths:
                self.prefixes.collect(value, out)
            if self.suffixes.lengths:
                self.suffixes.collect(value, out)
            if self.fold:
                folded = _fold(value)
                out += self.folded.get(folded, ())
                self.folded_prefixes.collect(folded, out)
                self.folded_suffixes.collect(folded, out)
        elif self.ranges is not None and type(key) is int:
            self.ranges.collect(key, out)
        out += self.present
        if self.excluding:
            excluded = self.excluded.get(key)
            out += [c for i, c in enumerate(self.excluding) if i not in excluded] if excluded else self.excluding
        for matcher, child in self.others:
            if matcher.test(value):
                out.append(child)
        return out if len(out) < 2 else list(dict.fromkeys(out))


class _Node:
    """A state of the machine: the branches that end here and the steps that leave it."""
    __slots__ = ("edges", "rules", "weight", "lookups")

    def __init__(self) -> None:
        self.edges: dict[Step, _Node] = {}
        self.rules: dict[Hashable, int] = {}  # rule id -> how many of its branches end here
        self.weight = 0  # branches passing through, to prune on removal
        # (path, the exact-values dict when that is all there is, lookup); None: to be rebuilt from edges
        self.lookups: list[tuple[str, dict | None, _Lookup]] | None = []

    def compile(self) -> list[tuple[str, dict | None, _Lookup]]:
        by_path: dict[str, _Lookup] = {}
        for (path, condition), child in self.edges.items():
            lookup = by_path.setdefault(path, _Lookup())
            for matcher in condition:
                lookup.add(matcher, child)
        for lookup in by_path.values():
            lookup.freeze()
        self.lookups = [(path, lookup.exact if lookup.only_exact else None, lookup) for path, lookup in by_path.items()]
        return self.lookups


Leaves = dict[str, list[tuple[Any, tuple[tuple[int, int], ...]]]]  # path -> [(value, array trail)]


class _Scope:
    """The object keys rules mention, as a tree: flattening an event follows it and skips the rest."""
    __slots__ = ("keys", "path", "wanted")

    def __init__(self, path: str | None) -> None:
        self.keys: dict[str, _Scope] = {}
        self.path = path  # the dotted path to here
        self.wanted = False  # some rule tests the leaves here

    @classmethod
    def of(cls, paths: Iterable[str]) -> _Scope:
        root = cls(None)
        for path in paths:
            scope = root
            for key in path.split("."):
                deeper = scope.keys.get(key)
                if deeper is None:
                    deeper = scope.keys[key] = cls(key if scope.path is None else f"{scope.path}.{key}")
                scope = deeper
            scope.wanted = True
        return root

    def follow(self, key: Any) -> _Scope | None:
        """Where an event key leads; a key with dots stands for several levels ({"a.b": 1} is {"a": {"b": 1}})."""
        scope = self.keys.get(key)
        if scope is not None or type(key) is not str or "." not in key:
            return scope
        scope = self
        for part in key.split("."):
            scope = scope.keys.get(part)
            if scope is None:
                return None
        return scope


def _visit(value: Any, scope: _Scope, trail: tuple, leaves: Leaves, arrays: list[int]) -> None:
    if isinstance(value, dict):
        keys = scope.keys
        for key, item in value.items():
            deeper = keys.get(key)
            if deeper is None and type(key) is str and "." in key:
                deeper = scope.follow(key)
            if deeper is not None:
                _visit(item, deeper, trail, leaves, arrays)
    elif isinstance(value, list):
        arrays[0] += 1
        array = arrays[0]
        for i, item in enumerate(value):
            _visit(item, scope, (*trail, (array, i)), leaves, arrays)
    elif scope.wanted:
        found = leaves.get(scope.path)
        if found is None:
            leaves[scope.path] = [(value, trail)]
        else:
            found.append((value, trail))


def flatten(event: Mapping, scope: _Scope) -> Leaves:
    """The event's leaves at the paths `scope` wants. A trail names the arrays a leaf sits in:
    ((array number, index), ...), numbered in the order met."""
    leaves: Leaves = {}
    _visit(event, scope, (), leaves, [0])
    return leaves


def _merge(context: dict[int, int], trail: tuple) -> dict[int, int] | None:
    """The array elements chosen so far plus this leaf's, or None when it sits in another element of an
    array already chosen (array consistency)."""
    merged = None
    for array, index in trail:
        chosen = context.get(array)
        if chosen is None:
            if merged is None:
                merged = dict(context)
            merged[array] = index
        elif chosen != index:
            return None
    return context if merged is None else merged


_NO_CHOICE: dict[int, int] = {}


def _walk(root: _Node, leaves: Leaves, matched: set) -> None:
    """Every node the event reaches (depth first, with the array elements chosen on the way)."""
    stack = [(root, _NO_CHOICE)]
    while stack:
        node, context = stack.pop()
        if node.rules:
            matched.update(node.rules)
        lookups = node.lookups if node.lookups is not None else node.compile()
        for path, strings, lookup in lookups:
            found = leaves.get(path)
            if found is None:
                for child in lookup.absent:
                    stack.append((child, context))
                continue
            for value, trail in found:
                if strings is not None and type(value) is str:  # the common case, inlined
                    children = strings.get(value)
                else:
                    children = lookup.children(value)
                if not children:
                    continue
                chosen = _merge(context, trail) if trail else context
                if chosen is not None:
                    for child in children:
                        stack.append((child, chosen))


class PatternIndex:
    """Rules (id -> event pattern) compiled into one machine; `matching(event)` gives the ids of the
    rules that match. Adding and removing rules is cheap; a changed node is re-indexed on the next match."""

    def __init__(self) -> None:
        self._root = _Node()
        self._patterns: dict[Hashable, EventPattern] = {}
        self._paths: Counter[str] = Counter()
        self._scope: _Scope | None = None

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, rule_id: Hashable) -> bool:
        return rule_id in self._patterns

    def add(self, rule_id: Hashable, pattern: str | Mapping | EventPattern) -> EventPattern:
        """Adds (or replaces) a rule; raises InvalidEventPattern for an invalid pattern."""
        parsed = pattern if isinstance(pattern, EventPattern) else validate(pattern)
        self.remove(rule_id)
        self._patterns[rule_id] = parsed
        for branch in parsed.branches:
            node = self._root
            node.weight += 1
            for step in branch:
                child = node.edges.get(step)
                if child is None:
                    child = node.edges[step] = _Node()
                    node.lookups = None
                child.weight += 1
                node = child
            node.rules[rule_id] = node.rules.get(rule_id, 0) + 1
            self._paths.update(path for path, _ in branch)
        self._scope = None
        return parsed

    def remove(self, rule_id: Hashable) -> bool:
        parsed = self._patterns.pop(rule_id, None)
        if parsed is None:
            return False
        for branch in parsed.branches:
            nodes = [self._root]
            for step in branch:
                nodes.append(nodes[-1].edges[step])
            end = nodes[-1]
            end.rules[rule_id] -= 1
            if not end.rules[rule_id]:
                del end.rules[rule_id]
            for i in range(len(branch), 0, -1):
                nodes[i].weight -= 1
                if not nodes[i].weight:
                    del nodes[i - 1].edges[branch[i - 1]]
                    nodes[i - 1].lookups = None
            self._root.weight -= 1
            self._paths.subtract(path for path, _ in branch)
        self._paths = +self._paths  # drop the paths no rule uses any more
        self._scope = None
        return True

    def matching(self, event: Mapping) -> set:
        """The ids of the rules whose pattern matches `event` (a decoded JSON object)."""
        if not self._patterns or not isinstance(event, dict):
            return set()
        if self._scope is None:
            self._scope = _Scope.of(self._paths)
        matched: set = set()
        _walk(self._root, flatten(event, self._scope), matched)
        return matched


def matches(pattern: str | Mapping | EventPattern, event: Mapping) -> bool:
    """Whether one pattern matches one event (TestEventPattern)."""
    index = PatternIndex()
    index.add(0, pattern)
    return bool(index.matching(event))
