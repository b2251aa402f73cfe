"""The Fourier basis written as ``pg.features.Custom`` functions, two ways (section 6).

Both compute pgfast's ``pg.features.Fourier(order, low, high)``: cos(pi c . x) for every
c in {0..order}^dim, x the observation rescaled to [0, 1] in the box and clipped, with
dimension 0 varying fastest (feature k = sum_j c_j (order + 1)^j).

- :func:`fourier_direct` is the formula as written (one cos per feature, like
  ``tests/test_native_env.py``): what a user would write first. It is a different
  algorithm from the built-in map, so its speed says little about the Custom door.
- :func:`fourier_product_tree` is cpp/src/features.cpp's ``class Fourier`` line for line
  (a product tree of per-dimension complex rotations, written into ``out``): the same
  work as the built-in map, so the gap between the two is what the door costs (a
  function pointer, numba's code, its bounds checks).

Each returns ``(fn, n_features)``; numba freezes the arrays a function reads at compile
time, so the closures hold NumPy arrays, not lists.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

FeatureFn = Callable[[Any, Any], None]


def fourier_direct(
    order: int, low: Sequence[float], high: Sequence[float]
) -> tuple[FeatureFn, int]:
    """cos(pi c . x01) per feature."""
    lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    dim = lo.shape[0]
    # itertools varies the last entry fastest; reversed, dimension 0 is the fastest.
    coeffs = np.array(list(itertools.product(range(order + 1), repeat=dim)), dtype=np.float64)
    coeffs = coeffs[:, ::-1].copy()

    def features(obs: Any, out: Any) -> None:
        for i in range(coeffs.shape[0]):
            acc = 0.0
            for j in range(dim):
                x = (obs[j] - lo[j]) / (hi[j] - lo[j])
                acc += coeffs[i, j] * min(max(x, 0.0), 1.0)
            out[i] = math.cos(math.pi * acc)

    return features, coeffs.shape[0]


def fourier_product_tree(
    order: int, low: Sequence[float], high: Sequence[float]
) -> tuple[FeatureFn, int]:
    """The C++ product tree: level L holds m = (order + 1)^L complex partial products,
    real parts in out[0, m), imaginary parts in out[n - m, n); level L + 1 multiplies
    them by e^{i pi c x_L} for c = 0..order, rotated up from one cos/sin by angle
    addition. See the comment above ``class Fourier`` in cpp/src/features.cpp."""
    lo = np.asarray(low, dtype=np.float64)
    inv_width = 1.0 / (np.asarray(high, dtype=np.float64) - lo)
    dim = lo.shape[0]
    blocks = order + 1
    n = blocks**dim
    last = dim - 1

    def features(obs: Any, out: Any) -> None:
        if order == 0:  # the constant alone, where the two ends would meet
            out[0] = 1.0
            return
        out[0] = 1.0  # level 0: the empty product 1 + 0i
        out[n - 1] = 0.0
        m = 1
        for j in range(dim):
            u = (obs[j] - lo[j]) * inv_width[j]
            u = 0.0 if u < 0.0 else (1.0 if u > 1.0 else u)  # clips inf; NaN stays NaN
            cos1, sin1 = math.cos(math.pi * u), math.sin(math.pi * u)
            cos_c, sin_c = 1.0, 0.0
            im = n - m  # level L's imaginary parts
            if j == last:  # real parts only
                for c in range(1, order):
                    cos_c, sin_c = cos_c * cos1 - sin_c * sin1, cos_c * sin1 + sin_c * cos1
                    re_c = c * m
                    for i in range(m):
                        out[re_c + i] = out[i] * cos_c - out[im + i] * sin_c
                cos_c, sin_c = cos_c * cos1 - sin_c * sin1, cos_c * sin1 + sin_c * cos1
                for i in range(m):
                    out[im + i] = out[i] * cos_c - out[im + i] * sin_c
                return
            im_next = n - m * blocks
            for i in range(m):
                out[im_next + i] = out[im + i]
            for c in range(1, order):
                cos_c, sin_c = cos_c * cos1 - sin_c * sin1, cos_c * sin1 + sin_c * cos1
                re_c, im_c = c * m, im_next + c * m
                for i in range(m):
                    r, s = out[i], out[im + i]
                    out[re_c + i] = r * cos_c - s * sin_c
                    out[im_c + i] = r * sin_c + s * cos_c
            # Block c = order lands on level L's imaginary parts: last, in place.
            cos_c, sin_c = cos_c * cos1 - sin_c * sin1, cos_c * sin1 + sin_c * cos1
            re_c = order * m
            for i in range(m):
                r, s = out[i], out[im + i]
                out[re_c + i] = r * cos_c - s * sin_c
                out[im + i] = r * sin_c + s * cos_c
            m *= blocks

    return features, n
