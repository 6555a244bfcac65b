"""Wire -> params: a request's labels, query string, headers and JSON body become one dict with the
model's member names and Python types (int, float, bool, str, datetime, bytes, list, dict).

Type mismatches are reported here as validation problems naming the member; constraints (lengths,
patterns, enums, ranges) are checked afterwards by `validation`. Whatever the bytes, the outcome is
params or a validation problem: JSON nested too deeply (reachout.json_text), numbers beyond the
model's integer widths and text no database can hold never reach a handler.
"""
from __future__ import annotations

import base64
import math
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from botocore.model import OperationModel, Shape

from reachout.aws.errors import ParamValidationError
from reachout.json_text import JsonTooDeep, read_json

# Smithy's `integer` is 32 bits and `long` 64 bits: a wider number is invalid input, not a value.
INTEGER_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_DECIMAL_INTEGER = re.compile(r"[+-]?[0-9]+")  # int() would also take "1_000", " 7" and non-ASCII digits


def parse_rest_json(
    operation: OperationModel,
    labels: dict[str, str],
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
) -> dict:
    shape = operation.input_shape
    if shape is None:
        return {}
    problems: list[str] = []
    params: dict = {}
    document = _json_document(body, problems)
    claimed_query = {m.serialization.get("name", n) for n, m in shape.members.items()
                     if m.serialization.get("location") == "querystring" and m.type_name != "map"}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in labels:
                params[name] = _from_text(member, labels[wire_name], name, problems)
        elif location == "querystring":
            value = _from_query(member, wire_name, query, claimed_query, name, problems)
            if value is not None:
                params[name] = value
        elif location == "header":
            value = _from_header(member, wire_name, headers, name, problems)
            if value is not None:
                params[name] = value
        elif location in ("headers", "statusCode"):
            continue
        elif wire_name in document:
            params[name] = _decoded(member, document[wire_name], name, problems)
    if problems:
        raise ParamValidationError(problems)
    return params


def parse_json(operation: OperationModel, body: bytes) -> dict:
    """json protocol (X-Amz-Target): the whole body is the input structure."""
    problems: list[str] = []
    document = _json_document(body, problems)
    params = _decoded(operation.input_shape, document, "", problems) if operation.input_shape else {}
    if problems:
        raise ParamValidationError(problems)
    return params


def _decoded(shape: Shape, value, path: str, problems: list[str]):
    """decode(), through the quick decoder when the value is well typed (nearly every call)."""
    try:
        return _decoder(shape)(value)
    except _Refused:  # something is wrong: decode again, saying what and where
        return decode(shape, value, path, problems)


# --- the quick decoder ---------------------------------------------------------------------------
# Each shape gets a decoder, built once, that gives what decode() gives for a well-typed value and
# refuses (_Refused) anything decode() would report, without building a path for every value.

class _Refused(Exception):
    pass


_DECODERS: dict[Shape, object] = {}


def _decoder(shape: Shape):
    found = _DECODERS.get(shape)
    if found is None:
        found = _DECODERS[shape] = _build_decoder(shape)
    return found


def _as_is(value):
    return value


def _build_decoder(shape: Shape):
    kind = shape.type_name
    if shape.metadata.get("document"):
        return _as_is
    if kind == "structure":
        members = tuple((name, member.serialization.get("name", name), member)
                        for name, member in shape.members.items())

        def structure(value):
            if value is None:
                return None
            if not isinstance(value, dict):
                raise _Refused
            out = {}
            for name, key, member in members:
                item = value.get(key)
                if item is not None:
                    out[name] = _decoder(member)(item)
            return out
        return structure
    if kind == "list":
        member = shape.member

        def listed(value):
            if value is None:
                return None
            if not isinstance(value, list):
                raise _Refused
            decode_item = _decoder(member)
            return [decode_item(item) for item in value]
        return listed
    if kind == "map":
        value_shape = shape.value

        def mapped(value):
            if value is None:
                return None
            if not isinstance(value, dict):
                raise _Refused
            decode_item = _decoder(value_shape)
            return {_plain_text(key): decode_item(item) for key, item in value.items()}
        return mapped
    if kind == "string":
        def string(value):
            return None if value is None else _plain_text(value)
        return string
    if kind == "boolean":
        def boolean(value):
            if value is None or value is True or value is False:
                return value
            raise _Refused
        return boolean
    if kind in ("integer", "long"):
        low, high = INTEGER_RANGES[kind]

        def integer(value):
            if value is None:
                return None
            if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
                return value
            raise _Refused
        return integer
    if kind in ("float", "double"):
        def number(value):
            if value is None:
                return None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                try:
                    value = float(value)
                except OverflowError:
                    raise _Refused from None
                if math.isfinite(value):
                    return value
            raise _Refused
        return number
    if kind == "timestamp":
        def timestamp(value):
            if value is None:
                return None
            parsed = parse_timestamp(value)
            if parsed is None:
                raise _Refused
            return parsed
        return timestamp
    # blobs and anything else: decode() itself, which reports into a list we look at
    def other(value):
        problems: list[str] = []
        decoded = decode(shape, value, "", problems)
        if problems:
            raise _Refused
        return decoded
    return other


def _plain_text(value) -> str:
    """_text() for a str without a problem; refuses anything else."""
    if isinstance(value, str) and "\x00" not in value:
        if value.isascii():
            return value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Refused from None
        return value
    raise _Refused


def decode(shape: Shape, value, path: str, problems: list[str]):
    """A JSON value -> the model's Python type, recursively; None where the type is wrong."""
    if value is None:
        return None
    kind = shape.type_name
    if shape.metadata.get("document"):  # free-form JSON (qconnect's JSONDocument), already depth-bounded
        return value
    if kind == "structure":
        if not isinstance(value, dict):
            return _wrong(path, "be a structure", problems)
        out = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            if key in value and value[key] is not None:
                out[name] = decode(member, value[key], _join(path, name), problems)
        return out
    if kind == "list":
        if not isinstance(value, list):
            return _wrong(path, "be a list", problems)
        return [decode(shape.member, item, f"{path}.{i}.member", problems) for i, item in enumerate(value, 1)]
    if kind == "map":
        if not isinstance(value, dict):
            return _wrong(path, "be a map", problems)
        return {_text(k, f"{path}.{k}", problems): decode(shape.value, v, f"{path}.{k}", problems)
                for k, v in value.items()}
    if kind == "string":
        return _text(value, path, problems) if isinstance(value, str) else _wrong(path, "be a string", problems)
    if kind == "boolean":
        return value if isinstance(value, bool) else _wrong(path, "be a boolean", problems)
    if kind in ("integer", "long"):
        if isinstance(value, int) and not isinstance(value, bool):
            return _in_range(kind, value, path, problems)
        return _wrong(path, "be an integer", problems)
    if kind in ("float", "double"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return _wrong(path, "be a number", problems)
        return _finite(value, path, problems)
    if kind == "timestamp":
        parsed = parse_timestamp(value)
        return parsed if parsed is not None else _wrong(path, "be a timestamp", problems)
    if kind == "blob":
        try:
            return base64.b64decode(value, validate=True)
        except (TypeError, ValueError):
            return _wrong(path, "be base64-encoded binary data", problems)
    return value


def parse_timestamp(value) -> datetime | None:
    """Accepts what botocore sends in any format: epoch seconds, ISO 8601 or RFC 822."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, timezone.utc)
        if isinstance(value, str):
            text = value.strip()
            try:
                return datetime.fromtimestamp(float(text), timezone.utc)
            except ValueError:
                pass
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                parsed = parsedate_to_datetime(text)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except (ValueError, TypeError, OverflowError, OSError):
        return None
    return None


def _json_document(body: bytes, problems: list[str]) -> dict:
    if not body.strip():
        return {}
    try:
        document = read_json(body)
    except JsonTooDeep as error:
        problems.append(f"The request body is {error}")
        return {}
    except ValueError:
        problems.append("The request body is not valid JSON")
        return {}
    if not isinstance(document, dict):
        problems.append("The request body must be a JSON object")
        return {}
    return document


def _from_query(member: Shape, wire_name: str, query, claimed: set[str], path: str, problems):
    if member.type_name == "map":  # a querystring map collects every key no other member claims
        pairs = {k: v for k, v in query if k not in claimed}
        return pairs or None
    values = [v for k, v in query if k == wire_name]
    if not values:
        return None
    if member.type_name == "list":
        return [_from_text(member.member, v, f"{path}.{i}.member", problems) for i, v in enumerate(values, 1)]
    return _from_text(member, values[-1], path, problems)


def _from_header(member: Shape, wire_name: str, headers: dict[str, str], path: str, problems):
    raw = headers.get(wire_name.lower())
    if raw is None:
        return None
    if member.type_name == "list":
        return [_from_text(member.member, v.strip(), path, problems) for v in raw.split(",")]
    if member.type_name == "string" and member.serialization.get("jsonvalue"):
        try:
            return read_json(base64.b64decode(raw))
        except ValueError:
            return _wrong(path, "be base64-encoded JSON", problems)
    return _from_text(member, raw, path, problems)


def _from_text(shape: Shape, text: str, path: str, problems: list[str]):
    """Labels, query values and headers are text; the model says what they mean."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        if not _DECIMAL_INTEGER.fullmatch(text) or len(text) > 40:
            return _wrong(path, "be an integer", problems, _shown(text))
        return _in_range(kind, int(text), path, problems)
    if kind in ("float", "double"):
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        return number if math.isfinite(number) else _wrong(path, "be a finite number", problems, _shown(text))
    if kind == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return _wrong(path, "be a boolean", problems, _shown(text))
    if kind == "timestamp":
        parsed = parse_timestamp(text)
        return parsed if parsed is not None else _wrong(path, "be a timestamp", problems, _shown(text))
    return _text(text, path, problems)


def _in_range(kind: str, value: int, path: str, problems: list[str]):
    low, high = INTEGER_RANGES[kind]
    if value > high:
        return _wrong(path, f"have value less than or equal to {high}", problems)
    if value < low:
        return _wrong(path, f"have value greater than or equal to {low}", problems)
    return value


def _finite(value: int | float, path: str, problems: list[str]):
    """A JSON integer too wide for a double is as unusable as NaN."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    return number if math.isfinite(number) else _wrong(path, "be a finite number", problems)


def _shown(text: str) -> str:
    return text if len(text) <= 100 else text[:97] + "..."


def _text(value: str, path: str, problems: list[str]):
    """Text a database can hold: no NUL, no unpaired surrogate (both legal in JSON escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _wrong(path, "be valid Unicode text", problems)
    return value if "\x00" not in value else _wrong(path, "not contain the NUL character", problems)


def _wrong(path: str, expectation: str, problems: list[str], value=None):
    shown = "" if value is None else f" '{value}'"
    problems.append(f"Value{shown} at '{path}' failed to satisfy constraint: Member must {expectation}")
    return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name

