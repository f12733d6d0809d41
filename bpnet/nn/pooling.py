"""Max and average pooling: shrink each channel of an image by summarising small windows.

Both loop over the kernel's offsets, never over pixels: for a 2×2 window the four strided
views "top-left of every window", "top-right of every window", … are combined elementwise.
"""

from __future__ import annotations

import numpy as np

from .conv import _batch_last_full, _output_size, _pair, _windows
from .module import Module


class _Pool2d(Module):
    """What both pooling layers share: the window arguments, the input checks, the padding."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _pair(kernel_size, name, "kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else _pair(stride, name, "stride", 1)
        self.padding = _pair(padding, name, "padding", minimum=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            # a window made only of padding would have no value to pool (PyTorch's rule too)
            raise ValueError(
                f"{name} padding must be at most half the kernel size, got padding="
                f"{self.padding} for kernel_size={self.kernel_size}"
            )

    def _prepare(self, x: np.ndarray, fill: float) -> np.ndarray:
        """Check ``x``, remember its shape, and return it batched and padded with ``fill``."""
        x = np.asarray(x)
        if x.ndim not in (3, 4):
            raise ValueError(
                f"{self!r} expected input of shape (N, C, H, W) or (C, H, W), got shape {x.shape}"
            )
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        self._unbatched = x.ndim == 3
        x = x[None] if self._unbatched else x
        self._input_shape = x.shape
        self._out_size = _output_size(self, x.shape)
        (ph, pw), (n, c, h, w) = self.padding, x.shape
        if not (ph or pw):
            return x
        padded = _batch_last_full((n, c, h + 2 * ph, w + 2 * pw), fill, x.dtype)
        padded[:, :, ph : ph + h, pw : pw + w] = x
        return padded

    def _views(self, padded: np.ndarray) -> list[np.ndarray]:
        """The strided (N, C, H_out, W_out) view of ``padded`` per kernel offset, row-major."""
        windows = _windows(padded, self.kernel_size, self.stride, self._out_size, height_axis=2)
        return [view for _, _, view in windows]

    def _check_grad(self, grad: np.ndarray) -> np.ndarray:
        n, c = self._input_shape[:2]
        expected = (n, c, *self._out_size)
        if grad.shape != (expected[1:] if self._unbatched else expected):
            raise ValueError(
                f"{self!r} backward expected a gradient of shape "
                f"{expected[1:] if self._unbatched else expected}, got {grad.shape}"
            )
        grad = grad.reshape(expected)
        if not grad.transpose(1, 2, 3, 0).flags.c_contiguous:
            # into the batch-last layout of the arrays it meets below (a Flatten hands back
            # (N, C, H, W) order): mixed layouts make numpy walk them in short rows, 3x slower
            grad = np.ascontiguousarray(grad.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
        return grad

    def _finish(self, padded_grad: np.ndarray) -> np.ndarray:
        """Strip the padding from dL/d(padded input) and undo the added batch axis."""
        (ph, pw), (h, w) = self.padding, self._input_shape[2:]
        input_grad = padded_grad[:, :, ph : ph + h, pw : pw + w]
        return input_grad[0] if self._unbatched else input_grad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """``y[n, c, h, w] = max of x[n, c, s*h + i, s*w + j]`` over the window offsets (i, j).

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), or unbatched (C, H, W) -> (C, H_out, W_out),
    with ``H_out = (H + 2 * padding - kernel_h) // stride + 1``; ``stride`` defaults to the
    kernel size (windows side by side). Padding counts as -inf, so it is never the maximum.

    Backward: the whole gradient of a window goes to the input where its maximum was, the
    other inputs of the window get none. When a window holds its maximum more than once (a
    tie, such as a 2×2 block of zeros after ReLU), the first in row-major order (top-left
    first) gets it: PyTorch's rule. A NaN makes the output NaN, but its gradient is dropped
    (PyTorch sends it to the NaN).

    Examples:
        >>> MaxPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """

    _padded = None  # the (padded) input, kept for backward with the output _y

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._padded = padded = self._prepare(x, fill=-np.inf)  # kept for backward
        views = self._views(padded)
        y = views[0].copy(order="K")  # keeps the input's memory layout
        for view in views[1:]:
            np.maximum(y, view, out=y)
        self._y = y
        return y[0] if self._unbatched else y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx at the first maximum of each window is that window's dL/dy, elsewhere 0
        (None with ``input_grad=False``: the layer has no parameters)."""
        padded, y = self._saved(self._padded), self._y
        grad = self._check_grad(grad)
        if not input_grad:
            return None
        padded_grad = _batch_last_full(padded.shape, 0, grad.dtype)
        not_yet_routed = None  # windows whose maximum an earlier offset already took
        for view, target in zip(self._views(padded), self._views(padded_grad)):
            is_max = view == y
            if not_yet_routed is None:
                not_yet_routed = ~is_max
            else:
                is_max &= not_yet_routed
                not_yet_routed ^= is_max
            if self.stride == self.kernel_size:  # windows do not overlap: each input once
                np.multiply(grad, is_max, out=target)
            else:
                target += grad * is_max
        return self._finish(padded_grad)


class AvgPool2d(_Pool2d):
    """``y[n, c, h, w] = mean of x[n, c, s*h + i, s*w + j]`` over the window offsets (i, j).

    Shape: as ``MaxPool2d``. Padding counts as zeros in the mean, always divided by
    kernel_h * kernel_w (PyTorch's default ``count_include_pad=True``).

    Backward: every input of a window receives dL/dy / (kernel_h * kernel_w); an input in
    several windows adds up what each sends.
    """

    _padded_shape = None  # kept for backward

    def forward(self, x: np.ndarray) -> np.ndarray:
        padded = self._prepare(x, fill=0.0)
        views = self._views(padded)
        y = views[0].copy(order="K")  # keeps the input's memory layout
        for view in views[1:]:
            y += view
        y /= self.kernel_size[0] * self.kernel_size[1]
        self._padded_shape = padded.shape
        return y[0] if self._unbatched else y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx adds dL/dy / (kernel_h * kernel_w) from every window the input is in
        (None with ``input_grad=False``: the layer has no parameters)."""
        padded_shape = self._saved(self._padded_shape)
        grad = self._check_grad(grad) / (self.kernel_size[0] * self.kernel_size[1])
        if not input_grad:
            return None
        padded_grad = _batch_last_full(padded_shape, 0, grad.dtype)
        for target in self._views(padded_grad):
            target += grad
        return self._finish(padded_grad)
