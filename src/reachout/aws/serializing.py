"""Params -> wire: a handler's output dict (or an AwsError) becomes status, headers and JSON body,
shaped by the operation's output or error shape.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from email.utils import format_datetime

import orjson
from botocore.model import OperationModel, Shape

from reachout.aws.errors import AwsError

JSON_TYPES = {"rest-json": "application/json", "json": "application/x-amz-json-1.1"}


def serialize_output(protocol: str, operation: OperationModel, output: dict) -> tuple[int, dict, bytes]:
    shape = operation.output_shape
    status = operation.http.get("responseCode", 200)
    headers = {"content-type": JSON_TYPES[protocol]}
    body: dict = {}
    if shape is not None:
        for name, member in shape.members.items():
            value = output.get(name)
            if value is None:
                continue
            location = member.serialization.get("location")
            if location == "statusCode":
                status = int(value)
            elif location == "header":
                headers[member.serialization.get("name", name).lower()] = _header_text(member, value)
            else:
                body[member.serialization.get("name", name)] = encode(member, value, protocol)
    if status == 204 or (shape is None and protocol == "rest-json"):
        # 204 No Content may carry no body (HTTP forbids it; the ASGI server refuses to send one), and
        # a rest-json operation without an output shape answers with none either.
        headers.pop("content-type")
        return status, headers, b""
    return status, headers, _json(body)


def _json(body: dict) -> bytes:
    """Compact JSON, UTF-8: orjson's, or the standard library's for what orjson refuses (integers beyond
    64 bits)."""
    try:
        return orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(body, separators=(",", ":")).encode()


def serialize_error(protocol: str, error_shape: Shape | None, error: AwsError, message_key: str,
                    status: int) -> tuple[int, dict, bytes]:
    body: dict = {message_key: error.message}
    if error_shape is not None:
        for name, member in error_shape.members.items():
            if name in error.fields and member.serialization.get("location") is None:
                body[member.serialization.get("name", name)] = encode(member, error.fields[name], protocol)
    if protocol == "json":
        body["__type"] = error.code
    headers = {"content-type": JSON_TYPES[protocol], "x-amzn-errortype": error.code}
    return status, headers, _json(body)


def encode(shape: Shape, value, protocol: str):
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, wire_name, member in _members(shape):
            item = value.get(name)
            if item is not None:
                out[wire_name] = encode(member, item, protocol)
        return out
    if kind == "list":
        member = shape.member
        if member.type_name in _AS_IS:
            return list(value)
        return [encode(member, item, protocol) for item in value]
    if kind == "map":
        value_shape = shape.value
        if value_shape.type_name in _AS_IS:
            return dict(value)
        return {key: encode(value_shape, item, protocol) for key, item in value.items()}
    if kind == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
    if kind == "blob":
        return base64.b64encode(value).decode()
    return value


_AS_IS = frozenset({"string", "boolean", "integer", "long", "float", "double"})  # encode() returns them unchanged
_MEMBERS: dict[Shape, tuple] = {}


def _members(shape: Shape) -> tuple:
    """(name, wire name, member shape) of a structure, looked up once."""
    found = _MEMBERS.get(shape)
    if found is None:
        found = _MEMBERS[shape] = tuple((name, member.serialization.get("name", name), member)
                                        for name, member in shape.members.items())
    return found


def format_timestamp(value: datetime, fmt: str):
    value = value.astimezone(timezone.utc)
    if fmt == "iso8601":
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if fmt == "rfc822":
        return format_datetime(value, usegmt=True)
    return round(value.timestamp(), 3)


def _header_text(shape: Shape, value) -> str:
    if shape.type_name == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", "rfc822")))
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "list":
        return ",".join(str(item) for item in value)
    return str(value)
