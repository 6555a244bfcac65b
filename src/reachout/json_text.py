"""JSON text from clients (request bodies, and JSON carried in strings: PutEvents Detail, flow Content,
profile objects...), read with bounded nesting.

json.loads recurses once per level and raises RecursionError past Python's limit, and everything that
walks the result (decoding to the model, validation, handlers, pattern matching) recurses too: text
nested deeper than MAX_JSON_DEPTH is refused as invalid (a ValueError) before it is parsed.
"""
from __future__ import annotations

import json
import re

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
    return json.loads(text, parse_constant=_reject_constant)


# A JSON string (skipped whole, so brackets inside it do not count), an opening or a closing bracket.
_BRACKETS = {bytes: re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|([\[{])|[\]}]'),
             str: re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|([\[{])|[\]}]')}


def _nesting_exceeds(text: bytes | str, limit: int) -> bool:
    """Counted without recursion before parsing: json.loads itself recurses, once per level."""
    opening = (b"[", b"{") if isinstance(text, bytes) else ("[", "{")
    if text.count(opening[0]) + text.count(opening[1]) <= limit:  # the usual case, at C speed
        return False
    depth = 0
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
