"""The expression language under attack: thousands of grammar-generated expressions and
the classic Python sandbox escapes.

Whatever the text, ``compile_expression`` and the compiled function either give finite
float64 values or raise ``ExpressionError``, quickly, and nothing is ever executed: an
audit hook watches for code execution, processes, file writes and sockets, and a canary
file that an escape would create must never appear.

``BPNET_FUZZ_EXAMPLES`` (200 by default) scales the number of generated examples.
"""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpnet.errors import ExpressionError
from bpnet.expr import ALLOWED_FUNCTIONS, compile_expression

EXAMPLES = int(os.environ.get("BPNET_FUZZ_EXAMPLES", 200))
FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow]}  # fmt: skip
CANARY = "bpnet-canary"  # relative: the tests run in a temporary directory

X = np.linspace(-3, 3, 41)
GRID = np.meshgrid(np.linspace(-2, 2, 9), np.linspace(-1, 3, 7))

# --- an audit hook: what would show that something ran ---------------------------------

_WATCHING: list[list[str]] = []  # the hook records into the innermost list, if any
_FORBIDDEN_EVENTS = ("exec", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
                     "subprocess.Popen", "os.remove", "os.rename", "os.mkdir", "os.chmod",
                     "shutil.", "socket.", "ctypes.", "pickle.find_class", "builtins.input",
                     "webbrowser.open", "urllib.Request")  # fmt: skip


def _audit(event: str, args) -> None:
    if not _WATCHING:
        return
    if event.startswith(_FORBIDDEN_EVENTS):
        _WATCHING[-1].append(event)
    elif event == "open" and CANARY in str(args[0]):
        _WATCHING[-1].append(f"open {args[0]}")


sys.addaudithook(_audit)  # hooks cannot be removed; this one costs nothing when idle


def attempt(text: str, variables=("x",)):
    """Compile and evaluate ``text``: the values, or the ExpressionError. Anything else,
    any sign of execution fails the test (a hang: pytest's timeout)."""
    arrays = (X,) if len(variables) == 1 else GRID
    seen: list[str] = []
    _WATCHING.append(seen)
    try:
        result = compile_expression(text, variables)(*arrays)
    except ExpressionError as error:
        result = error
    finally:
        _WATCHING.pop()
    assert not seen, f"{text!r} caused {seen}"
    if isinstance(result, ExpressionError):
        assert str(result), text
        if result.column is not None:
            assert 1 <= result.column <= len(text) + 1, (text, result.column, str(result))
    else:
        assert result.dtype == np.float64 and result.shape == arrays[0].shape
        assert np.isfinite(result).all()
    return result


@pytest.fixture(autouse=True)
def _in_a_scratch_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield
    assert not (tmp_path / CANARY).exists(), "an expression created the canary file"


# --- a grammar of expressions, both the language and what lies outside it --------------

ESCAPE_ATOMS = [
    f"__import__('os').system('touch {CANARY}')",
    f"open('{CANARY}', 'w').write('x')",
    f"__import__('pathlib').Path('{CANARY}').touch()",
    "().__class__.__bases__[0].__subclasses__()",
    "__builtins__",
    "__import__",
    "globals()",
]
NUMBERS = ["0", "1", "2", "0.5", ".5", "2.", "1e3", "1e-3", "3E2", "1e308", "1e309", "1e-400",
           "9" * 60, "1_000", "0x1F", "0o7", "0b1", "1j", "00"]  # fmt: skip
NAMES = ["x", "y", "pi", "e", "X", "z", "sin", "Sin", "exp2", "os", "eval", "exec", "open",
         "getattr", "lambda", "None", "True", "print", "input", "breakpoint", "vars",
         "__class__", "__dict__", "self", "_"]  # fmt: skip
LITERALS = ["'a'", "b'x'", '"sin(x)"', "f'{x}'", "...", "[]", "{}", "()", "[x]", "{x: 1}"]
atoms = st.one_of(
    st.sampled_from(["x", "x", "pi", "e", "y"]),
    st.sampled_from(NUMBERS),
    st.integers(0, 10**12).map(str),
    st.floats(0, 1e6, allow_nan=False).map(repr),
    st.sampled_from(NAMES),
    st.sampled_from(LITERALS + ESCAPE_ATOMS),
)
BINARY = ["+", "-", "*", "/", "^", "**", " + ", " - ", "<", "<=", ">", ">=", "==", "!=", "%",
          "//", "@", "&", "|", "<<", ">>", " and ", " or ", " is ", " in ", " not in "]  # fmt: skip
UNARY = ["-", "+", "- ", "~", "not "]
ATTRIBUTES = ["__class__", "__globals__", "__subclasses__()", "real", "T", "mro()",
              "__builtins__", "__code__", "__closure__", "__self__", "func_globals"]  # fmt: skip
FUNCTION_NAMES = [*ALLOWED_FUNCTIONS] * 3 + ["getattr", "eval", "__import__", "print", "f"]


def _grow(inner):
    pair = st.tuples(inner, inner)
    return st.one_of(
        st.tuples(inner, st.sampled_from(BINARY), inner).map("".join),
        st.tuples(st.sampled_from(UNARY), inner).map("".join),
        inner.map(lambda a: f"({a})"),
        st.tuples(st.sampled_from(FUNCTION_NAMES), st.lists(inner, max_size=4)).map(
            lambda call: f"{call[0]}({', '.join(call[1])})"
        ),
        st.tuples(inner, inner, inner).map(lambda t: f"where({t[0]} > {t[1]}, {t[1]}, {t[2]})"),
        st.tuples(st.sampled_from(FUNCTION_NAMES), inner).map(lambda t: f"{t[0]}(a={t[1]})"),
        st.tuples(inner, st.sampled_from(ATTRIBUTES)).map(lambda t: f"({t[0]}).{t[1]}"),
        pair.map(lambda t: f"{t[0]}[{t[1]}]"),
        inner.map(lambda a: f"(lambda: {a})()"),
        inner.map(lambda a: f"(x := {a})"),
        inner.map(lambda a: f"f'{{{a}}}'"),
        pair.map(lambda t: f"[{t[0]} for x in {t[1]}]"),
        pair.map(lambda t: f"{t[0]} if x else {t[1]}"),
        inner.map(lambda a: f"max(*{a})"),
        pair.map(lambda t: f"{t[0]}, {t[1]}"),
        pair.map(lambda t: f"{t[0]}; {t[1]}"),
        pair.map(lambda t: f"{t[0]} {t[1]}"),  # two values side by side
    )


expressions = st.recursive(atoms, _grow, max_leaves=30)


# A hand-written generator from the same grammar, seeded by hypothesis: a hundred times
# cheaper per expression than a recursive strategy, so each example checks a batch.
ARITY = {"min": 2, "max": 2, "power": 2, "where": 3}
HOSTILE = [
    lambda g, d: f"({g.node(d)}).{g.rng.choice(ATTRIBUTES)}",
    lambda g, d: f"{g.node(d)}[{g.node(d)}]",
    lambda g, d: f"(lambda: {g.node(d)})()",
    lambda g, d: f"(x := {g.node(d)})",
    lambda g, d: f"f'{{{g.node(d)}}}'",
    lambda g, d: f"[{g.node(d)} for x in {g.node(d)}]",
    lambda g, d: f"{g.node(d)} if {g.node(d)} else {g.node(d)}",
    lambda g, d: f"{g.rng.choice(FUNCTION_NAMES)}(a={g.node(d)})",
    lambda g, d: f"max(*{g.node(d)})",
    lambda g, d: f"{g.node(d)}, {g.node(d)}",
    lambda g, d: f"{g.node(d)} {g.rng.choice(BINARY)} {g.node(d)}",
    lambda g, d: f"{g.rng.choice(UNARY)}{g.node(d)}",
    lambda g, d: f"{g.rng.choice(NAMES)}({g.node(d)})",
    lambda g, d: g.rng.choice(LITERALS + ESCAPE_ATOMS + NAMES + NUMBERS),
]
MUTATIONS = "()[]{},.:;'\"_^*/+-<>=!~@#\\ \t\nxye019é²\x00"


class Grammar:
    """Random expressions: the documented language, with hostile constructs mixed in at
    the rate ``hostile`` and characters mutated at the rate ``mutate``."""

    def __init__(self, seed: int, variables, hostile: float, mutate: float):
        self.rng = random.Random(seed)
        self.variables, self.hostile, self.mutate = variables, hostile, mutate

    def atom(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return rng.choice(self.variables)
        if roll < 0.55:
            return rng.choice(["pi", "e"])
        if roll < 0.9:
            return rng.choice([str(rng.randint(0, 12)), f"{rng.uniform(0, 5):.3g}", "0.5"])
        return rng.choice(NUMBERS)

    def node(self, depth: int) -> str:
        rng = self.rng
        if depth > 5 or rng.random() < 0.3:
            return self.atom()
        if rng.random() < self.hostile:
            return rng.choice(HOSTILE)(self, depth + 1)
        d = depth + 1
        roll = rng.random()
        if roll < 0.35:
            return f"{self.node(d)} {rng.choice('+-*/^')} {self.node(d)}"
        if roll < 0.45:
            return f"-{self.node(d)}"
        if roll < 0.55:
            return f"({self.node(d)})"
        if roll < 0.65:
            comparison = rng.choice(["<", "<=", ">", ">=", "==", "!="])
            return (
                f"where({self.node(d)} {comparison} {self.node(d)}, {self.node(d)}, {self.node(d)})"
            )
        if roll < 0.7:
            return f"({self.node(d)} < {self.node(d)} <= {self.node(d)})"
        name = rng.choice([name for name in ALLOWED_FUNCTIONS if name != "where"])
        return f"{name}({', '.join(self.node(d) for _ in range(ARITY.get(name, 1)))})"

    def expression(self) -> str:
        text = self.node(0)
        while self.rng.random() < self.mutate:
            where = self.rng.randrange(len(text) + 1)
            char = self.rng.choice(MUTATIONS)
            text = self.rng.choice([
                text[:where] + char + text[where:],
                text[:where] + text[where + 1 :],
                text[:where] + char + text[where + 1 :],
            ])  # fmt: skip
        return text


BATCH = 25  # expressions per hypothesis example: 200 examples check 5,000


@settings(max_examples=EXAMPLES, **FUZZ)
@given(
    seed=st.integers(0, 2**32 - 1),
    surface=st.booleans(),
    hostile=st.sampled_from([0.0, 0.05, 0.2, 0.5]),
    mutate=st.sampled_from([0.0, 0.0, 0.3, 0.7]),
)
def test_thousands_of_grammar_expressions_compile_or_raise_expression_error(
    seed, surface, hostile, mutate
):
    variables = ("x", "y") if surface else ("x",)
    grammar = Grammar(seed, variables, hostile, mutate)
    for _ in range(BATCH):
        attempt(grammar.expression(), variables)


@settings(max_examples=max(EXAMPLES // 2, 10), **FUZZ)
@given(text=expressions, surface=st.booleans())
def test_shrinkable_grammar_expressions_compile_or_raise_expression_error(text, surface):
    """The same property on a hypothesis strategy, which shrinks a failure to its core."""
    attempt(text, ("x", "y") if surface else ("x",))


def test_the_grammar_mostly_produces_valid_expressions():
    """The fuzz is not only refusals: most of the plain grammar is in the language."""
    grammar = Grammar(seed=1, variables=("x",), hostile=0.0, mutate=0.0)
    results = [attempt(grammar.expression()) for _ in range(1000)]
    accepted = sum(not isinstance(result, ExpressionError) for result in results)
    assert accepted >= 500, accepted


# --- the classic escapes ---------------------------------------------------------------

ESCAPES = [
    f"__import__('os').system('touch {CANARY}')",
    f"__import__('subprocess').call(['touch', '{CANARY}'])",
    f"__import__('pathlib').Path('{CANARY}').touch()",
    f"open('{CANARY}', 'w').write('pwned')",
    f"exec(\"open('{CANARY}', 'w')\")",
    "eval('1 + 1')",
    "compile('1', 'f', 'eval')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__.__mro__[1].__subclasses__()",
    "''.__class__.__mro__[-1].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']",
    "sin.__globals__['__builtins__']['exec']('1')",
    "sin.__self__",
    "sin.__call__(x)",
    "(1).__class__",
    "1 .real",
    "1.0.hex()",
    "'abc'.upper()",
    "[].append",
    "{}.keys()",
    "x.T",
    "x.__array_interface__",
    "lambda: 0",
    "(lambda: __import__('os'))()",
    f'f\'{{__import__("os").system("touch {CANARY}")}}\'',
    "f'{x}'",
    "(y := 1)",
    f"(a := __import__('os')).system('touch {CANARY}')",
    "getattr(x, '__class__')",
    "getattr(__builtins__, 'eval')('1')",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "breakpoint()",
    "input()",
    "print(x)",
    "help()",
    "exit()",
    "__builtins__",
    "__builtins__.__dict__",
    "__loader__",
    "__spec__",
    "__debug__",
    "__name__",
    "x if 1 else __import__('os')",
    "x and __import__('os')",
    "not x",
    "x[0]",
    "x[::-1]",
    "{x}",
    "{x: 1}",
    "[x]",
    "(x, x)",
    "max(*[x, x])",
    "sin(x=1)",
    "sin(**{'a': 1})",
    "yield x",
    "await x",
    "...",
    "None",
    "True",
    "x; import os",
    "x\nimport os",
    "import os",
    "x # comment",
    "x \\\n + 1",
    "\x00x",
    "ｓｉｎ(x)",
    "x\u200b",
    "sin(" * 31 + "x" + ")" * 31,
    "sin(" * 1000 + "x" + ")" * 1000,
    "(" * 5000 + "x" + ")" * 5000,
    "-" * 199 + "x",
    "x" + "+x" * 99,
    "9^9^9^9^9",
    "x^9^9^9",
    "2^2^2^2^2^2^2",
    "10**10**10**10",
    "(x+2)^(x+2)^(x+2)^(x+2)^(x+2)",
    "power(9, power(9, power(9, 9)))",
    "exp(exp(exp(exp(x))))",
    "1e999999",
    "x" * 10_000,
]


@pytest.mark.parametrize("text", ESCAPES, ids=[repr(t[:40]) for t in ESCAPES])
def test_a_classic_escape_is_refused_and_runs_nothing(text):
    assert isinstance(attempt(text), ExpressionError), text


def test_long_but_harmless_text_at_the_limits_is_accepted():
    for text in ["(" + "9" * 198 + ")", "x" + "+x" * 49, "sin(" * 30 + "x" + ")" * 30]:
        assert not isinstance(attempt(text), ExpressionError), text


def test_an_escape_in_a_surface_formula_is_refused_too():
    for text in ESCAPES[:20]:
        assert isinstance(attempt(text, ("x", "y")), ExpressionError), text


def test_the_audit_hook_would_notice_an_escape(tmp_path):
    """The watch itself works: writing the canary and running code are both seen."""
    seen: list[str] = []
    _WATCHING.append(seen)
    try:
        exec("1")  # the kind of thing an escape does
        with open(tmp_path / CANARY, "w") as f:
            f.write("x")
    finally:
        _WATCHING.pop()
    (tmp_path / CANARY).unlink()
    assert "exec" in seen and any(CANARY in event for event in seen), seen
