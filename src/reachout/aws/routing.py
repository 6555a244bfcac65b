"""rest-json routing: an operation's `requestUri` template matched against the RAW request path.

Matching happens before percent-decoding because boto3 encodes `/` and `:` inside labels (an ARN in
`/tags/{arn}` arrives as `/tags/arn%3Aaws%3A...%2F...`); decoding first would split the label.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from botocore.model import OperationModel

_LABEL = re.compile(r"\{([^}+]+)(\+?)\}")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    literal_query: tuple[tuple[str, str], ...]  # `?x-id=Foo` parts of a requestUri must be present
    operation: OperationModel
    literal_length: int

    def precedence(self) -> tuple[int, int]:
        # The most specific template wins: more literal text first, then fewer labels.
        return (-self.literal_length, self.pattern.groups)

    def match(self, method: str, raw_path: str, query: list[tuple[str, str]]) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(raw_path)
        if found is None or any(pair not in query for pair in self.literal_query):
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


def compile_route(operation: OperationModel) -> Route:
    template, _, query = operation.http["requestUri"].partition("?")
    template = template.rstrip("/") or "/"
    parts, pos = [], 0
    for label in _LABEL.finditer(template):
        parts.append(re.escape(template[pos : label.start()]))
        # A greedy label ({Key+}) may span slashes; a plain one is one path segment.
        parts.append(f"(?P<{label.group(1)}>{'.+' if label.group(2) else '[^/]+'})")
        pos = label.end()
    parts.append(re.escape(template[pos:]))
    if template != "/":
        parts.append("/?")  # a trailing slash is tolerated
    return Route(
        operation.http["method"],
        re.compile("".join(parts)),
        tuple(parse_qsl(query, keep_blank_values=True)),
        operation,
        len(_LABEL.sub("", template)),
    )
