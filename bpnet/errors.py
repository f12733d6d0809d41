"""The project's own exception types.

Every error a learner can cause by typing something (an expression, a config field)
raises one of these, with a message that says what is wrong and what is allowed.
They subclass ``ValueError`` so generic handlers still catch them.
"""

from __future__ import annotations


class BpnetError(Exception):
    """Base class of bpnet's own errors."""


class ExpressionError(BpnetError, ValueError):
    """A typed expression cannot be used.

    Attributes:
        column: 1-based column of the problem in the text, or None when it is not about one spot.
    """

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.column = column

    def __reduce__(self):  # picklable: class mode sends it from a worker to the web process
        return (type(self), (str(self), self.column))


class ConfigError(BpnetError, ValueError):
    """A training config field is invalid.

    Attributes:
        field: the name of the offending field (dotted for nested ones, e.g. ``hidden.2``),
            or None when the problem is the config as a whole (e.g. not an object).
        message: a sentence that names the field, says what is wrong and what is allowed.
    """

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message

    def __reduce__(self):  # picklable: class mode sends it from a worker to the web process
        return (type(self), (self.field, self.message))


class GraphError(BpnetError, RuntimeError):
    """``backward`` cannot give the right gradient for what ``forward`` did (a module reused
    where its calls cannot be told apart, a gradient of an earlier forward, a backward before
    any forward). A ``RuntimeError``, as PyTorch's autograd raises."""


class StateDictError(BpnetError, RuntimeError, KeyError, ValueError):
    """A state dict does not fit: missing or unexpected keys, a shape mismatch, not a dict.

    A ``RuntimeError`` as in PyTorch; also a ``KeyError``/``ValueError`` for code written
    against bpnet's earlier errors."""

    __str__ = BpnetError.__str__  # KeyError's would put the message in quotes
