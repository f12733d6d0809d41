"""The automatic backward of a module whose forward calls its children one after another.

While such a module (``Sequential``, or a custom Module that writes no ``backward``) runs
forward, each child call is written down; backward then runs the children's backward
passes in reverse order, the chain rule one module at a time. A child called twice (one
``nn.ReLU()`` after every layer) gets a copy of what its first call kept, put back before
that call's backward.
"""

from __future__ import annotations

from ..errors import GraphError
from .parameter import Parameter


class Call:
    """One child call during a forward: the child, and while the forward runs its input and
    output (to check that the calls form a chain), then what the child kept, if the child
    was called again later in the same forward (``snapshot``)."""

    __slots__ = ("args", "module", "output", "snapshot")

    def __init__(self, module, args, output):
        self.module = module
        self.args = args
        self.output = output
        self.snapshot = None


# bookkeeping that stays with the module: the rest of its private state is what backward needs
_NOT_SAVED = frozenset({"_pass_id", "_last_call"})


def snapshot(module) -> list[tuple[object, dict]]:
    """What ``module`` and everything inside it kept for backward (their private attributes)."""
    return [
        (m, {k: v for k, v in vars(m).items() if k[0] == "_" and k not in _NOT_SAVED})
        for m in module.modules()
    ]


def restore(saved: list[tuple[object, dict]]) -> None:
    for module, state in saved:
        vars(module).update(state)


def chain_problem(owner, args: tuple, output, calls: list[Call]) -> str | None:
    """Why ``owner``'s recorded calls are not a chain ``output = c_n(…c_1(args[0]))``, or None.

    Called at the end of each forward; the message is raised only if backward is asked for,
    so a module that is never trained may compute anything.
    """
    name = type(owner).__name__
    advice = (
        f"The automatic backward of {name} handles a forward that passes one array through "
        f"its submodules one after another (return self.fc2(self.relu(self.fc1(x)))); for "
        f"anything else, write {name}.backward(self, grad, input_grad=False) yourself."
    )
    if not calls:
        if output is (args[0] if len(args) == 1 else None):
            return None  # an empty chain: the identity
        return f"{name}.forward called no submodule, so there is nothing to run backward. " + advice
    previous = args[0] if len(args) == 1 else None
    for index, call in enumerate(calls):
        child = type(call.module).__name__
        if len(call.args) != 1:
            return f"{name}.forward called {child} with {len(call.args)} arguments. " + advice
        if index > 0 and call.args[0] is not previous:
            return (
                f"{name}.forward gave {child} something other than the output of the submodule "
                f"called just before it (an output used twice, or computed on with numpy). "
                + advice
            )
        previous = call.output
    if output is not previous:
        return (
            f"{name}.forward returned something other than the output of its last submodule "
            f"call ({type(calls[-1].module).__name__}). " + advice
        )
    return None


def first_input_problem(owner, args: tuple, calls: list[Call]) -> str | None:
    """Why dL/d(input) cannot be given (the first child did not get the forward's input)."""
    if not calls or (len(args) == 1 and calls[0].args[0] is args[0]):
        return None
    return (
        f"{type(owner).__name__}.forward changed its input before the first submodule call, so "
        f"backward(grad, input_grad=True) cannot give the gradient for that input; do the change "
        f"in a module (nn.Flatten()) or call backward with input_grad=False."
    )


def run_backward(owner, grad, input_grad: bool):
    """Backpropagate ``grad`` through ``owner``'s recorded calls, last to first.

    With ``input_grad=False`` the calls before the first child with a trainable parameter
    are skipped and that child is told it need not compute its input gradient.
    """
    calls = owner._calls
    if calls is None:
        raise GraphError(f"{type(owner).__name__}: call forward() before backward()")
    if owner._chain_problem is not None:
        raise GraphError(owner._chain_problem)
    if input_grad and owner._input_problem is not None:
        raise GraphError(owner._input_problem)
    first = 0
    if not input_grad:
        # the first trainable child is almost always the first call: a short walk
        first = next((i for i, c in enumerate(calls) if has_trainable(c.module)), len(calls))
    for index in range(len(calls) - 1, first - 1, -1):
        call = calls[index]
        if call.snapshot is not None:
            restore(call.snapshot)
        child = call.module
        wanted = input_grad or index > first
        if child._backward_takes_input_grad:
            grad = child.backward(grad, input_grad=wanted)
        else:  # a layer written with backward(self, grad): always computes it
            grad = child.backward(grad)
    return grad if input_grad else None


def has_trainable(module) -> bool:
    """Whether ``module`` or a module inside it has a parameter that requires grad."""
    for name, value in vars(module).items():
        if isinstance(value, Parameter) and value.requires_grad and name[0] != "_":
            return True
    return any(has_trainable(child) for _, child in module.named_children())
