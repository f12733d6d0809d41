"""Tests for the safe expression language: what it accepts and computes, what it refuses and
what it says, and a property test that any text either compiles or raises ExpressionError."""

import ast
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import bpnet.expr
from bpnet.errors import ExpressionError
from bpnet.expr import (
    ALLOWED_CONSTANTS,
    ALLOWED_FUNCTIONS,
    Expression,
    compile_expression,
    describe_language,
)

X = np.array([-1.5, -0.5, 0.0, 0.7, 2.0])
Y = np.array([0.3, -2.0, 1.0, 0.5, -0.25])

ACCEPTED = [
    ("sin(x)", np.sin(X)),
    ("x^2", X**2),
    ("x**2", X**2),
    ("power(x, 2)", X**2),
    ("x^3 - x", X**3 - X),
    ("2^-x", 2.0**-X),
    ("-x^2", -(X**2)),
    ("abs(x)", np.abs(X)),
    ("exp(x)", np.exp(X)),
    ("log(x^2 + 1)", np.log(X**2 + 1)),
    ("sqrt(abs(x))", np.sqrt(np.abs(X))),
    ("tanh(x) + cos(x) * tan(x)", np.tanh(X) + np.cos(X) * np.tan(X)),
    ("sigmoid(x)", 1 / (1 + np.exp(-X))),
    ("sign(x)", np.sign(X)),
    ("floor(x)", np.floor(X)),
    ("min(x, 0.5)", np.minimum(X, 0.5)),
    ("max(x, 0)", np.maximum(X, 0)),
    ("where(x > 0, 1, -1)", np.where(X > 0, 1.0, -1.0)),
    ("where(x <= 0, x, 2*x)", np.where(X <= 0, X, 2 * X)),
    ("where(-1 < x < 1, 1, 0)", np.where((X > -1) & (X < 1), 1.0, 0.0)),
    (
        "where(x >= 0.7, 1, 0) + where(x == 0, 10, 0) + where(x != 2, 100, 0)",
        (X >= 0.7) * 1.0 + (X == 0) * 10.0 + (X != 2) * 100.0,
    ),
    ("(x > 0) * x", np.maximum(X, 0)),
    ("where(x > 0, log(x), 0)", np.log(X, out=np.zeros_like(X), where=X > 0)),
    ("pi * e", np.full_like(X, np.pi * np.e)),
    ("e^x", np.exp(X)),
    ("1e-3 * x + .5 - 2. + 3E2", 1e-3 * X + 0.5 - 2.0 + 300.0),
    ("-x + +x - -x", X),
    ("((x + 1) * (x - 1))", (X + 1) * (X - 1)),
    ("3", np.full_like(X, 3.0)),
    ("  sin(x)\t* 2 ", 2 * np.sin(X)),
    ("x / 4", X / 4),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED, ids=[t for t, _ in ACCEPTED])
def test_accepted_expression_matches_numpy(text, expected):
    result = compile_expression(text)(X)
    assert result.dtype == np.float64 and result.shape == X.shape
    assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


def test_surface_expression_uses_both_variables_and_broadcasts():
    f = compile_expression("sin(x) * cos(y) + x^2 - y^2", ("x", "y"))
    assert_allclose(f(X, Y), np.sin(X) * np.cos(Y) + X**2 - Y**2)
    assert f(X[:, None], Y).shape == (5, 5)


def test_constant_expression_is_broadcast_to_the_input_shape():
    grid = np.zeros((3, 4))
    result = compile_expression("2 * pi", ("x", "y"))(grid, grid)
    assert result.shape == (3, 4) and result.dtype == np.float64
    assert np.all(result == 2 * np.pi)


def test_result_is_a_fresh_array_not_the_input():
    result = compile_expression("x")(X)
    assert result is not X and not np.shares_memory(result, X)


REJECTED = [
    ("__import__('os').system('touch /tmp/x')", ["not allowed"], 1),
    ("().__class__.__bases__", ["attribute access", "not allowed"], 1),
    ("lambda: 0", ["lambda", "not allowed"], 1),
    ("x.real", ["attribute access"], 1),
    ("[x]", ["a list"], 1),
    ("x[0]", ["subscript"], 1),
    ("'a'", ["a string"], 1),
    ("f'{x}'", ["f-string"], 1),
    ("[i for i in x]", ["comprehension"], 1),
    ("(y := 1)", ["walrus"], 2),
    ("sin(*x)", ["starred"], 5),
    ("x if x > 0 else 0", ["where(c, a, b)"], 1),
    ("x > 0 and x < 1", ["and/or"], 1),
    ("x % 2", ["operator %"], 3),
    ("x // 2", ["floor(a / b)"], 3),
    ("1 < x in 1", ["operator in"], 7),
    ("~x", ["operator ~"], 1),
    ("True", ["True", "not allowed"], 1),
    ("9**9**9**9", ["9**9**9", "inf", "finite"], 4),
    ("x^9^9^9", ["9^9^9", "inf", "finite"], 3),
    ("1/0", ["1/0", "inf"], 1),
    ("sqrt(-1) + x", ["sqrt(-1)", "nan"], 1),
    ("1e999 * x", ["1e999", "too large"], 1),
    ("(" * 5000 + "x" + ")" * 5000, ["characters long", "at most 200"], None),
    ("(" * 40 + "x" + ")" * 40, ["nested more than"], 31),
    ("x" * 100_000, ["100000 characters", "at most 200"], None),
    ("-" * 150 + "x", ["too complex"], None),
    ("+".join(["x"] * 80), ["too complex", "parts"], None),
    ("2x", ["write 2*x"], 2),
    ("3pi", ["write 3*pi"], 2),
    ("2(x + 1)", ["write 2*("], 2),
    ("x y", ["side by side", "write *"], 3),
    ("os", ["unknown name 'os' at column 1", "did you mean"], 1),
    ("x + os", ["unknown name 'os' at column 5"], 5),
    ("x^2 + foo", ["unknown name 'foo' at column 7"], 7),
    ("x + qq", ["unknown name 'qq' at column 5", "the variables are x"], 5),
    ("Sin(x)", ["did you mean 'sin'"], 1),
    ("y", ["unknown name 'y'"], 1),
    ("sin(x, y)", ["sin", "takes 1 argument", "got 2"], 1),
    ("where(x, 1)", ["where", "takes 3 argument"], 1),
    ("sin(x=1)", ["keyword arguments", "not allowed"], 5),
    ("sin", ["is a function"], 1),
    ("x(2)", ["'x'", "is not a function"], 1),
    ("(x + 1)(x - 1)", ["is not a function", "write *"], 1),
    ("", ["empty"], None),
    ("   ", ["empty"], None),
    ("sin(x", ["syntax error", "never closed"], 4),
    ("x^", ["syntax error"], 3),
    ("x # comment", ["'#'"], 3),
    ("x²", ["write ^2"], 2),
    ("x\x00", ["not allowed"], 2),
]


@pytest.mark.parametrize(
    ("text", "fragments", "column"), REJECTED, ids=[t[:30] for t, *_ in REJECTED]
)
def test_rejected_expression_says_what_and_where(text, fragments, column):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert caught.value.column == column
    if column is not None:
        assert f"column {column}" in str(caught.value)


@pytest.mark.parametrize("text", [t for t, *_ in REJECTED], ids=[t[:30] for t, *_ in REJECTED])
def test_rejected_expression_message_is_short_and_lists_no_functions(text):
    # The whole language goes in describe_language(), behind "what can I type?"; a message
    # that listed it would bury the one thing that is wrong.
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    message = str(caught.value)
    assert len(message) <= 120, message
    listed = [name for name in ALLOWED_FUNCTIONS if f"{name}(" in message or f" {name}," in message]
    assert len(listed) <= 1, message


def test_describe_language_names_every_function_constant_and_variable():
    text = describe_language(("x", "y"))
    for name in [*ALLOWED_FUNCTIONS, *ALLOWED_CONSTANTS, "x", "y", "^"]:
        assert name in text
    assert "Example:" in text


def test_rejected_code_never_runs(tmp_path: Path):
    target = tmp_path / "pwned"
    with pytest.raises(ExpressionError):
        compile_expression(f"__import__('os').system('touch {target}')")
    assert not target.exists()


def test_huge_powers_are_refused_before_anything_is_computed():
    for text in ("9**9**9**9", "x**9**9**9", "2^2^2^2^2^2^2^2"):
        with pytest.raises(ExpressionError):
            compile_expression(text)  # refused at compile time: nothing is evaluated
    # a float power overflows to inf at once, and a value that is not finite is refused
    with pytest.raises(ExpressionError, match="not finite"):
        compile_expression("(x+9)^(9^99)")(X)


def test_log_on_a_domain_with_nonpositive_x_names_the_first_bad_point():
    f = compile_expression("log(x)")
    with pytest.raises(ExpressionError, match=r"log\(x\) is not finite at x = -1\.5"):
        f(X)
    with pytest.raises(ExpressionError, match="choose a domain where it is defined"):
        f(np.array([1.0, 0.0]))  # -inf, not only nan


def test_not_finite_surface_names_both_coordinates():
    f = compile_expression("sqrt(x * y)", ("x", "y"))
    with pytest.raises(ExpressionError, match=r"at x = 0\.5, y = -1 "):
        f(np.array([0.5, 0.5]), np.array([1.0, -1.0]))


def test_intermediate_overflow_that_ends_finite_is_fine():
    assert_allclose(compile_expression("1 / exp(x)")(np.array([1000.0])), [0.0])


def test_expression_object_keeps_text_and_variables_and_pickles():
    f = compile_expression("x^2 + y", ("x", "y"))
    assert isinstance(f, Expression) and f.text == "x^2 + y" and f.variables == ("x", "y")
    g = pickle.loads(pickle.dumps(f))
    assert g.text == f.text and g(2.0, 1.0) == 5.0


def test_wrong_number_of_arrays_is_a_type_error():
    with pytest.raises(TypeError, match="takes 1 arrays"):
        compile_expression("x")(X, X)


@pytest.mark.parametrize("variables", [("x", "x"), ("sin",), ("pi",), ("2x",), (3,)])
def test_invalid_variables_are_a_value_error(variables):
    with pytest.raises(ValueError, match="variable"):
        compile_expression("1", variables)


def test_non_text_is_an_expression_error():
    with pytest.raises(ExpressionError, match="must be text"):
        compile_expression(42)


def test_expression_error_is_a_value_error():
    assert issubclass(ExpressionError, ValueError)


def test_allowed_names_cover_the_documented_language():
    for name in ["abs", "exp", "log", "sqrt", "tanh", "sin", "cos", "tan", "sigmoid", "sign",
                 "floor", "min", "max", "power", "where"]:  # fmt: skip
        assert name in ALLOWED_FUNCTIONS
    assert ALLOWED_CONSTANTS == {"pi": np.pi, "e": np.e}


def test_module_never_calls_eval_exec_or_compile():
    tree = ast.parse(Path(bpnet.expr.__file__).read_text())
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name)}  # fmt: skip
    assert not called & {"eval", "exec", "compile", "__import__"}


# --- property: any text compiles to a finite function or raises ExpressionError ----------

TOKENS = ["x", "y", "1", "2.5", ".5", "1e3", "1e308", "0", "9", "pi", "e", "(", ")", ",", "+",
          "-", "*", "/", "^", "**", "<", ">=", "==", " ", "sin", "log", "sqrt", "exp", "where",
          "max", "power", "abs", "floor", "tan", ".", "'", "[", "]", "_", "__class__", "lambda",
          ":", "=", "if", "else", "os", "j", "%", "@", "#", "\\", "²"]  # fmt: skip
_leaf = st.sampled_from(["x", "pi", "e", "2", "0.5", "1e-3", "3", "0", "1e200"])


def _grammar(children):
    unary = st.tuples(st.sampled_from(["-", "+", "sin", "exp", "log", "sqrt", "abs", "tanh",
                                       "sigmoid", "floor", "sign", "tan", "cos"]), children)  # fmt: skip
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "^", "**", "<", "!="]),
                       children)  # fmt: skip
    return st.one_of(
        unary.map(lambda t: f"{t[0]}({t[1]})"),
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, children, children).map(lambda t: "where({}, {}, {})".format(*t)),
        st.tuples(children, children).map(lambda t: "max({}, {})".format(*t)),
    )


TEXTS = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(TOKENS), max_size=30).map("".join),
    st.recursive(_leaf, _grammar, max_leaves=12),
)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_any_text_compiles_to_a_finite_function_or_raises_expression_error(text):
    grid = np.linspace(-3, 3, 7)
    try:
        result = compile_expression(text)(grid)
    except ExpressionError:
        return
    assert result.dtype == np.float64 and result.shape == grid.shape
    assert np.all(np.isfinite(result))
