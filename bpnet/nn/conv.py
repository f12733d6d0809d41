"""2-D convolution, written as one matrix product over image patches (im2col).

Every output pixel of a convolution is a dot product between the kernel and the patch of the
input under it. Copying all patches into the columns of one matrix turns the whole layer into
a single matrix product, and its backward into two more, plus adding the patch gradients back
where they came from (col2im).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..random import default_generator
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """Cross-correlation ``y[n, o] = b[o] + sum_c sum_ij W[o, c, i, j] x[n, c, s*h + i, s*w + j]``
    (what PyTorch and every deep-learning library calls convolution).

    Shape: x (N, C_in, H, W) -> y (N, C_out, H_out, W_out), or unbatched (C_in, H, W) ->
    (C_out, H_out, W_out), with ``H_out = (H + 2 * padding - kernel_h) // stride + 1``
    (the same for widths). Weight (C_out, C_in, kernel_h, kernel_w), bias (C_out,), both drawn
    from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = C_in * kernel_h * kernel_w``
    (PyTorch's default init).

    How it computes, with K = C_in * kernel_h * kernel_w and P = N * H_out * W_out:

    - forward: ``cols`` (K, P) holds one input patch per column (im2col, P ordered
      (H_out, W_out, N)); then
      ``y = W.reshape(C_out, K) @ cols + b``, (C_out, P), viewed as (N, C_out, H_out, W_out).
    - backward, given ``g`` = dL/dy as (C_out, P): ``dL/dW = g @ cols.T`` (C_out, K),
      ``dL/db = g.sum(over P)``, and ``dL/dcols = W.T @ g`` (K, P), whose columns are added
      back onto the input positions they were copied from (col2im) to give dL/dx.

    Images are laid out batch last in memory, (C, H, W, N), and handed out as (N, C, H, W)
    views: the products then read and write them without transposed copies, and each kernel
    offset's window is a long contiguous run (W_out * N numbers), which makes im2col and
    col2im several times faster than in the (N, C, H, W) layout. A caller sees ordinary
    (N, C, H, W) arrays.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: an int for a square kernel, or ``(kernel_h, kernel_w)``.
        stride: step between windows, an int or ``(stride_h, stride_w)``.
        padding: zeros added on each side, an int or ``(pad_h, pad_w)``.
        bias: whether to add a learnable bias per output channel.
        dtype: parameter dtype (float32 by default; inputs are cast to it).
        generator: a ``numpy.random.Generator`` for the initial weights; default: bpnet's
            seeded generator (see ``bpnet.manual_seed``).

    Examples:
        >>> conv = Conv2d(1, 8, 5, padding=2)
        >>> conv(np.zeros((64, 1, 28, 28))).shape
        (64, 8, 28, 28)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        dtype=np.float32,
        generator: np.random.Generator | None = None,
    ):
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(
                f"Conv2d needs positive channel counts, got in_channels={in_channels}, "
                f"out_channels={out_channels}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size, "Conv2d", "kernel_size", minimum=1)
        self.stride = _pair(stride, "Conv2d", "stride", minimum=1)
        self.padding = _pair(padding, "Conv2d", "padding", minimum=0)
        rng = generator or default_generator()
        bound = 1.0 / math.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
        shape = (out_channels, in_channels, *self.kernel_size)
        self.weight = Parameter(rng.uniform(-bound, bound, shape).astype(dtype))
        self.bias = (
            Parameter(rng.uniform(-bound, bound, out_channels).astype(dtype)) if bias else None
        )

    _cols = None  # the input patches, kept for backward

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=self.weight.data.dtype)  # no copy when the dtype already matches
        if x.ndim not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ValueError(
                f"{self!r} expected input of shape (N, {self.in_channels}, H, W) or "
                f"({self.in_channels}, H, W), got shape {x.shape}"
            )
        self._unbatched = x.ndim == 3
        if self._unbatched:
            x = x[None]
        out_h, out_w = _output_size(self, x.shape)
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        # the input in the batch-last layout (C, H + 2ph, W + 2pw, N), padded with zeros
        if ph or pw:
            padded = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
            padded[:, ph : ph + h, pw : pw + w] = x.transpose(1, 2, 3, 0)
        else:
            padded = x.transpose(1, 2, 3, 0)  # a view: free when x came from a Conv2d
        # im2col: cols[c, i, j, oh, ow, n] = padded[c, s*oh + i, s*ow + j, n], one copy of a
        # view that has every window (K rows of P columns once reshaped)
        windows = sliding_window_view(padded, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
        cols = np.empty((c, kh, kw, out_h, out_w, n), dtype=x.dtype)
        np.copyto(cols, windows.transpose(0, 4, 5, 1, 2, 3))
        self._cols = cols.reshape(c * kh * kw, out_h * out_w * n)  # (K, P), kept for backward
        self._input_shape = x.shape
        y = self.weight.data.reshape(self.out_channels, -1) @ self._cols  # (C_out, P)
        if self.bias is not None:
            y += self.bias.data[:, None]
        y = y.reshape(self.out_channels, out_h, out_w, n).transpose(3, 0, 1, 2)
        return y[0] if self._unbatched else y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dL/dW += g @ cols.T, dL/db += g summed over P; returns dL/dx by col2im of W.T @ g
        (None with ``input_grad=False``). Frozen parameters (requires_grad False) get none.

        ``grad`` is dL/dy, shaped like the output; see the class docstring for the shapes.
        """
        cols = self._saved(self._cols)
        n, c, h, w = self._input_shape
        out_shape = (n, self.out_channels, *_output_size(self, self._input_shape))
        expected = out_shape[1:] if self._unbatched else out_shape
        if grad.shape != expected:
            raise ValueError(
                f"{self!r} backward expected a gradient of shape {expected}, got {grad.shape}"
            )
        grad = grad.reshape(out_shape)
        # (C_out, P); free of copies when grad is batch-last in memory, as this layer's own
        # output is and what ReLU and the pooling layers hand back for it
        g = grad.transpose(1, 2, 3, 0).reshape(self.out_channels, -1)
        weight, bias = self.weight, self.bias
        if weight.requires_grad:
            weight.accumulate_grad((g @ cols.T).reshape(weight.shape))
        if bias is not None and bias.requires_grad:
            bias.accumulate_grad(g.sum(axis=1))
        if not input_grad:
            return None
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        patch_grads = self.weight.data.reshape(self.out_channels, -1).T @ g  # (K, P)
        patch_grads = patch_grads.reshape(c, kh, kw, *out_shape[2:], n)
        # col2im: each patch element goes back to the input pixel it was copied from;
        # patches overlap, so the contributions add up (one slice-add per kernel offset)
        padded = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=patch_grads.dtype)
        for i, j, window in _windows(padded, self.kernel_size, self.stride, out_shape[2:]):
            window += patch_grads[:, i, j]
        input_grad_ = padded[:, ph : ph + h, pw : pw + w].transpose(3, 0, 1, 2)
        return input_grad_[0] if self._unbatched else input_grad_

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        return text + ("" if self.bias is not None else ", bias=False")


def _pair(value, layer: str, name: str, minimum: int) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 5)`` stays; anything else raises naming the layer and field."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)
        or min(pair) < minimum
    ):
        raise ValueError(
            f"{layer} {name} must be an int or a pair of ints, each at least {minimum} "
            f"(for example {name}=2 or {name}=(2, 3)), got {value!r}"
        )
    return int(pair[0]), int(pair[1])


def _output_size(layer: Module, shape: tuple[int, ...]) -> tuple[int, int]:
    """(H_out, W_out) of a window layer on an (N, C, H, W) input; raises when it is empty."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    out_h = (shape[-2] + 2 * ph - kh) // sh + 1
    out_w = (shape[-1] + 2 * pw - kw) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"{layer!r} got input of shape {tuple(shape)}: its height and width plus padding "
            f"({shape[-2] + 2 * ph}, {shape[-1] + 2 * pw}) are smaller than the kernel {(kh, kw)}"
        )
    return out_h, out_w


def _windows(
    padded: np.ndarray,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    out_size: tuple[int, int],
    height_axis: int = 1,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """For each kernel offset (i, j), the strided view of ``padded`` holding the pixel at that
    offset of every window: ``view[c, oh, ow, n] = padded[c, s*oh + i, s*ow + j, n]``, for
    images whose height and width are axes ``height_axis`` and ``height_axis + 1``.

    Shape: each view is ``padded``'s with (H, W) replaced by (H_out, W_out). Writing into a
    view writes into ``padded``.
    """
    (kh, kw), (sh, sw), (out_h, out_w) = kernel_size, stride, out_size
    before = (slice(None),) * height_axis
    for i in range(kh):
        rows = slice(i, i + sh * (out_h - 1) + 1, sh)
        for j in range(kw):
            yield i, j, padded[(*before, rows, slice(j, j + sw * (out_w - 1) + 1, sw))]


def _batch_last_full(shape: tuple[int, int, int, int], fill: float, dtype) -> np.ndarray:
    """An (N, C, H, W) array filled with ``fill`` whose memory is laid out (C, H, W, N), the
    layout in which Conv2d reads and writes without copying."""
    n, c, h, w = shape
    return np.full((c, h, w, n), fill, dtype=dtype).transpose(3, 0, 1, 2)
