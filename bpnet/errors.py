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
