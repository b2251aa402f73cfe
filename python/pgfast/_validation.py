"""Argument checks shared by the Python API: messages name the argument,
what was expected and what was given."""

from __future__ import annotations

import numbers
import operator

import numpy as np

_MAX_SEED = 2**64 - 1


def check_int(
    value: object, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int, refusing bools, floats and non-numbers."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    result = operator.index(value)
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {result}")
    if maximum is not None and result > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {result}")
    return result


def check_seed(seed: object, name: str = "seed") -> int:
    """A seed is an integer in [0, 2**64)."""
    value = check_int(seed, name)
    if not 0 <= value <= _MAX_SEED:
        raise ValueError(f"{name} must be in [0, 2**64), got {value}")
    return value


def check_real(value: object, name: str, *, minimum: float | None = None) -> float:
    """A finite real number (bools refused), optionally >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    result = float(value)
    if not np.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result}")
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {result}")
    return result


def as_float_array(value: object, name: str, *, ndim: int | None = None) -> np.ndarray:
    """A real-valued float64 array (a copy), refusing bool, complex, object and strings."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be array-like: {exc}") from None
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = np.array(arr, dtype=np.float64, copy=True)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite; {name}{list(index)} is {float(arr[index])}")
