"""Plain substitution (`reachout.domain.template._render`) renders exactly as Jinja does
(`_render_jinja`): the same text, escaping and errors, for random templates and variables, whether
it takes the shortcut or hands the part to Jinja."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reachout.domain import template as templating
from reachout.domain.template import TemplateError, render
from reachout.domain.template_limits import MAX_RENDERED

LABELS = ("email subject", "email header X-Tier", "email plain text body", "email HTML body", "SMS body")
KEYS = ("Customer", "FirstName", "Prénom", "x", "_u", "__x", "a b", "a.b", "upper", "items")
ROOTS = ("Attributes", "Attributes", "Attributes", "Top", "Nobody", "self", "range", "loop", "_u")
# Values near the size limit: two of them, or one and a missing variable, are too much.
large = st.sampled_from([MAX_RENDERED // 2, MAX_RENDERED // 2 + 1, MAX_RENDERED - 4]).map(lambda n: "x" * n)

text = st.lists(st.sampled_from(["a", "Zoë", " ", "-", "{", "}", "%", "#", "<", ">", "&", '"', "'", "\n", "\r\n",
                                 "\r", "\t", "\u2028", "日本"]), max_size=8).map("".join)
printable = st.one_of(text, st.integers(), st.floats(), st.booleans(), st.none())
leaf = st.integers(0, 9).flatmap(lambda n: large if n == 0 else st.lists(st.integers(), max_size=2) if n == 1
                                 else printable)
values = st.recursive(leaf, lambda inner: st.dictionaries(st.sampled_from(KEYS), inner, max_size=4), max_leaves=12)
variables = st.fixed_dictionaries({"Attributes": st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=4)},
                                  optional={"Top": values, "range": values, "self": values, "_u": values})


@st.composite
def placeholder(draw, given: dict) -> str:
    """`{{ ... }}`, mostly along the variables' own keys (so that it finds a value, or misses at some
    level, or goes on past a value that is no dict); sometimes more than a lookup."""
    root = draw(st.sampled_from(sorted(given) if draw(st.booleans()) else ROOTS))
    path, value = root, given.get(root)
    while (draw(st.integers(0, 9)) < 9) == isinstance(value, dict):  # into dicts mostly, past values seldom
        known = sorted(value) if isinstance(value, dict) else []
        key = draw(st.sampled_from(known if known and draw(st.integers(0, 9)) < 9 else KEYS))
        value = value.get(key) if isinstance(value, dict) else None
        step = "key" if key in ("a b", "a.b") else draw(st.sampled_from(["attribute", "attribute", "key", "quoted"]))
        path += {"attribute": f".{key}", "key": f'["{key}"]', "quoted": f"['{key}']"}[step]
    # Sometimes more than a lookup: these parts go to Jinja.
    path += draw(st.sampled_from([""] * 15 + [" | upper", ' | default("-")', " ~ '!'", "()", "[0]", " is defined"]))
    space = st.sampled_from(["", " ", "  ", "\n"])
    trim = st.sampled_from(["", "", "-"])
    return "{{" + draw(trim) + draw(space) + path + draw(space) + draw(trim) + "}}"


other = st.sampled_from(["{# a comment #}", "{% raw %}{{ x }}{% endraw %}", "{%- raw -%} <b> {% endraw %}",
                         '{{ "literal" }}', "{% if Attributes %}yes{% endif %}", "{{ 1 + 1 }}"])


@st.composite
def parts(draw) -> tuple[str, dict]:
    given = draw(variables)
    pieces = st.one_of(placeholder(given), text, placeholder(given), other)
    return "".join(draw(st.lists(pieces, min_size=1, max_size=6))), given


def outcome(render_part, source: str, html: bool, given: dict, label: str):
    try:
        rendered = render_part(source, html, given, True, label)
        return type(rendered), rendered
    except TemplateError as error:
        return type(error), error.message, error.variable


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(part=parts(), html=st.booleans(), label=st.sampled_from(LABELS))
def test_substitution_renders_as_jinja_does(part, html, label):
    source, given = part
    assert outcome(templating._render, source, html, given, label) == \
        outcome(templating._render_jinja, source, html, given, label)


def test_plain_parts_are_substituted(monkeypatch):
    assert templating._plain_pieces("Hi {{ Attributes.Customer['FirstName'] }}!\r\n") == (
        "Hi ", templating._Lookup(("Attributes", "Customer", "FirstName"), "Attributes.Customer.FirstName", 2), "!\n")
    # (2: only a missing FirstName is named by the shortcut; `missing["FirstName"]` fails naming `missing`.)
    monkeypatch.setattr(templating, "_render_jinja", lambda *args: pytest.fail(f"rendered by Jinja: {args[0]}"))
    content = {"email": {"subject": "Your bill,\t{{Attributes.Customer.FirstName}}", "body": {
        "html": {"content": "<p>{{Attributes.Customer.FirstName}} {{Attributes.Customer.Balance}}</p>"},
        "plainText": {"content": "{{Attributes.Customer.FirstName}} {% raw %}{{x}}{% endraw %}"}}}}
    assert render(content, {"Attributes": {"Customer": {"FirstName": "Zoë <&>\n", "Balance": 1.5}}}) == {
        "email": {"subject": "Your bill, Zoë <&> ", "body": {
            "html": {"content": "<p>Zoë &lt;&amp;&gt;\n 1.5</p>"}, "plainText": {"content": "Zoë <&>\n {{x}}"}}}}
    with pytest.raises(TemplateError) as refused:
        render(content, {"Attributes": {}})
    assert (refused.value.message, refused.value.variable) == (
        "Cannot render the email subject: variable Attributes.Customer.FirstName has no value",
        "Attributes.Customer.FirstName")


def test_other_parts_and_values_go_to_jinja():
    for source in ("{{ Attributes.Name | upper }}", "{% if x %}{% endif %}", "{{ Attributes.Name() }}",
                   "{{ Attributes[0] }}", "{{ self }}", "{{ range }}", '{{ "text" }}'):
        assert templating._plain_pieces(source) is None, source
    # A plain part whose value is no text nor number: Jinja prints it.
    assert render({"sms": {"body": {"plainText": {"content": "{{Attributes.Order}}"}}}},
                  {"Attributes": {"Order": {"Id": "o-1"}}}) == {
        "sms": {"body": {"plainText": {"content": '{"Id": "o-1"}'}}}}


@pytest.mark.parametrize("source, given", [
    ("{{A}}{{A}}", {"A": "x" * (MAX_RENDERED // 2)}),
    ("{{A}}{{A}}", {"A": "x" * (MAX_RENDERED // 2 + 1)}),
    ("{{A}}{{B}}", {"A": "x" * (MAX_RENDERED - 8)}),  # a missing value counts as 8 characters...
    ("{{A}}{{B}}", {"A": "x" * (MAX_RENDERED - 7)}),  # ... before it fails to print
    ("{{A}}{{B['c']}}", {"A": "x" * (MAX_RENDERED - 7)}),  # but `missing['c']` fails before it prints
    ("{{N}}{{A}}", {"N": 10 ** 4000, "A": "x" * (MAX_RENDERED - 4429)}),  # ints count by their bits
    ("{{N}}", {"N": 10 ** 5000}),  # too long to print as decimal
    ("x" * (MAX_RENDERED - 5) + "{{A}}", {"A": "yz" * 8}),  # literal text does not count
])
def test_the_size_limit_and_unprintable_values_are_jinja_s(source, given):
    assert outcome(templating._render, source, False, given, "SMS body") == \
        outcome(templating._render_jinja, source, False, given, "SMS body")
