"""Rule targets, delivered locally: the AWS target kinds a contact-event stream needs, each mapped
onto a local equivalent.

- API destination (arn:aws:events:...:api-destination/NAME/ID): an HTTP request to its endpoint,
  with its connection's authorization (API key header or basic auth).
- CloudWatch Logs log group (arn:aws:logs:...:log-group:NAME): lines appended to the JSONL file
  DATA_DIR/events/NAME.jsonl, whatever NAME is (`/aws/events/orders` is events/aws/events/orders.jsonl):
  a rule target never chooses a file outside DATA_DIR/events, nor follows a symbolic link there.
- Kinesis stream (arn:aws:kinesis:...:stream/NAME): a Redis stream NAME (XADD), for consumers at scale.

`target_problem` and `connection_problem` refuse, when they are created, what could not be delivered
safely; `deliver` still checks the file system as it finds it then.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import stat
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

API_DESTINATION = re.compile(r"arn:aws[\w-]*:events:[^:]*:[^:]*:api-destination/.+")
LOG_GROUP = re.compile(r"arn:aws[\w-]*:logs:[^:]*:[^:]*:log-group:(?P<name>[^:*]+)(:\*)?")
KINESIS = re.compile(r"arn:aws[\w-]*:kinesis:[^:]*:[^:]*:stream/(?P<name>.+)")
LOG_GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")  # CloudWatch Logs' own rule for log group names
LOG_FILE_SUFFIX = ".jsonl"
HTTP_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # what an HTTP header name may be (RFC 9110)
# Headers that frame the request: the sender computes them from the body, a target may not set them.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})


class DeliveryFailed(Exception):
    """The target did not take the event; `retryable` says whether trying again may help."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class InvalidTarget(ValueError):
    """A rule target Reachout refuses to accept (and does not deliver to, if it was stored before)."""


def kind_of(arn: str) -> str | None:
    for kind, pattern in (("api-destination", API_DESTINATION), ("log-group", LOG_GROUP), ("kinesis", KINESIS)):
        if pattern.fullmatch(arn):
            return kind
    return None


def log_file_parts(name: str) -> list[str]:
    """The folders and the file, under DATA_DIR/events, of log group NAME: a leading slash is
    dropped, every other slash is a folder, and the file always ends in .jsonl. Since no folder may
    end in .jsonl, two log groups never need the same path as a file and as a folder."""
    if not LOG_GROUP_NAME.fullmatch(name):
        raise InvalidTarget(f"Log group name {name!r} is not valid: it must be 1 to 512 characters among "
                            "letters, digits, '_', '-', '.', '/' and '#'")
    parts = [part for part in name.split("/") if part]
    if not parts or any(part in (".", "..") for part in parts):
        raise InvalidTarget(f"Log group name {name!r} is not valid: '.' and '..' cannot be parts of it")
    if any(part.endswith(LOG_FILE_SUFFIX) for part in parts[:-1]):
        raise InvalidTarget(f"Log group name {name!r} is not valid: only its last part may end in "
                            f"{LOG_FILE_SUFFIX}")
    return [*parts[:-1], parts[-1] + LOG_FILE_SUFFIX]


def target_problem(target: dict, data_dir: Path) -> str | None:
    """Why a rule target of a kind Reachout delivers to cannot be accepted, or None."""
    kind = kind_of(target["Arn"])
    if kind == "log-group":
        try:
            parts = log_file_parts(LOG_GROUP.fullmatch(target["Arn"]).group("name"))
        except InvalidTarget as invalid:
            return str(invalid)
        return _unsafe_path(data_dir, parts)
    if kind == "api-destination":
        framing = sorted(k for k in (target.get("HttpParameters") or {}).get("HeaderParameters") or {}
                         if k.lower() in FRAMING_HEADERS)
        if framing:
            return (f"HeaderParameters cannot set {', '.join(framing)}: Reachout computes the framing of "
                    "each request from its body")
    return None


def connection_problem(auth: dict) -> str | None:
    """Why a connection's authorization could not go into a request, or None: an API key's name is
    a header name, so it must be an HTTP token (its value is sent UTF-8 encoded)."""
    name = (auth.get("ApiKeyAuthParameters") or {}).get("ApiKeyName")
    if name is not None and not HTTP_TOKEN.fullmatch(name):
        return (f"ApiKeyName {name!r} is not a valid HTTP header name: use letters, digits and "
                "!#$%&'*+-.^_`|~ only")
    return None


def _unsafe_path(data_dir: Path, parts: list[str]) -> str | None:
    """What is already on disk that the log file's path may not pass through: a symbolic link, or
    something other than a folder (or, last, a regular file)."""
    path = data_dir
    for depth, part in enumerate(["events", *parts]):
        path = path / part
        shown = "DATA_DIR/" + "/".join(["events", *parts][:depth + 1])
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            return None
        except OSError as error:
            return f"{shown} cannot be examined: {error.strerror}"
        if stat.S_ISLNK(mode):
            return f"{shown} is a symbolic link: Reachout does not follow links under DATA_DIR/events"
        if depth < len(parts) and not stat.S_ISDIR(mode):
            return f"{shown} exists and is not a folder"
        if depth == len(parts) and not stat.S_ISREG(mode):
            return f"{shown} exists and is not a regular file"
    return None


def transform(target: dict, event: dict) -> str:
    """The payload a target receives: the event, or Input, InputPath or InputTransformer of it."""
    if "Input" in target:
        return target["Input"]
    if "InputPath" in target:
        return json.dumps(_path(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        values = {name: _path(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()}
        template = transformer["InputTemplate"]

        def fill(found: re.Match) -> str:
            value = values.get(found.group(1))
            inside_quotes = found.start() > 0 and template[found.start() - 1] == '"'
            return str(value) if inside_quotes and isinstance(value, str) else json.dumps(value)

        return re.sub(r"<([A-Za-z0-9_.\-]+)>", fill, template)
    return json.dumps(event)


def _path(event: dict, path: str):
    """A JSONPath of the simple form EventBridge uses: $.detail.campaign.campaignId."""
    value = event
    for part in [p for p in path.removeprefix("$").split(".") if p]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def deliver(target: dict, payload: str, *, api_destination: dict | None, connection: dict | None,
            data_dir: Path, redis_url: str) -> None:
    arn = target["Arn"]
    kind = kind_of(arn)
    if kind == "api-destination":
        _http(target, payload, api_destination, connection)
    elif kind == "log-group":
        try:
            parts = log_file_parts(LOG_GROUP.fullmatch(arn).group("name"))
        except InvalidTarget as invalid:  # a target stored before names were checked
            raise DeliveryFailed(str(invalid), retryable=False) from None
        _append_line(data_dir, parts, payload.replace("\n", " ") + "\n")
    elif kind == "kinesis":
        import redis

        try:
            redis.Redis.from_url(redis_url).xadd(KINESIS.fullmatch(arn).group("name"), {"event": payload})
        except redis.RedisError as error:
            raise DeliveryFailed(f"Redis stream: {error}") from None
    else:
        raise DeliveryFailed(f"target {arn} is not a kind Reachout delivers to", retryable=False)


def _append_line(data_dir: Path, parts: list[str], line: str) -> None:
    """Appends to DATA_DIR/events/PARTS, opening each folder, then the file, relative to the one
    before and without following a symbolic link: a link planted after PutTargets leads nowhere."""
    data = line.encode("utf-8")
    folder = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the operator's choice: followed
    try:
        for part in ["events", *parts[:-1]]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=folder)
            inner = _open_unfollowed(folder, part, os.O_RDONLY | os.O_DIRECTORY)
            os.close(folder)
            folder = inner
        # Non-blocking: a FIFO planted there fails at once instead of stalling every delivery.
        file = _open_unfollowed(folder, parts[-1], os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK)
    finally:
        os.close(folder)
    with open(file, "ab") as log:
        if not stat.S_ISREG(os.fstat(file).st_mode):
            raise DeliveryFailed(f"DATA_DIR/events/{'/'.join(parts)} is not a regular file", retryable=False)
        log.write(data)


def _open_unfollowed(folder: int, name: str, flags: int) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder)
    except OSError:
        with contextlib.suppress(OSError):
            if stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
                raise DeliveryFailed(f"{name} under DATA_DIR/events is a symbolic link: Reachout does not "
                                     "follow links there", retryable=False) from None
        raise


def _http(target: dict, payload: str, destination: dict | None, connection: dict | None) -> None:
    if destination is None:
        raise DeliveryFailed("the API destination no longer exists", retryable=False)
    endpoint = destination["InvocationEndpoint"]
    parameters = target.get("HttpParameters") or {}
    for value in parameters.get("PathParameterValues", []):
        # A value fills one path segment: spaces, '/', '?' and '#' in it are percent-encoded.
        endpoint = endpoint.replace("*", quote(value, safe=""), 1)
    if parameters.get("QueryStringParameters"):
        endpoint += ("&" if "?" in endpoint else "?") + urlencode(parameters["QueryStringParameters"])
    if not re.match(r"https?://", endpoint):
        endpoint = "https://" + endpoint
    headers = {"Content-Type": "application/json; charset=utf-8", **(parameters.get("HeaderParameters") or {})}
    headers.update(_authorization(connection))
    # Header values go out as UTF-8 (an API key may be any text); http.client would insist on Latin-1.
    headers = {name: value.encode("utf-8") for name, value in headers.items()}
    request = urllib.request.Request(endpoint, data=payload.encode(), headers=headers,
                                     method=destination.get("HttpMethod", "POST"))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as error:
        # EventBridge retries 5xx and 429; other 4xx will not get better.
        raise DeliveryFailed(f"HTTP {error.code} from {endpoint}", retryable=error.code >= 500 or error.code == 429) from None
    except (urllib.error.URLError, OSError) as error:
        raise DeliveryFailed(f"{endpoint}: {error}") from None


def _authorization(connection: dict | None) -> dict[str, str]:
    if not connection:
        return {}
    auth = connection.get("AuthParameters") or {}
    if "ApiKeyAuthParameters" in auth:
        key = auth["ApiKeyAuthParameters"]
        return {key["ApiKeyName"]: key["ApiKeyValue"]}
    if "BasicAuthParameters" in auth:
        basic = auth["BasicAuthParameters"]
        token = base64.b64encode(f"{basic['Username']}:{basic['Password']}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}
