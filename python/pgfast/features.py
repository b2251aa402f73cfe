"""Feature maps ``phi(obs)`` for linear policies, computed in C++.

Each map has ``n_features`` and ``obs_dim`` and can be called on a batch of
observations for inspection:

>>> import numpy as np, pgfast as pg
>>> phi = pg.features.Fourier(order=1, low=[0.0, 0.0], high=[1.0, 1.0])
>>> phi.n_features
4
>>> np.round(phi(np.array([[0.0, 1.0]])), 6)
array([[ 1.,  1., -1., -1.]])

Bounded maps (``Fourier``, ``RBF``, ``TileCoding``) rescale each dimension
from ``[low, high]`` to ``[0, 1]`` and clip values outside. For unbounded
dimensions pick bounds covering what a good policy visits: for CartPole,
``low=[-2.4, -3, -0.21, -3.5]``, ``high=[2.4, 3, 0.21, 3.5]`` (position,
velocity, angle, angular velocity) lose little.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from pgfast import _core
from pgfast._validation import as_float_array, check_finite, check_int, check_real

__all__ = ["RBF", "FeatureMap", "Fourier", "Identity", "OneHot", "Polynomial", "TileCoding",
           "from_config"]


class FeatureMap:
    """Base class: a feature map implemented in C++."""

    _core: _core.Features

    @property
    def n_features(self) -> int:
        """Length of ``phi(obs)``."""
        return self._core.n_features

    @property
    def obs_dim(self) -> int:
        """Length of the observation row read (1 for :class:`OneHot`)."""
        return self._core.obs_dim

    def __call__(self, obs: Any) -> np.ndarray:
        """``phi`` of a batch of observations ``(N, obs_dim)`` (or ``(N,)`` when
        ``obs_dim == 1``); returns ``(N, n_features)`` float64."""
        return self._core(obs)

    def config(self) -> dict[str, Any]:
        """JSON-serialisable arguments that rebuild this map (see :func:`from_config`)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "kind")
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FeatureMap) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(repr(self))


def _dim_of(value: int | gym.Space, name: str) -> int:
    if isinstance(value, gym.spaces.Box):
        if len(value.shape) != 1:
            raise ValueError(f"{name}: only 1-D Box spaces are supported, got shape {value.shape}")
        return int(value.shape[0])
    if isinstance(value, gym.spaces.Discrete):
        return int(value.n)
    return check_int(value, name, minimum=1)


def _bounds(low: Any, high: Any) -> tuple[list[float], list[float]]:
    lo = as_float_array(low, "low", ndim=1)
    hi = as_float_array(high, "high", ndim=1)
    if lo.shape != hi.shape:
        raise ValueError(f"low and high must have the same shape, got {lo.shape} and {hi.shape}")
    check_finite(lo, "low")
    check_finite(hi, "high")
    bad = np.flatnonzero(lo >= hi)
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"low[{k}] must be < high[{k}], got {lo[k]} >= {hi[k]}")
    return lo.tolist(), hi.tolist()


class Identity(FeatureMap):
    """``phi(obs) = [obs, 1]``: the observation and a bias (``dim + 1`` features).

    Args:
        dim: observation length, or a 1-D ``gymnasium.spaces.Box``.
    """

    def __init__(self, dim: int | gym.spaces.Box) -> None:
        self.dim = _dim_of(dim, "dim")
        self._core = _core.identity_features(self.dim)

    def config(self) -> dict[str, Any]:
        return {"kind": "identity", "dim": self.dim}


class OneHot(FeatureMap):
    """``phi(s) = e_s`` for a discrete observation ``s`` in ``[0, n)``: a tabular policy.

    Args:
        n: number of states, or a ``gymnasium.spaces.Discrete``.
    """

    def __init__(self, n: int | gym.spaces.Discrete) -> None:
        self.n = _dim_of(n, "n")
        self._core = _core.one_hot_features(self.n)

    def config(self) -> dict[str, Any]:
        return {"kind": "one_hot", "n": self.n}


class Polynomial(FeatureMap):
    """Every monomial of the raw observation of total degree ``<= degree``,
    the constant 1 included: ``C(dim + degree, degree)`` features."""

    def __init__(self, dim: int | gym.spaces.Box, degree: int = 2) -> None:
        self.dim = _dim_of(dim, "dim")
        self.degree = check_int(degree, "degree", minimum=0)
        self._core = _core.polynomial_features(self.dim, self.degree)

    def config(self) -> dict[str, Any]:
        return {"kind": "polynomial", "dim": self.dim, "degree": self.degree}


class Fourier(FeatureMap):
    """Fourier basis ``cos(pi c . x)`` for every ``c`` in ``{0..order}^dim``
    (Konidaris, Osentoski & Thomas 2011), ``x`` the observation rescaled to
    ``[0, 1]``: ``(order + 1)^dim`` features, the first of which is the constant 1."""

    def __init__(self, order: int, low: Any, high: Any) -> None:
        self.order = check_int(order, "order", minimum=0)
        self.low, self.high = _bounds(low, high)
        self._core = _core.fourier_features(self.order, self.low, self.high)

    def config(self) -> dict[str, Any]:
        return {"kind": "fourier", "order": self.order, "low": self.low, "high": self.high}


class RBF(FeatureMap):
    """Gaussian bumps ``exp(-|x - c|^2 / (2 width^2))`` on a grid of
    ``centers_per_dim`` centres per dimension over ``[0, 1]`` (``x`` the
    rescaled observation), then a bias: ``centers_per_dim^dim + 1`` features.
    ``width`` defaults to the grid spacing."""

    def __init__(self, centers_per_dim: int, low: Any, high: Any,
                 width: float | None = None) -> None:
        self.centers_per_dim = check_int(centers_per_dim, "centers_per_dim", minimum=1)
        self.low, self.high = _bounds(low, high)
        if width is None:
            width = 1.0 / (self.centers_per_dim - 1) if self.centers_per_dim > 1 else 0.5
        self.width = check_real(width, "width")
        if self.width <= 0:
            raise ValueError(f"width must be > 0, got {self.width}")
        self._core = _core.rbf_features(self.centers_per_dim, self.low, self.high, self.width)

    def config(self) -> dict[str, Any]:
        return {"kind": "rbf", "centers_per_dim": self.centers_per_dim, "low": self.low,
                "high": self.high, "width": self.width}


class TileCoding(FeatureMap):
    """``tilings`` grids of ``tiles_per_dim`` tiles per dimension, offset from
    each other by asymmetric fractions of a tile; one active (1.0) feature per
    tiling: ``tilings * (tiles_per_dim + 1)^dim`` features."""

    def __init__(self, tilings: int, tiles_per_dim: int, low: Any, high: Any) -> None:
        self.tilings = check_int(tilings, "tilings", minimum=1)
        self.tiles_per_dim = check_int(tiles_per_dim, "tiles_per_dim", minimum=1)
        self.low, self.high = _bounds(low, high)
        self._core = _core.tile_coding_features(self.tilings, self.tiles_per_dim, self.low,
                                                self.high)

    def config(self) -> dict[str, Any]:
        return {"kind": "tile_coding", "tilings": self.tilings,
                "tiles_per_dim": self.tiles_per_dim, "low": self.low, "high": self.high}


_KINDS = {"identity": Identity, "one_hot": OneHot, "polynomial": Polynomial,
          "fourier": Fourier, "rbf": RBF, "tile_coding": TileCoding}


def from_config(config: Any) -> FeatureMap:
    """Rebuild a feature map from :meth:`FeatureMap.config`."""
    if not isinstance(config, dict) or config.get("kind") not in _KINDS:
        raise ValueError(f"not a feature-map config: {config!r}; kind must be one of "
                         f"{sorted(_KINDS)}")
    args = {k: v for k, v in config.items() if k != "kind"}
    try:
        return _KINDS[config["kind"]](**args)
    except TypeError as exc:
        raise ValueError(f"bad arguments for {config['kind']} features: {exc}") from None
