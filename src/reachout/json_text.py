"""JSON text from clients (request bodies, and JSON carried in strings: PutEvents Detail, flow Content,
profile objects...), read with bounded nesting.

json.loads recurses once per level and raises RecursionError past Python's limit, and everything that
walks the result (decoding to the model, validation, handlers, pattern matching) recurses too: text
nested deeper than MAX_JSON_DEPTH is refused as invalid (a ValueError) before it is parsed.
"""
from __future__ import annotations

import json
import re

import orjson

# No request any of the six APIs documents comes near it, and it keeps every recursive walk far from
# Python's recursion limit.
MAX_JSON_DEPTH = 64


class JsonTooDeep(ValueError):
    pass


def read_json(text: bytes | str):
    """json.loads for text from the wire: ValueError (never RecursionError) for JSON nested deeper than
    MAX_JSON_DEPTH, and for NaN/Infinity, which JSON does not have."""
    if _nesting_exceeds(text, MAX_JSON_DEPTH):
        raise JsonTooDeep(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if b"0" * 19 not in data.translate(_DIGITS_AS_ZERO):
        try:
            # orjson reads plain JSON in a third of the time; what it refuses (NaN, other encodings) is
            # read, or refused, by json.loads as always. It would read integers beyond 64 bits as floats:
            # a text with a run of 19 digits or more goes to json.loads alone.
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=_reject_constant)


_DIGITS_AS_ZERO = bytes(b"0"[0] if chr(b).isdigit() and b < 128 else b" "[0] for b in range(256))


# A JSON string (skipped whole, so brackets inside it do not count), an opening or a closing bracket.
_BRACKETS = {bytes: re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|([\[{])|[\]}]'),
             str: re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|([\[{])|[\]}]')}


# Brackets kept, as parentheses; everything else dropped.
_AS_PARENS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _nesting_exceeds(text: bytes | str, limit: int) -> bool:
    """Counted without recursion before parsing: json.loads itself recurses, once per level."""
    opening = (b"[", b"{") if isinstance(text, bytes) else ("[", "{")
    if text.count(opening[0]) + text.count(opening[1]) <= limit:  # the usual case, at C speed
        return False
    # Many brackets (a batch of items). Without a backslash, the strings are every other piece between
    # quotes: drop them, keep the brackets alone, and peel innermost pairs, one level per pass, all
    # at C speed. Nothing left within `limit` passes: balanced and no deeper than that.
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if b"\\" not in data and data.count(b'"') % 2 == 0:
        structure = b"".join(data.split(b'"')[::2]).translate(_AS_PARENS, _NOT_BRACKETS)
        for _ in range(limit):
            peeled = structure.replace(b"()", b"")
            if not peeled:
                return False
            if peeled == structure:
                break
            structure = peeled
    depth = 0  # deep or unbalanced: counted exactly, a token at a time
    for token in _BRACKETS[type(text)].finditer(text):
        if token.lastindex:
            depth += 1
            if depth > limit:
                return True
        elif token.end() - token.start() == 1:
            depth -= 1
    return False


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
