"""The wire layer's quick paths give exactly what its plain walks give.

Decoding a request body and checking its constraints each have a quick walk for well-typed, valid
input (built once per shape, no messages, no paths) and fall back to the walk that names every
problem. Here both are run side by side on the input shapes of every served operation, with values
well typed or not, valid or not, against the plain walks as the reference; likewise the standard
library's matcher for patterns judged linear against `regex`, and the bracket count of a JSON text.
"""
from __future__ import annotations

import string
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reachout.aws import parsing, validation
from reachout.aws.catalog import ServiceCatalog
from reachout.aws.errors import ParamValidationError
from reachout import json_text

CATALOG = ServiceCatalog()
OPERATIONS = sorted((service.name, name) for service in CATALOG.services.values()
                    for name, operation in service.operations.items() if operation.input_shape is not None)
PATTERNS = sorted({shape.metadata["pattern"] for service in CATALOG.services.values()
                   for name in service.model.shape_names
                   if "pattern" in (shape := service.model.shape_for(name)).metadata})
LINEAR = [pattern for pattern in PATTERNS if validation._linear(pattern) is not None]

# Text that exercises the edges: NUL, a lone surrogate, combining marks, separators, digits of other
# scripts, the characters the model patterns are made of.
EDGY = st.text(st.sampled_from(list(string.ascii_letters + string.digits + "-_.:/+@ \t\n[]{}\"\\")
                               + ["\x00", "\ud800", "\u0301", "\u00e9", "\u2028", "\u0663", "\x1c", "\u3000"]),
               max_size=12)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True), EDGY)


def value_for(shape, depth: int = 0):
    """Mostly what the shape wants, sometimes anything at all."""
    kind = shape.type_name
    if depth > 4 or shape.metadata.get("document"):
        return SCALARS
    if kind == "structure":
        members = list(shape.members.items())[:12]
        wanted = st.fixed_dictionaries({}, optional={
            member.serialization.get("name", name): value_for(member, depth + 1) for name, member in members})
    elif kind == "list":
        wanted = st.lists(value_for(shape.member, depth + 1), max_size=3)
    elif kind == "map":
        wanted = st.dictionaries(EDGY, value_for(shape.value, depth + 1), max_size=3)
    elif kind == "string":
        wanted = st.sampled_from(shape.enum) if shape.enum else EDGY
    elif kind in ("integer", "long"):
        wanted = st.integers(-2**65, 2**65)
    elif kind in ("float", "double"):
        wanted = st.one_of(st.integers(-2**1100, 2**1100), st.floats(allow_nan=True, allow_infinity=True))
    elif kind == "boolean":
        wanted = st.booleans()
    elif kind == "timestamp":
        wanted = st.one_of(st.integers(0, 2**40), st.floats(allow_nan=True), EDGY)
    else:
        wanted = EDGY
    return st.one_of(wanted, wanted, wanted, SCALARS)


@st.composite
def shaped_input(draw):
    service, name = draw(st.sampled_from(OPERATIONS))
    shape = CATALOG.services[service].operations[name].input_shape
    return shape, draw(value_for(shape))


def reference_check(shape, params) -> list[str]:
    problems: list[str] = []
    validation._check(shape, params, "", problems, time.monotonic() + validation.PATTERN_BUDGET, {})
    return problems


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shaped_input())
def test_quick_decoding_gives_what_decode_gives(case):
    shape, value = case
    quick_problems: list[str] = []
    plain_problems: list[str] = []
    quick = parsing._decoded(shape, value, "", quick_problems)
    plain = parsing.decode(shape, value, "", plain_problems)
    assert quick_problems == plain_problems
    assert repr(quick) == repr(plain)  # repr: NaN-free here, and tells 1 from 1.0 and True from 1


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shaped_input())
def test_quick_validation_refuses_what_the_full_walk_refuses(case):
    shape, value = case
    problems: list[str] = []
    params = parsing.decode(shape, value, "", problems)
    if problems or not isinstance(params, dict):
        return  # validation only ever sees well-typed params
    expected = reference_check(shape, params)
    try:
        validation.validate(shape, params)
    except ParamValidationError as error:
        assert expected, f"refused valid params: {error}"
        assert str(error) == str(ParamValidationError(expected))
    else:
        assert expected == []


@pytest.mark.parametrize("pattern", LINEAR)
@settings(max_examples=200, deadline=None)
@given(text=EDGY)
def test_linear_patterns_match_as_regex_does(pattern, text):
    assert (validation._linear(pattern).search(text) is None) == (validation._pattern(pattern).search(text) is None)


def test_the_everyday_patterns_are_linear():
    """Client tokens, ids, phone numbers, attribute names and values: what every batch item carries."""
    for pattern in (r"[a-zA-Z0-9_\-.]*", r"[\d\-+]*", r"[a-zA-Z0-9\-_]+", r".*", r"[-:/a-zA-Z0-9]+"):
        assert pattern in LINEAR


def reference_nesting(text, limit: int) -> bool:
    depth = 0
    for token in json_text._BRACKETS[type(text)].finditer(text):
        if token.lastindex:
            depth += 1
            if depth > limit:
                return True
        elif token.end() - token.start() == 1:
            depth -= 1
    return False


@settings(max_examples=3000, deadline=None)
@given(text=st.text(st.sampled_from(list('[]{}"\\a,:1 ') + ["\u00e9"]), max_size=80),
       limit=st.integers(0, 8), as_bytes=st.booleans())
def test_nesting_is_counted_as_the_token_scan_counts_it(text, limit, as_bytes):
    subject = text.encode() if as_bytes else text
    assert json_text._nesting_exceeds(subject, limit) == reference_nesting(subject, limit)


@pytest.mark.parametrize("text", ['{"a": 123456789012345678901234567890}', '{"a": 9223372036854775808}',
                                  '[1e400, -0, 0.1, "\\ud800", "\\u00e9"]', '{"a": 1, "a": 2}'])
def test_json_is_read_as_the_standard_library_reads_it(text):
    import json
    expected = json.loads(text)
    assert repr(json_text.read_json(text)) == repr(expected)
    assert repr(json_text.read_json(text.encode())) == repr(expected)


UNIONS = sorted({(service.name, name) for service in CATALOG.services.values() for name in service.model.shape_names
                 if service.model.shape_for(name).metadata.get("union")})


@pytest.mark.parametrize("service, name", UNIONS)
def test_unions_take_exactly_one_member(service, name):
    shape = CATALOG.services[service].model.shape_for(name)
    strings = [member for member, its in shape.members.items() if its.type_name == "string" and not its.enum]
    cases = [{}] + ([{member: "x" for member in strings[:2]}] if len(strings) >= 2 else [])
    for params in cases:
        expected = reference_check(shape, params)
        assert any("exactly one of" in problem for problem in expected)
        with pytest.raises(ParamValidationError) as refused:
            validation.validate(shape, params)
        assert str(refused.value) == str(ParamValidationError(expected))
