"""A jinja2 sandbox that bounds the work one render may do, so a template in `maler/` cannot hang a run.

`maler/` often lives on a shared folder, and a template there is code: `{% for i in range(10**9) %}`,
nested loops, a macro that calls itself twice, or `"x" * 10**10` would hang `samtale templates show`
or the nightly run. Counting in the sandbox works the same on every OS (no worker process, no
signal): every loop iteration and every call is a step, `range()` is short, and no text or list
may grow past `MAX_SIZE`; a render that needs more, or runs longer than `MAX_SECONDS`, stops with
RenderLimitError (mail/templates.py turns it into a ConfigError naming the file).

The limits are far above what a mail needs: a digest for a manager with a thousand reminders takes
a few thousand steps.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from samtale_automation.texts import tr

MAX_STEPS = 100_000  # loop iterations and calls in one render
MAX_RANGE = 10_000  # numbers in one range()
MAX_SIZE = 1_000_000  # characters (or items) in one value, and in the whole output
MAX_SECONDS = 10.0  # wall clock for one render, checked every 256 steps
MAX_EXPONENT_BITS = 100_000  # a ** b and a * b on whole numbers
_COUNT = "_samtale_count"  # the filter wrapped around every {% for %} iterable
_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_WIDTH_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "batch", "slice"})
#: A width or precision of 7 digits or more, or one taken from the arguments: "{:>999999999}", "%*s".
_WIDE_FORMAT = re.compile(r"\{[^{}]*:[^{}]*(\d{7,}|\{)")
_WIDE_PERCENT = re.compile(r"%(\([^)]*\))?[-+ #0]*(\d{7,}|\*|\d*\.(\d{7,}|\*))")


class RenderLimitError(SecurityError):
    """A template needed more work than a mail may take; `filename` set when no template line is known."""

    def __init__(self, message: str, filename: str | None = None) -> None:
        super().__init__(message)
        self.filename = filename


class _Budget:
    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise RenderLimitError(tr(f"malen gjør for mye arbeid (over {_n(MAX_STEPS)} gjentakelser og kall; "
                                      "en løkke i en løkke?)",
                                      f"the template does too much work (over {_n(MAX_STEPS)} iterations and calls; "
                                      "a loop inside a loop?)"))
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise RenderLimitError(tr(f"malen brukte mer enn {MAX_SECONDS:.0f} sekunder",
                                      f"the template took more than {MAX_SECONDS:.0f} seconds"))


_BUDGET: ContextVar[_Budget | None] = ContextVar("samtale_template_budget", default=None)


def _step() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.step()


def _n(number: int) -> str:
    """1 000 000 / 1,000,000."""
    return tr(f"{number:,}".replace(",", " "), f"{number:,}")


def _too_long() -> RenderLimitError:
    return RenderLimitError(tr(f"en tekst eller liste i malen blir for lang (over {_n(MAX_SIZE)} tegn)",
                               f"a text or list in the template grows too long (over {_n(MAX_SIZE)} characters)"))


def _check_size(value: Any) -> Any:
    if isinstance(value, str | bytes | list | tuple | dict | set) and len(value) > MAX_SIZE:
        raise _too_long()
    return value


def _check_counts(values: Iterable[Any]) -> None:
    """Refuse a whole number past the size limit where it is a width or a count."""
    if any(isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE for value in values):
        raise _too_long()


def _counted(values: Iterable[Any]) -> Iterator[Any]:
    """Every item a `{% for %}` takes is a step."""
    for value in values:
        _step()
        yield value


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise RenderLimitError(tr(f"range() med {_n(len(numbers))} tall er for mye (høyst {_n(MAX_RANGE)})",
                                  f"range() with {_n(len(numbers))} numbers is too many (at most {_n(MAX_RANGE)})"))
    return numbers


class _BoundedNamespace(Namespace):
    """`namespace()`, whose attributes may not grow past the size limit (`{% set ns.text = ns.text ~ ... %}`)."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, _check_size(value))


def _check_percent(text: Any) -> None:
    if isinstance(text, str) and _WIDE_PERCENT.search(text):
        raise _too_long()


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter as a step, refusing a width or count over the size limit and a result past it."""
    leading = 2 if hasattr(function, "jinja_pass_arg") else 1  # (context or environment,) the value filtered

    @functools.wraps(function)  # keeps jinja's pass_context/pass_environment marks
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _step()
        if name in _WIDTH_FILTERS:
            _check_counts((*args[leading:], *kwargs.values()))  # `center(10**9)`
        elif name == "format" and len(args) >= leading:
            _check_percent(args[leading - 1])  # `"%999999999s"|format(x)`
        return _check_size(function(*args, **kwargs))

    return guarded


class BoundedTemplate(jinja2.Template):
    """A template whose render has a fresh budget and an output of at most `MAX_SIZE` characters."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Render within the limits of this module."""
        token = _BUDGET.set(_Budget()) if _BUDGET.get() is None else None
        try:
            context = self.new_context(dict(*args, **kwargs))
            try:
                return self.environment.concat(self._capped(self.root_render_func(context)))
            except Exception:
                self.environment.handle_exception()
        finally:
            if token is not None:
                _BUDGET.reset(token)

    def _capped(self, parts: Iterable[str]) -> Iterator[str]:
        size = 0
        for part in parts:
            size += len(part)
            if size > MAX_SIZE:
                raise RenderLimitError(tr(f"malen lager over {_n(MAX_SIZE)} tegn tekst",
                                          f"the template makes over {_n(MAX_SIZE)} characters of text"), self.filename)
            yield part


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox, with every loop, call, filter and growing value counted or measured."""

    template_class = BoundedTemplate
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _bounded_range
        self.globals["namespace"] = _BoundedNamespace
        self.filters = {name: _guard_filter(name, function) for name, function in self.filters.items()}
        self.filters[_COUNT] = _counted

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Parse, then wrap the iterable of every `{% for %}` in the counting filter."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _COUNT, [], [], None, None, lineno=loop.iter.lineno)
        return tree

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any,
             **kwargs: Any) -> Any:
        """A call from a template (a macro, a method, a global) is a step; its text arguments are measured."""
        _step()
        for value in (*args, *kwargs.values()):
            _check_size(value)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes) and getattr(__obj, "__name__", "") in _WIDTH_METHODS:
            _check_counts((*args, *kwargs.values()))  # `"x".ljust(10**9)`
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`"{:>999999999}".format(x)` is refused when the method is looked up."""
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in {"format", "format_map"} \
                and _WIDE_FORMAT.search(owner):
            raise _too_long()
        return super().wrap_str_format(value)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        """`*`, `**`, `+` and `%` that would make a value past the limits are refused before they run."""
        _step()
        if operator == "%":
            _check_percent(left)
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
                and right * abs(left).bit_length() > MAX_EXPONENT_BITS:
            raise RenderLimitError(tr(f"tallet {left} ** {right} blir for stort", f"the number {left} ** {right} "
                                      "is too big"))
        if operator == "*":
            if isinstance(left, int) and isinstance(right, int) \
                    and left.bit_length() + right.bit_length() > MAX_EXPONENT_BITS:
                raise RenderLimitError(tr("et tall i malen blir for stort", "a number in the template is too big"))
            sized, count = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(count, int) and hasattr(sized, "__len__") and len(sized) * count > MAX_SIZE:
                raise _too_long()
        if operator == "+" and hasattr(left, "__len__") and hasattr(right, "__len__") \
                and len(left) + len(right) > MAX_SIZE:
            raise _too_long()
        return _check_size(super().call_binop(context, operator, left, right))
