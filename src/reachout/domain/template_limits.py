"""What rendering a message template may cost. Templates come from API callers and run once per
recipient, so each rendered part (a subject, a body, a header value) is bounded, and nothing a
template does may build a value larger than a part may be:

- Size: a part renders to at most MAX_RENDERED characters. Everything it outputs counts, also into a
  `{% set %}` block, and so does the literal text of a loop's body on every pass. No single step may
  build a string or sequence larger than that either: `*`, `+` and `~`, join, replace, padding and
  format widths, ... are checked before they build, and what any call or filter returns after.
- Work: a part may spend MAX_WORK units. A loop pass, a call (function, method, macro) and a filter
  cost STEP units each, plus the size of what they work on (about one unit per character), so
  work on large values runs out sooner than work on small ones.
- No recursive loops (their passes cannot be counted); integers of at most MAX_INT_BITS bits;
  exponents up to MAX_EXPONENT; no `lipsum` (lorem ipsum of any length).
Past a limit, rendering stops with a SecurityError that names it; the source of a part is limited to
MAX_SOURCE characters.
"""
from __future__ import annotations

import re
import string
from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from jinja2 import nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import soft_str

MAX_RENDERED = 262_144  # characters a rendered part, or any value built on the way, may have
MAX_SOURCE = 262_144  # characters of template text a part may have
MAX_WORK = 10_000_000  # units of work a part may spend rendering
STEP = 100  # units a loop pass, a call or a filter costs, besides the size of what it works on
MAX_INT_BITS = 4096
MAX_EXPONENT = 100

_COUNTED, _CONCAT = "reachout_counted", "reachout_concat"  # the guards the parse puts in


class Budget:
    """What one rendered part has spent so far."""

    __slots__ = ("work", "rendered")

    def __init__(self) -> None:
        self.work = 0
        self.rendered = 0

    def spend(self, units: int) -> None:
        self.work += units
        if self.work > MAX_WORK:
            raise SecurityError(f"rendering takes more than {MAX_WORK:,} units of work (loop passes, calls and "
                                "filters, weighed by the size of what they work on)")

    def output(self, characters: int) -> None:
        self.rendered += characters
        if self.rendered > MAX_RENDERED:
            raise SecurityError(f"it renders more than {MAX_RENDERED:,} characters")


_budget: ContextVar[Budget | None] = ContextVar("reachout_template_budget", default=None)


@contextmanager
def budget():
    """Renders within this block share one budget: one per rendered part."""
    token = _budget.set(Budget())
    try:
        yield
    finally:
        _budget.reset(token)


def _current() -> Budget:
    # Outside a render (Jinja folding constants while it compiles) each step gets a budget of its own.
    return _budget.get() or Budget()


def size(value, limit: int = MAX_RENDERED) -> int:
    """About how many characters `value` makes as text; stops counting (and says so, by returning
    more than `limit`) once past `limit`, so that a huge value costs no more to weigh than a large one."""
    if isinstance(value, str):
        return len(value)
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, Mapping):
            total += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            stack.extend(item)
        else:
            total += 8
        if total > limit:
            return total
    return total


def _bounded(value, what: str):
    """`value`, if it is not larger than a rendered part may be."""
    if size(value) > MAX_RENDERED:
        raise SecurityError(f"{what} would build a value of more than {MAX_RENDERED:,} characters")
    return value


def _int(value, default: int = 0) -> int:
    return value if isinstance(value, int) else default


# --- what a step builds, before it builds it ----------------------------------------------------------
_FORMAT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def _percent_size(template: str, values) -> int:
    """An upper bound on `template % values`."""
    fields = _FORMAT_FIELD.findall(template)
    if any("*" in field for field in fields):
        raise SecurityError("`*` widths in %-formatting are not allowed")
    widths = sum(int(number) for field in fields for number in field if number)
    items = list(values.values()) if isinstance(values, Mapping) else (
        values if isinstance(values, tuple) else (values,))
    largest = max((size(item) for item in items), default=0)
    return len(template) + widths + len(fields) * largest


def _format_size(template: str, args, kwargs) -> int:
    """An upper bound on `template.format(*args, **kwargs)`."""
    fields, widths = 0, 0
    for _, field, spec, _ in string.Formatter().parse(template):
        if field is None:
            continue
        fields += 1
        if spec and "{" in spec:
            raise SecurityError("nested format specifications are not allowed")
        widths += sum(int(number) for number in re.findall(r"\d+", spec or ""))
    largest = max((size(item) for item in (*args, *kwargs.values())), default=0)
    return len(template) + widths + fields * largest


def _joined_size(separator, items: list) -> int:
    return sum(size(item) for item in items) + max(len(items) - 1, 0) * size(separator)


def _method_size(text, name: str, args: tuple, kwargs: dict) -> int | None:
    """An upper bound on what str/bytes method `name` of `text` returns; None for those that do not grow."""
    first = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill"):
        return max(len(text), _int(first))
    if name == "expandtabs":
        return len(text) + text.count("\t" if isinstance(text, str) else b"\t") * _int(first or kwargs.get("tabsize"), 8)
    if name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        count = len(text) + 1 if not old else text.count(old)
        return len(text) + count * len(new)
    if name in ("format", "format_map"):
        if name == "format_map":
            return _format_size(text, (), first if isinstance(first, Mapping) else {})
        return _format_size(text, args, kwargs)
    if name == "translate" and isinstance(first, Mapping):
        return len(text) * max((size(v) for v in first.values()), default=1)
    if name == "translate":
        raise SecurityError("translate takes a mapping here")
    return None


# --- the guarded filters -----------------------------------------------------------------------------
def _guarded(name: str, apply):
    """A built-in filter that spends work and checks what it builds."""
    checks = {
        "center": lambda value, width=80: max(size(value), _int(width)),
        "indent": lambda value, width=4, *rest, **kw: size(value) + (soft_str(value).count("\n") + 1) * (
            len(width) if isinstance(width, str) else _int(width)),
        "wordwrap": lambda value, width=79, break_long_words=True, wrapstring=None, *rest, **kw: size(value) + (
            size(value) // max(_int(width, 1), 1) + 1) * len(wrapstring or "\n"),
        "format": lambda value, *args, **kwargs: _percent_size(soft_str(value), kwargs or args),
        "replace": lambda value, old, new, count=None: _method_size(soft_str(value), "replace", (old, new), {}),
        "batch": lambda value, linecount, fill_with=None: size(value) + (_int(linecount) if fill_with is not None
                                                                         else 0),
        "slice": lambda value, slices, fill_with=None: size(value) + _int(slices) * (2 if fill_with is None else 3),
        "sum": lambda value, attribute=None, start=0: (
            MAX_RENDERED + 1 if not isinstance(start, (int, float)) else 0),
    }
    check = checks.get(name)
    takes = getattr(apply, "jinja_pass_arg", None)

    @wraps(apply)
    def guarded(*args, **kwargs):
        plain = args[1:] if takes is not None else args  # without the context Jinja passes first
        budget = _current()
        budget.spend(STEP + (size(plain[0], MAX_WORK) if plain else 0))
        if name == "join" and plain:
            items = list(plain[0])  # once: it may be a generator
            separator = plain[1] if len(plain) > 1 else kwargs.get("d", "")
            if _joined_size(separator, items) > MAX_RENDERED:
                raise SecurityError(f"join would build a value of more than {MAX_RENDERED:,} characters")
            args = (*args[:len(args) - len(plain)], items, *plain[1:])
        elif check is not None and plain and _estimate(check, plain, kwargs) > MAX_RENDERED:
            raise SecurityError(f"{name} would build a value of more than {MAX_RENDERED:,} characters")
        return _bounded(apply(*args, **kwargs), name)

    return guarded


def _estimate(check, args: tuple, kwargs: dict) -> int:
    try:
        return check(*args, **kwargs)
    except (TypeError, ValueError, AttributeError):
        return 0  # arguments the filter itself will refuse


@pass_context
def _counted(context, iterable, literal: int):
    """A loop's iterable, spending a pass's work and its body's literal text on every pass."""
    budget = _current()
    for item in iterable:
        budget.spend(STEP + literal)
        budget.output(literal)
        yield item


@pass_context
def _concat(context, parts: tuple):
    """`~`, which builds no more than a rendered part may be."""
    texts = [soft_str(part) for part in parts]
    if sum(map(len, texts)) > MAX_RENDERED:
        raise SecurityError(f"~ would build a value of more than {MAX_RENDERED:,} characters")
    _current().spend(STEP)
    return markup_join(texts) if context.eval_ctx.autoescape else str_join(texts)


def _no_lipsum(*args, **kwargs):
    raise SecurityError("lipsum is not available in message templates")


class _Guards(NodeTransformer):
    """Puts the guards into a parsed template: every loop's iterable counts its passes; `~` is checked."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)  # transforms the children in place and returns the node itself
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not allowed in message templates", node.lineno)
        literal = sum(len(data.data) for data in _own_text(node))
        node.iter = nodes.Filter(node.iter, _COUNTED, [nodes.Const(literal)], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(nodes.Tuple(node.nodes, "load", lineno=node.lineno), _CONCAT, [], [], None, None,
                            lineno=node.lineno)


def _own_text(loop: nodes.For):
    """The literal text of a loop's body and else block, without that of loops inside it (they count their own)."""
    stack = list(loop.body) + list(loop.else_)
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.TemplateData):
            yield node
        elif not isinstance(node, nodes.For):
            stack.extend(node.iter_child_nodes())


class LimitedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with the limits above. Render with `budget()` around each part."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        self.globals["lipsum"] = _no_lipsum
        self.filters = {name: _guarded(name, apply) for name, apply in self.filters.items()}
        self.filters[_COUNTED] = _counted
        self.filters[_CONCAT] = _concat
        self.finalize = self._finalize

    def _parse(self, source, name, filename):
        if len(source) > MAX_SOURCE:
            raise TemplateSyntaxError(f"its text is longer than {MAX_SOURCE:,} characters", 1, name, filename)
        tree = _Guards().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    @staticmethod
    def _finalize(value):
        """Every `{{ ... }}` output: counted before it becomes text."""
        budget = _current()
        characters = size(value, MAX_RENDERED - budget.rendered)
        budget.output(characters)
        budget.spend(characters)
        return value

    def call(self, context, obj, /, *args, **kwargs):
        budget = _current()
        method = getattr(obj, "__wrapped__", obj)  # the sandbox's str.format wrapper wraps the method
        owner = getattr(method, "__self__", None)
        budget.spend(STEP + (size(owner, MAX_WORK) if isinstance(owner, (str, bytes, list, tuple, dict)) else 0)
                     + size(args, MAX_WORK) + size(kwargs, MAX_WORK))
        if isinstance(owner, (str, bytes)):
            name = getattr(method, "__name__", "")
            if name == "join" and args:
                items = list(args[0])
                if _joined_size(owner, items) > MAX_RENDERED:
                    raise SecurityError(f"join would build a value of more than {MAX_RENDERED:,} characters")
                args = (items, *args[1:])
            elif (_method_size(owner, name, args, kwargs) or 0) > MAX_RENDERED:
                raise SecurityError(f"{name} would build a value of more than {MAX_RENDERED:,} characters")
        return _bounded(super().call(context, obj, *args, **kwargs), "a call")

    def call_binop(self, context, op: str, left, right):
        _current().spend(STEP)
        if op == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponents above {MAX_EXPONENT} are not allowed")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() * max(right, 0) > MAX_INT_BITS:
                raise SecurityError(f"integers of more than {MAX_INT_BITS} bits are not allowed")
        elif op == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int) \
                        and size(sequence) * max(count, 0) > MAX_RENDERED:
                    raise SecurityError(f"repetition longer than {MAX_RENDERED:,} characters is not allowed")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise SecurityError(f"integers of more than {MAX_INT_BITS} bits are not allowed")
        elif op == "+":
            if isinstance(left, (str, bytes, list, tuple)) and size(left) + size(right) > MAX_RENDERED:
                raise SecurityError(f"+ would build a value of more than {MAX_RENDERED:,} characters")
        elif op == "%" and isinstance(left, str) and _percent_size(left, right) > MAX_RENDERED:
            raise SecurityError(f"%-formatting would build a value of more than {MAX_RENDERED:,} characters")
        return super().call_binop(context, op, left, right)
