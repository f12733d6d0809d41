"""A small, safe expression language for the functions a learner asks the network to fit.

Text such as ``sin(x)``, ``x^2 - y^2`` or ``where(x > 0, 1, -1)`` is parsed with Python's ``ast``
(after ``^`` becomes ``**``), every node is checked against a whitelist, and the tree is compiled
once into small closures over numpy functions; nothing is ever handed to ``eval``. Every problem
raises ``ExpressionError`` saying what is wrong, at which 1-based column, and what is allowed.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
import warnings
from collections.abc import Callable

import numpy as np

from bpnet.errors import ExpressionError

MAX_LENGTH = 200  # characters
MAX_NESTING = 30  # brackets deep; scanned in the text before ast.parse can recurse
MAX_NODES = 150  # numbers, names, operators and calls
MAX_DEPTH = 50  # levels of the parsed tree, so compiling and evaluating never recurse deeply


def _sigmoid(z):
    # 1 / (1 + exp(-z)) written with tanh, which never overflows.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _where(condition, if_true, if_false):
    return np.where(condition != 0, if_true, if_false)


# name -> (number of arguments, numpy implementation, usage shown in messages and docs)
_FUNCTIONS = {
    "abs": (1, np.abs, "abs(a): |a|"),
    "exp": (1, np.exp, "exp(a): e^a"),
    "log": (1, np.log, "log(a): natural logarithm, a > 0"),
    "sqrt": (1, np.sqrt, "sqrt(a): square root, a >= 0"),
    "sin": (1, np.sin, "sin(a)"),
    "cos": (1, np.cos, "cos(a)"),
    "tan": (1, np.tan, "tan(a)"),
    "tanh": (1, np.tanh, "tanh(a)"),
    "sigmoid": (1, _sigmoid, "sigmoid(a): 1 / (1 + e^-a)"),
    "sign": (1, np.sign, "sign(a): -1, 0 or 1"),
    "floor": (1, np.floor, "floor(a): largest integer <= a"),
    "min": (2, np.minimum, "min(a, b): the smaller, point by point"),
    "max": (2, np.maximum, "max(a, b): the larger, point by point"),
    "power": (2, np.power, "power(a, b): a^b"),
    "where": (3, _where, "where(cond, a, b): a where cond holds, else b"),
}
ALLOWED_FUNCTIONS: dict[str, str] = {name: spec[2] for name, spec in _FUNCTIONS.items()}
ALLOWED_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
           ast.Div: np.true_divide, ast.Pow: np.power}  # fmt: skip
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}
_COMPARE = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater,
            ast.GtE: np.greater_equal, ast.Eq: np.equal, ast.NotEq: np.not_equal}  # fmt: skip
_OPERATOR_SYMBOLS = {ast.Mod: "%", ast.FloorDiv: "// (use floor(a / b))", ast.MatMult: "@",
                     ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>",
                     ast.Invert: "~", ast.Not: "not", ast.Is: "is", ast.IsNot: "is not",
                     ast.In: "in", ast.NotIn: "not in"}  # fmt: skip
_FORBIDDEN = {ast.Attribute: "attribute access with '.'", ast.Subscript: "a subscript with []",
              ast.Lambda: "lambda", ast.List: "a list", ast.Tuple: "a comma outside a call",
              ast.Set: "a set", ast.Dict: "a dict", ast.ListComp: "a comprehension",
              ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
              ast.GeneratorExp: "a comprehension", ast.JoinedStr: "an f-string",
              ast.NamedExpr: "':=' (walrus)", ast.Starred: "a starred argument (*)",
              ast.IfExp: "'a if c else b' (use where(c, a, b))", ast.Await: "await",
              ast.BoolOp: "and/or (use where(...) or a chain such as 0 < x < 1)"}  # fmt: skip
_UNICODE_HINTS = {"²": "write ^2", "³": "write ^3", "×": "write *", "·": "write *",
                  "÷": "write /", "−": "write -", "π": "write pi",
                  "√": "write sqrt(...)"}  # fmt: skip
_EXAMPLES = {1: "sin(x)", 2: "sin(x)*cos(y)"}  # by number of variables
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def describe_language(variables: tuple[str, ...] = ("x",)) -> str:
    """What a formula may contain, in one paragraph: the help behind "what can I type?".

    Error messages stay short and leave this list out; the pages and the CLI's help show it.
    """
    return (
        f"Numbers, {', '.join(variables + tuple(ALLOWED_CONSTANTS))}; + - * / and ^ for powers; "
        f"comparisons < <= > >= == != (1 where true, else 0); and the functions "
        f"{'; '.join(ALLOWED_FUNCTIONS.values())}. Example: sin(3*x) / (1 + x^2)."
    )


class Expression:
    """A compiled expression: a vectorised float64 function of its variables.

    Shape: each input broadcastable to one shape S -> result (S) float64; a constant expression
    is broadcast to S. Raises ``ExpressionError`` naming the first point where the value is not
    finite.
    """

    def __init__(self, text: str, variables: tuple[str, ...], function):
        self.text = text
        self.variables = variables
        self._function = function  # env dict {name: array} -> array or float

    def __call__(self, *arrays) -> np.ndarray:
        if len(arrays) != len(self.variables):
            raise TypeError(f"{self!r} takes {len(self.variables)} arrays, got {len(arrays)}")
        inputs = [np.asarray(array, dtype=np.float64) for array in arrays]
        shape = np.broadcast_shapes(*(array.shape for array in inputs))
        with np.errstate(all="ignore"):  # overflow and nan are caught below, with the point
            raw = self._function(dict(zip(self.variables, inputs, strict=True)))
        result = np.array(np.broadcast_to(raw, shape), dtype=np.float64)
        bad = ~np.isfinite(result)
        if bad.any():
            index = tuple(np.argwhere(bad)[0])
            point = ", ".join(
                f"{name} = {np.broadcast_to(array, shape)[index]:.6g}"
                for name, array in zip(self.variables, inputs, strict=True)
            )
            raise ExpressionError(
                f"{self.text.strip()} is not finite at {point} (value {result[index]}); "
                "choose a domain where it is defined"
            )
        return result

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, variables={self.variables!r})"

    def __reduce__(self):
        # Closures cannot be pickled or deep-copied; the text and variables rebuild them.
        return compile_expression, (self.text, self.variables)


def compile_expression(text: str, variables: tuple[str, ...] = ("x",)) -> Expression:
    """Parse, check and compile ``text`` into an ``Expression`` of ``variables``.

    Raises ``ExpressionError`` with the column and what is allowed when the text is not a valid
    expression; raises ``ValueError`` when ``variables`` themselves are invalid.

    Example:
        >>> compile_expression("x^2 + 1")(np.array([0.0, 2.0]))
        array([1., 5.])
    """
    variables = tuple(variables)
    for name in variables:
        if not (isinstance(name, str) and name.isidentifier() and name.isascii()):
            raise ValueError(f"variables must be identifiers, got {variables!r}")
        if name in _FUNCTIONS or name in ALLOWED_CONSTANTS or variables.count(name) > 1:
            raise ValueError(f"variable name {name!r} is repeated or clashes with a built-in")
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    source, origin = _prepare(text, variables)
    tree = _parse(source, origin, variables)
    function = _Compiler(text, source, origin, variables).compile(tree.body)
    if isinstance(function, float):
        function = _constant_getter(function)
    return Expression(text, variables, function)


def _prepare(text: str, variables: tuple[str, ...]) -> tuple[str, list[int]]:
    """Check the raw text; return it with ``^`` spelled ``**`` and, per character, its column."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long; at most {MAX_LENGTH}")
    if not text.strip():
        raise ExpressionError(
            f"empty expression; type a formula such as {_EXAMPLES[len(variables)]}"
        )
    depth = 0
    for i, char in enumerate(text):
        if not (" " <= char <= "~" or char in "\t\n\r"):
            hint = _UNICODE_HINTS.get(char, "use plain ASCII characters")
            raise ExpressionError(
                f"character {char!r} at column {i + 1} is not allowed; {hint}", i + 1
            )
        if char in "#\\":  # a comment or a line continuation would hide part of the text
            raise ExpressionError(f"character {char!r} at column {i + 1} is not allowed", i + 1)
        depth += (char in "([{") - (char in ")]}" and depth > 0)
        if depth > MAX_NESTING:
            raise ExpressionError(
                f"brackets nested more than {MAX_NESTING} deep at column {i + 1}", i + 1
            )
    _reject_implicit_multiplication(text)
    source, origin = [], []
    indent = len(text) - len(text.lstrip())  # ast.parse would reject leading spaces as an indent
    for i, char in enumerate(text[indent:], start=indent):
        piece = "**" if char == "^" else " " if char in "\t\n\r" else char
        source.append(piece)
        origin.extend([i] * len(piece))
    return "".join(source), origin


def _reject_implicit_multiplication(text: str) -> None:
    """``2x``, ``3pi`` and ``2(x+1)`` mean a product to a learner; say so instead of guessing."""
    i = 0
    while i < len(text):
        if text[i].isalpha() or text[i] == "_":
            while i < len(text) and (text[i].isalnum() or text[i] == "_"):
                i += 1  # digits inside a name (x2, log10) are not numbers
        elif (match := _NUMBER.match(text, i)) is not None:
            i = match.end()
            if i < len(text) and (text[i].isalpha() or text[i] == "("):
                follower = re.match(r"[A-Za-z]\w*|\(", text[i:]).group()
                raise ExpressionError(
                    f"a number followed by '{follower}' at column {i + 1}: "
                    f"write {match.group()}*{follower} for multiplication",
                    i + 1,
                )
        else:
            i += 1


def _parse(source: str, origin: list[int], variables: tuple[str, ...]) -> ast.Expression:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "'int' object is not callable"; we say it better
            tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        offset = (error.offset or 0) - 1  # 0 or less when the text ends too early
        column = origin[offset] + 1 if 0 <= offset < len(origin) else origin[-1] + 2
        message = error.msg
        before, after = source[: max(offset, 0)].rstrip(), source[max(offset, 0) :]
        ends_value = before[-1:].isalnum() or before[-1:] in ("_", ".", ")")
        starts_value = after[:1].isalnum() or after[:1] in ("_", "(")
        if message.startswith("invalid syntax") and ends_value and starts_value:
            message = "two values side by side (write * to multiply)"
        raise ExpressionError(f"syntax error at column {column}: {message}", column) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("expression is too complex to parse") from None
    nodes = depth = 0
    stack = [(tree.body, 1)]
    while stack:  # iterative, so a deep tree cannot overflow the stack here
        node, level = stack.pop()
        if isinstance(node, ast.expr):  # operators and contexts are not parts of their own
            nodes, depth = nodes + 1, max(depth, level)
        level += isinstance(node, ast.expr)
        stack.extend((child, level) for child in ast.iter_child_nodes(node))
    if nodes > MAX_NODES or depth > MAX_DEPTH:
        raise ExpressionError(
            f"expression is too complex ({nodes} parts, {depth} levels deep); "
            f"at most {MAX_NODES} parts and {MAX_DEPTH} levels"
        )
    return tree


class _Compiler:
    """Turns a checked ``ast`` tree into a float (constant) or a closure ``env -> array``."""

    def __init__(self, text: str, source: str, origin: list[int], variables: tuple[str, ...]):
        self.text, self.source, self.origin, self.variables = text, source, origin, variables

    def error(self, node: ast.AST, what: str, rest: str, offset=None) -> ExpressionError:
        """``{what} at column N{rest}``, N where ``node`` (or ``offset`` in the source) starts."""
        column = self.origin[node.col_offset if offset is None else offset] + 1
        return ExpressionError(f"{what} at column {column}{rest}", column)

    def segment(self, node: ast.AST) -> str:
        return self.text[self.origin[node.col_offset] : self.origin[node.end_col_offset - 1] + 1]

    def compile(self, node: ast.AST) -> float | Callable:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return self.apply(_UNARY[type(node.op)], [node.operand], node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self.apply(_BINARY[type(node.op)], [node.left, node.right], node)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            return self.apply(_chain([_COMPARE[type(op)] for op in node.ops]),
                              [node.left, *node.comparators], node)  # fmt: skip
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.reject(node)

    def reject(self, node: ast.AST) -> ExpressionError:
        """The error for a node outside the whitelist, naming what it is."""
        allowed = " is not allowed"
        if isinstance(node, ast.BinOp | ast.Compare):
            # Point at the operator itself: the first one not allowed, between its two operands.
            if isinstance(node, ast.BinOp):
                operands, ops = [node.left, node.right], [node.op]
            else:
                operands, ops = [node.left, *node.comparators], node.ops
            i = next(i for i, op in enumerate(ops) if type(op) not in _BINARY | _COMPARE)
            start, end = operands[i].end_col_offset, operands[i + 1].col_offset
            gap = self.source[start:end]
            offset = start + len(gap) - len(gap.lstrip(" )"))
            return self.error(
                node, f"the operator {_OPERATOR_SYMBOLS[type(ops[i])]}", allowed, offset
            )
        if isinstance(node, ast.UnaryOp):
            return self.error(node, f"the operator {_OPERATOR_SYMBOLS[type(node.op)]}", allowed)
        return self.error(node, _FORBIDDEN.get(type(node), type(node).__name__), allowed)

    def constant(self, node: ast.Constant) -> float:
        value = node.value
        if type(value) not in (int, float):  # bool is an int, but True is not a number here
            what = "a string" if isinstance(value, str | bytes) else repr(value)
            raise self.error(node, what, " is not allowed; numbers are the only constants")
        number = float(value)  # at most 200 digits, so never an OverflowError
        if not math.isfinite(number):
            raise self.error(node, f"the number {self.segment(node)}", " is too large")
        return number

    def name(self, node: ast.Name) -> float | Callable:
        if node.id in self.variables:
            return lambda env: env[node.id]
        if node.id in ALLOWED_CONSTANTS:
            return ALLOWED_CONSTANTS[node.id]
        if node.id in _FUNCTIONS:
            raise self.error(node, f"'{node.id}'", f" is a function; call it, e.g. {node.id}(x)")
        raise self.error(node, f"unknown name '{node.id}'", _known(node.id, self.variables))

    def call(self, node: ast.Call) -> float | Callable:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name is None:
            self.compile(node.func)  # a forbidden callee such as an attribute is named as such
            raise self.error(
                node, self.segment(node.func), " is not a function; write * to multiply"
            )
        if name not in _FUNCTIONS:
            if name in self.variables or name in ALLOWED_CONSTANTS:
                raise self.error(node, f"'{name}'", " is not a function; write * to multiply")
            raise self.error(node, f"unknown name '{name}'", _known(name, self.variables))
        arity, function, usage = _FUNCTIONS[name]
        if node.keywords:
            raise self.error(
                node.keywords[0], "keyword arguments", f" are not allowed; use {usage}"
            )
        if len(node.args) != arity:
            got = f" takes {arity} argument(s), got {len(node.args)}; use {usage}"
            raise self.error(node, name, got)
        return self.apply(function, node.args, node)

    def apply(self, function, children: list[ast.AST], node: ast.AST) -> float | Callable:
        parts = [self.compile(child) for child in children]
        if all(isinstance(part, float) for part in parts):
            # Fold constants once, in float64, so 9^9^9^9 is inf at once instead of a huge int.
            with np.errstate(all="ignore"):
                value = float(function(*parts))
            if not math.isfinite(value):
                rest = f" is {value}, not a finite number; every constant part must be finite"
                raise self.error(node, self.segment(node), rest)
            return value
        getters = [part if callable(part) else _constant_getter(part) for part in parts]
        return lambda env: function(*[getter(env) for getter in getters])


def _constant_getter(value: float) -> Callable:
    return lambda env: value


def _chain(comparisons: list[Callable]) -> Callable:
    """``a < b <= c`` as 1.0 where every comparison holds, else 0.0."""

    def compare(*values):
        result = comparisons[0](values[0], values[1])
        for comparison, left, right in zip(comparisons[1:], values[1:-1], values[2:], strict=True):
            result = np.logical_and(result, comparison(left, right))
        return np.asarray(result, dtype=np.float64)

    return compare


def _known(name: str, variables: tuple[str, ...]) -> str:
    """The tail of an unknown-name message: a close match, else the variables to use."""
    known = [*variables, *ALLOWED_CONSTANTS, *ALLOWED_FUNCTIONS]
    close = difflib.get_close_matches(name.lower(), known, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; the variables are {' and '.join(variables)}"
