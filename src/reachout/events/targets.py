"""Rule targets, delivered locally: the AWS target kinds a contact-event stream needs, each mapped
onto a local equivalent.

- API destination (arn:aws:events:...:api-destination/NAME/ID): an HTTP request to its endpoint,
  with its connection's authorization (API key header or basic auth).
- CloudWatch Logs log group (arn:aws:logs:...:log-group:NAME): lines appended to a JSONL file,
  NAME itself when it is an absolute path, else DATA_DIR/events/NAME.jsonl.
- Kinesis stream (arn:aws:kinesis:...:stream/NAME): a Redis stream NAME (XADD), for consumers at scale.
"""
from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

API_DESTINATION = re.compile(r"arn:aws[\w-]*:events:[^:]*:[^:]*:api-destination/.+")
LOG_GROUP = re.compile(r"arn:aws[\w-]*:logs:[^:]*:[^:]*:log-group:(?P<name>[^:*]+)(:\*)?")
KINESIS = re.compile(r"arn:aws[\w-]*:kinesis:[^:]*:[^:]*:stream/(?P<name>.+)")


class DeliveryFailed(Exception):
    """The target did not take the event; `retryable` says whether trying again may help."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


def kind_of(arn: str) -> str | None:
    for kind, pattern in (("api-destination", API_DESTINATION), ("log-group", LOG_GROUP), ("kinesis", KINESIS)):
        if pattern.fullmatch(arn):
            return kind
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
        name = LOG_GROUP.fullmatch(arn).group("name")
        path = Path(name) if name.startswith("/") else data_dir / "events" / name
        path = path if path.suffix else path.with_suffix(".jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            log.write(payload.replace("\n", " ") + "\n")
    elif kind == "kinesis":
        import redis

        try:
            redis.Redis.from_url(redis_url).xadd(KINESIS.fullmatch(arn).group("name"), {"event": payload})
        except redis.RedisError as error:
            raise DeliveryFailed(f"Redis stream: {error}") from None
    else:
        raise DeliveryFailed(f"target {arn} is not a kind Reachout delivers to", retryable=False)


def _http(target: dict, payload: str, destination: dict | None, connection: dict | None) -> None:
    if destination is None:
        raise DeliveryFailed("the API destination no longer exists", retryable=False)
    endpoint = destination["InvocationEndpoint"]
    parameters = target.get("HttpParameters") or {}
    for value in parameters.get("PathParameterValues", []):
        endpoint = endpoint.replace("*", value, 1)
    if parameters.get("QueryStringParameters"):
        endpoint += ("&" if "?" in endpoint else "?") + urlencode(parameters["QueryStringParameters"])
    if not re.match(r"https?://", endpoint):
        endpoint = "https://" + endpoint
    headers = {"Content-Type": "application/json; charset=utf-8", **(parameters.get("HeaderParameters") or {})}
    headers.update(_authorization(connection))
    request = urllib.request.Request(endpoint, data=payload.encode(), headers=headers,
                                     method=destination.get("HttpMethod", "POST"))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as error:
        # EventBridge retries 5xx and 429; other 4xx will not get better.
        raise DeliveryFailed(f"HTTP {error.code} from {endpoint}", retryable=error.code >= 500 or error.code == 429)
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
