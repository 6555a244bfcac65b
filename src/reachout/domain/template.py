"""Message templates: their content, its checks and checksum, and rendering it for a recipient.

Content is the qconnect `MessageTemplateContentProvider` union as the API gives it:
`{"email": {"subject": ..., "body": {"plainText": {"content": ...}, "html": {"content": ...}},
"headers": [{"name": ..., "value": ...}]}}` or `{"sms": {"body": {"plainText": {"content": ...}}}}`.

Placeholders are Jinja2 expressions in the Amazon Connect style, `{{Attributes.Customer.FirstName}}`,
run in a sandbox: no attribute starting with `_`, no unsafe callables, and limits on the size of what
a part renders and the work it takes (domain/template_limits.py). HTML bodies are autoescaped;
subjects, plain text and headers are not (they are not HTML).

An email's subject and header values are header text: their template text must be one line (a
template whose subject or a header value contains a line break or another control character is
refused when it is created or updated), and what they render is made one line (`one_line`: each run
of line breaks and control characters, say from a customer's name, becomes one space).

The variables (all under `Attributes`), as Amazon Connect names them in templates:
- `Attributes.Customer.*`: the customer profile. Standard fields by their Customer Profiles names
  (`ProfileId`, `FirstName`, `EmailAddress`, `PhoneNumber`, `AccountNumber`, ...); address parts
  flattened as Connect does (`Address1`..`Address4`, `City`, `County`, `State`, `Province`, `Country`,
  `PostalCode`, and the same prefixed `Shipping`, `Mailing`, `Billing`: `ShippingCity`, ...), also
  nested as in the profile (`Address.City`); custom attributes under `Attributes.Customer.Attributes.*`.
- `Attributes.Agent.*` and `Attributes.System.*` (`Name`, `CustomerEndpoint.Address`,
  `SystemEndpoint.Address`): RenderMessageTemplate's agentAttributes and systemAttributes.
- `Attributes.Campaign.*`: the campaign sending the message (`Id`, `Arn`, `Name`, ...).
- `Attributes.<key>`: template parameters of an outbound request and RenderMessageTemplate's
  customAttributes (user-defined attributes, which Connect reaches as `$.Attributes.<key>`). They
  cannot shadow the namespaces above.
RenderMessageTemplate's `attributes` map onto these by capitalising each member name
(customerProfileAttributes.firstName -> Attributes.Customer.FirstName; its `custom` map ->
Attributes.Customer.Attributes). The TemplateAttributes of Amazon Connect's StartOutboundEmailContact
and StartOutboundChatContact map onto the same (`connect_attributes`).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import NamedTuple

from jinja2 import StrictUndefined, Undefined, meta, nodes
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.utils import missing
from markupsafe import escape

from reachout.domain.errors import DomainError
from reachout.domain.profile import ADDRESS_PARTS, COLUMNS
from reachout.domain.template_limits import Budget, LimitedSandbox, budget, size
from reachout.json_text import read_json

CHANNEL_CONTENT = {"EMAIL": "email", "SMS": "sms"}  # channel subtype -> its member of the content union
# The language codes the CreateMessageTemplate documentation lists.
LANGUAGES = ("de_DE", "en_US", "es_ES", "fr_FR", "id_ID", "it_IT", "ja_JP", "ko_KR", "pt_BR", "zh_CN", "zh_TW")
# Namespace under Attributes -> the attribute type the API reports for it (the rest are CUSTOM).
ATTRIBUTE_TYPES = {"System": "SYSTEM", "Agent": "AGENT", "Customer": "CUSTOMER_PROFILE"}
ADDRESSES = {"Address": "", "ShippingAddress": "Shipping", "MailingAddress": "Mailing",
             "BillingAddress": "Billing"}  # profile field -> prefix of its flattened parts
API_CATEGORIES = {"customerProfileAttributes": "Customer", "agentAttributes": "Agent",
                  "systemAttributes": "System"}
# line breaks (also Unicode's) and other control characters, which a header value cannot carry
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class TemplateError(DomainError):
    """A template that cannot be compiled or rendered; `variable` names the missing one, if that is why."""

    def __init__(self, message: str, variable: str | None = None):
        super().__init__(message)
        self.variable = variable


# --- content ---------------------------------------------------------------------------------------
def check_content(channel_subtype: str, content: dict) -> None:
    """The content fits the channel and every part compiles."""
    expected = CHANNEL_CONTENT[channel_subtype]
    given = next(iter(content))
    if given != expected:
        raise DomainError(f"A {channel_subtype} message template takes content.{expected}, not content.{given}")
    if expected == "email":
        email = content["email"]
        if "subject" not in email:
            raise DomainError("An EMAIL message template needs content.email.subject")
        if not email.get("body"):
            raise DomainError("An EMAIL message template needs content.email.body with plainText, html or both")
    elif "plainText" not in content["sms"].get("body", {}):
        raise DomainError("An SMS message template needs content.sms.body.plainText")
    for label, source, html in _parts(content):
        if _is_header(label) and _NOT_ONE_LINE.search(source):
            raise DomainError(f"The {label} must be one line: its template text contains a line break or another "
                              "control character, which an email header cannot carry")
        _compiled(source, html, strict=True, label=label)


def one_line(text: str) -> str:
    """Header text: each run of line breaks and other control characters becomes one space."""
    return _NOT_ONE_LINE.sub(" ", text)


def _is_header(label: str) -> bool:
    return label == "email subject" or label.startswith("email header ")


def content_sha256(content: dict | None, language: str | None, default_attributes: dict | None) -> str:
    """messageTemplateContentSha256: over what the model says it covers (content, language, default
    attributes; Reachout has no attachments), canonically serialised."""
    canonical = json.dumps([content, language, default_attributes], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def placeholders(content: dict) -> list[str]:
    """Every variable the content refers to, as dotted paths (`Attributes.Customer.FirstName`)."""
    found: set[str] = set()
    for label, source, _html in _parts(content):
        found |= _references(source, label)
    return sorted(found)


def attribute_types(content: dict) -> list[str]:
    """attributeTypes: the kinds of attribute the content uses."""
    kinds = set()
    for path in placeholders(content):
        root, _, rest = path.partition(".")
        namespace = rest.partition(".")[0] if root == "Attributes" else ""
        kinds.add(ATTRIBUTE_TYPES.get(namespace, "CUSTOM"))
    return sorted(kinds)


def profile_fields(content: dict) -> set[str] | None:
    """The profile fields (Customer Profiles names) the content reads through `Attributes.Customer`, so
    that a campaign reads no more of each recipient's profile than its template shows; None when it
    may read any (the whole `Attributes.Customer`, a name that is no field, a dynamic lookup)."""
    fields: set[str] = set()
    for path in placeholders(content):
        names = path.split(".")
        if names[0] != "Attributes":
            continue
        if len(names) == 1 or (names[1] == "Customer" and len(names) == 2):
            return None
        if names[1] != "Customer" or names[2] == "ProfileId":
            continue
        field = _field_of(names[2])
        if field is None:
            return None
        fields.add(field)
    return fields


def _field_of(name: str) -> str | None:
    """The profile field `Attributes.Customer.<name>` comes from (`ShippingCity` -> ShippingAddress)."""
    if name in COLUMNS:
        return name
    for field, prefix in ADDRESSES.items():
        if name.startswith(prefix) and name[len(prefix):] in ADDRESS_PARTS:
            return field
    return None


# --- rendering -------------------------------------------------------------------------------------
def render(content: dict, variables: dict) -> dict:
    """The content with every placeholder filled from `variables`; a variable without a value is a
    TemplateError naming it, never a half-rendered message."""
    return _map_parts(content, lambda label, source, html: _render(source, html, variables, True, label))


def preview(content: dict, variables: dict) -> tuple[dict, list[str]]:
    """RenderMessageTemplate: as `render`, except that a placeholder without a value stays as it is
    and is reported in the list of variables not interpolated."""
    rendered = _map_parts(content, lambda label, source, html: _render(source, html, variables, False, label))
    return rendered, [path for path in placeholders(content) if not _resolves(variables, path)]


def render_for_contact(content: dict, profile: dict, template_parameters: dict, campaign: dict, *,
                       defaults: dict | None = None) -> dict:
    """What one recipient receives: `render` over the variables of `contact_variables`, after the
    template's defaultAttributes (API shape) where the contact has no value."""
    variables = contact_variables(profile, template_parameters, campaign)
    if defaults:
        variables = merge(template_variables(defaults), variables)
    return render(content, variables)


def render_with_attributes(content: dict, attributes: dict, *, defaults: dict | None = None) -> dict:
    """What a contact started through the Connect APIs receives: `render` over MessageTemplateAttributes
    (see `connect_attributes`), on top of the template's defaultAttributes."""
    return render(content, merge(template_variables(defaults or {}), template_variables(attributes)))


def connect_attributes(template_attributes: dict, system: dict | None = None) -> dict:
    """The TemplateAttributes of a Connect TemplatedMessageConfig as MessageTemplateAttributes:
    CustomAttributes are custom attributes, CustomerProfileAttributes (a JSON object, serialised)
    customer profile attributes, `system` the system attributes (name, customerEndpoint.address, ...).
    Raises DomainError when CustomerProfileAttributes is not a JSON object."""
    attributes: dict = {"customAttributes": dict(template_attributes.get("CustomAttributes") or {})}
    serialised = template_attributes.get("CustomerProfileAttributes")
    if serialised:
        try:
            profile = read_json(serialised)
        except ValueError as error:
            raise DomainError(f"TemplateAttributes.CustomerProfileAttributes is not valid JSON: {error}") from None
        if not isinstance(profile, dict):
            raise DomainError("TemplateAttributes.CustomerProfileAttributes must be a JSON object of profile "
                              "attributes, such as {\"FirstName\": \"Ana\"}")
        attributes["customerProfileAttributes"] = profile
    if system:
        attributes["systemAttributes"] = system
    return attributes


def contact_variables(profile: dict, template_parameters: dict, campaign: dict) -> dict:
    """The variables for one contact (see the module documentation for the names)."""
    customer = {name: value for name, value in profile.items() if name not in ADDRESSES}
    for field, prefix in ADDRESSES.items():
        if field in profile:
            customer[field] = profile[field]
            customer.update({prefix + part: value for part, value in profile[field].items()})
    return {"Attributes": {**template_parameters, "Customer": customer,
                           "Campaign": {_pascal(name): value for name, value in campaign.items()}}}


def template_variables(attributes: dict) -> dict:
    """RenderMessageTemplate's `attributes` (MessageTemplateAttributes) as variables."""
    scope = dict(attributes.get("customAttributes", {}))
    for member, namespace in API_CATEGORIES.items():
        if member in attributes:
            scope[namespace] = _capitalised(attributes[member])
    return {"Attributes": scope}


def merge(base: dict, over: dict) -> dict:
    """`over` on top of `base`, level by level."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = merge(merged[key], value)
        merged[key] = value
    return merged


def _capitalised(value):
    if not isinstance(value, dict):
        return value
    # Customer Profiles custom attributes keep their own names, under Connect's `Attributes`.
    return {("Attributes" if key == "custom" else key[:1].upper() + key[1:]):
            (item if key == "custom" else _capitalised(item)) for key, item in value.items()}


@lru_cache(maxsize=256)
def _pascal(name: str) -> str:
    """connect_instance_id, connectInstanceId -> ConnectInstanceId."""
    return "".join(word[:1].upper() + word[1:] for word in name.split("_"))


def _resolves(variables: dict, path: str) -> bool:
    value = variables
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True


# --- the parts of a content ------------------------------------------------------------------------
def _parts(content: dict) -> Iterator[tuple[str, str, bool]]:
    """(label, template source, is HTML) for every text part."""
    found: list[tuple[str, str, bool]] = []

    def collect(label: str, source: str, html: bool) -> str:
        found.append((label, source, html))
        return source

    _map_parts(content, collect)
    return iter(found)


def _map_parts(content: dict, fn: Callable[[str, str, bool], str]) -> dict:
    """The content with each text part replaced by fn(label, source, is_html)."""
    if "email" in content:
        email = dict(content["email"])
        if "subject" in email:
            email["subject"] = fn("email subject", email["subject"], False)
        if "body" in email:
            body = email["body"]
            email["body"] = {kind: {"content": fn(label, body[kind]["content"], kind == "html")}
                             for kind, label in (("plainText", "email plain text body"), ("html", "email HTML body"))
                             if kind in body}
        if "headers" in email:
            email["headers"] = [
                {**header, "value": fn(f"email header {header.get('name', '')}", header["value"], False)}
                if "value" in header else header for header in email["headers"]]
        return {"email": email}
    if "sms" in content:
        body = content["sms"].get("body", {})
        if "plainText" not in body:
            return content
        text = fn("SMS body", body["plainText"]["content"], False)
        return {"sms": {**content["sms"], "body": {"plainText": {"content": text}}}}
    raise TemplateError(f"Reachout renders EMAIL and SMS templates, not {next(iter(content), 'empty content')}")


# --- Jinja2 ----------------------------------------------------------------------------------------
class _Scope(Mapping):
    """One level of the variables, which knows its dotted path so that a missing variable is named
    in full. Templates reach its entries only as keys: `Attributes.Customer.items` is the custom
    attribute "items", never a dict method."""

    __slots__ = ("entries", "path")

    def __init__(self, values: dict, path: str):
        self.entries = values
        self.path = path

    def lookup(self, environment: _Sandbox, key: str):
        if key not in self.entries:
            return environment.undefined(name=f"{self.path}.{key}")
        value = self.entries[key]
        return _Scope(value, f"{self.path}.{key}") if isinstance(value, dict) else value

    def __getitem__(self, key):
        return self.entries[key]

    def __iter__(self):
        return iter(self.entries)

    def __len__(self):
        return len(self.entries)

    def __str__(self):
        return json.dumps(self.entries, default=str)


class _Missing(StrictUndefined):
    """A variable without a value: refuses to render, naming its whole path."""

    __slots__ = ()

    def __init__(self, hint=None, obj=missing, name=None, exc=UndefinedError):
        if hint is None and obj is missing:
            exc = _MissingVariable
        super().__init__(hint, obj, name, exc)

    def __getattr__(self, name: str):
        if name.startswith("__") or self._undefined_hint is not None or self._undefined_obj is not missing:
            return super().__getattr__(name)
        return type(self)(name=f"{self._undefined_name}.{name}")

    @property
    def _undefined_message(self) -> str:
        if self._undefined_exception is _MissingVariable:
            return self._undefined_name or "a variable"  # _MissingVariable words the message
        return super()._undefined_message


class _MissingVariable(UndefinedError):
    def __init__(self, variable: str):
        super().__init__(f"variable {variable} has no value")
        self.variable = variable


class _Placeholder(Undefined):
    """RenderMessageTemplate's missing variable: renders as the placeholder it came from."""

    __slots__ = ()

    def __getattr__(self, name: str):
        if name.startswith("__") or self._undefined_hint is not None or self._undefined_obj is not missing:
            return super().__getattr__(name)
        return type(self)(name=f"{self._undefined_name}.{name}")

    def __str__(self) -> str:
        if self._undefined_hint is not None or self._undefined_obj is not missing:
            self._fail_with_undefined_error()  # unsafe access, or a missing attribute of a value
        return "{{" + (self._undefined_name or "") + "}}"


class _Sandbox(LimitedSandbox):
    def getattr(self, obj, attribute):
        if isinstance(obj, _Scope):
            return obj.lookup(self, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        if isinstance(obj, _Scope) and isinstance(argument, str):
            return obj.lookup(self, argument)
        return super().getitem(obj, argument)



@lru_cache(maxsize=None)
def _environment(html: bool, strict: bool) -> _Sandbox:
    return _Sandbox(autoescape=html, undefined=_Missing if strict else _Placeholder, keep_trailing_newline=True)


def _compiled(source: str, html: bool, strict: bool, label: str):
    try:
        return _compile(source, html, strict)
    except TemplateSyntaxError as error:
        raise TemplateError(f"The {label} is not a valid template: {error.message} (line {error.lineno})") from None


@lru_cache(maxsize=4096)
def _compile(source: str, html: bool, strict: bool):
    """Compiled once per distinct source: rendering runs once per recipient."""
    return _environment(html, strict).from_string(source)


def _render_jinja(source: str, html: bool, variables: dict, strict: bool, label: str) -> str:
    """The part rendered by Jinja: any template (`_render` takes a shortcut for plain ones)."""
    template = _compiled(source, html, strict, label)
    scopes = {name: _Scope(value, name) if isinstance(value, dict) else value for name, value in variables.items()}
    try:
        with budget():
            rendered = template.render(scopes)
        return one_line(rendered) if _is_header(label) else rendered
    except (JinjaError, ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as error:
        raise _failure(error, label) from None


def _failure(error: Exception, label: str) -> TemplateError:
    """Why the part cannot be rendered, as the API words it."""
    if isinstance(error, _MissingVariable):
        return TemplateError(f"Cannot render the {label}: {error}", error.variable)
    if isinstance(error, SecurityError):
        return TemplateError(f"The {label} does something templates may not: {error}")
    return TemplateError(f"Cannot render the {label}: {error}")


@lru_cache(maxsize=4096)
def _reference_set(source: str) -> frozenset[str]:
    tree = _environment(False, True).parse(source)
    found: set[str] = set()

    def dotted(node) -> str | None:
        if isinstance(node, nodes.Name):
            return node.name
        if isinstance(node, nodes.Getattr):
            base = dotted(node.node)
            return base and f"{base}.{node.attr}"
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            base = dotted(node.node)
            return base and f"{base}.{node.arg.value}"
        return None

    def visit(node, parent) -> None:
        path = dotted(node)
        if path is not None:
            if isinstance(parent, nodes.Call) and parent.node is node:
                path = path.rpartition(".")[0]  # a method call: the variable is its object
            if path:
                found.add(path)
                return
        for child in node.iter_child_nodes():
            visit(child, node)

    visit(tree, None)
    roots = meta.find_undeclared_variables(tree)  # loop and {% set %} names are not variables
    return frozenset(path for path in found if path.split(".")[0] in roots)


def _references(source: str, label: str) -> set[str]:
    try:
        return set(_reference_set(source))
    except TemplateSyntaxError as error:
        raise TemplateError(f"The {label} is not a valid template: {error.message} (line {error.lineno})") from None


# --- plain substitution ----------------------------------------------------------------------------
# Nearly every part is literal text and placeholders such as `{{Attributes.Customer.FirstName}}`, and
# Jinja's render costs more than the rest of a recipient's dispatch. A plain part is rendered by
# looking its placeholders up, with exactly Jinja's result: its text and escaping, its errors and its
# size limit. Anything else goes to Jinja, as does a value this does not print as Jinja prints it.
_PRINTABLE = (str, int, float, bool, type(None))  # what Jinja prints as str(value), or escape(value) in HTML


class _Lookup(NamedTuple):
    """A placeholder `{{Attributes.Customer.FirstName}}` or `{{Attributes["Customer"].FirstName}}`."""

    keys: tuple[str, ...]  # ("Attributes", "Customer", "FirstName")
    name: str  # "Attributes.Customer.FirstName", as a missing variable is named
    # A miss at keys[named_from] or after is Jinja's `variable <name> has no value`, when it prints
    # the undefined value; a miss before it fails another way (see `_lookup`), which Jinja words.
    named_from: int


def _render(source: str, html: bool, variables: dict, strict: bool, label: str) -> str:
    """The part for these variables: by plain substitution where it can be, by Jinja where not.
    Previews (not strict) are rare and render placeholders without a value: Jinja renders them."""
    if strict:
        _compiled(source, html, strict, label)  # an invalid source is refused as Jinja refuses it
        pieces = _plain_pieces(source)
        if pieces is not None:
            try:
                rendered = _substituted(pieces, html, variables)
            except (_MissingVariable, SecurityError) as error:
                raise _failure(error, label) from None
            if rendered is not None:
                return one_line(rendered) if _is_header(label) else rendered
    return _render_jinja(source, html, variables, strict, label)


@lru_cache(maxsize=4096)
def _plain_pieces(source: str) -> tuple[str | _Lookup, ...] | None:
    """The part as literal text and lookups, read from the tree Jinja compiles (the sandbox's parse);
    None unless it is only those."""
    pieces: list[str | _Lookup] = []
    for statement in _environment(False, True).parse(source).body:
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            # TemplateData is the text as Jinja outputs it: newlines made "\n", whitespace control and
            # comments applied, `{% raw %}` read, trailing newline kept; never escaped nor counted.
            piece = node.data if isinstance(node, nodes.TemplateData) else _lookup(node)
            if piece is None:
                return None
            pieces.append(piece)
    return tuple(pieces)


def _lookup(node: nodes.Node) -> _Lookup | None:
    """A Name followed by attributes and constant string keys, as a _Lookup; None for anything else."""
    keys: list[str] = []
    chained = None  # of the last steps, how many a missing value takes into its name
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and type(node.arg.value) is str:
            keys.append(node.arg.value)
        else:
            return None
        # `missing.x` is a missing `...x`; `missing["x"]` and `missing.__x` fail as `missing` is
        # looked up, and `missing._x` is an unsafe attribute.
        if chained is None and (isinstance(node, nodes.Getitem) or node.attr.startswith("_")):
            chained = len(keys) - 1
        node = node.node
    # `self` is the template itself and globals (`range`, ...) are found where variables are not.
    if not isinstance(node, nodes.Name) or node.name == "self" or node.name in _environment(False, True).globals:
        return None
    keys.append(node.name)
    keys.reverse()
    return _Lookup(tuple(keys), ".".join(keys), 0 if chained is None else len(keys) - 1 - chained)


def _substituted(pieces: tuple[str | _Lookup, ...], html: bool, variables: dict) -> str | None:
    """The part rendered from its pieces, as `_render_jinja` renders it; None when Jinja must."""
    spent, texts = Budget(), []
    for piece in pieces:
        if isinstance(piece, str):
            texts.append(piece)
            continue
        value = variables
        for depth, key in enumerate(piece.keys):
            if not isinstance(value, dict):
                return None  # an attribute of a value (a string's method, ...)
            if key not in value:
                if depth < piece.named_from:
                    return None
                spent.output(size(_Missing(name=piece.name)))  # Jinja counts what it prints before printing it
                raise _MissingVariable(piece.name)
            value = value[key]  # as `_Scope.lookup`, which takes attributes and keys alike
        if type(value) not in _PRINTABLE:
            return None  # a dict prints as JSON (`_Scope`), a list as Python
        spent.output(size(value))
        try:
            texts.append(escape(value) if html else str(value))
        except ValueError:
            return None  # an int too long to print: Jinja says so
    return "".join(texts)
