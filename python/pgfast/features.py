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

:func:`from_spec` builds a map from the short specs ``pgfast train --features``
takes (``"fourier:3"``, ``"tiles:8x4"``, ...).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from pgfast import _core
from pgfast._validation import as_float_array, check_finite, check_int, check_real

__all__ = [
    "RBF",
    "Custom",
    "FeatureMap",
    "Fourier",
    "Identity",
    "OneHot",
    "Polynomial",
    "StateAction",
    "StateActionMap",
    "StateActionTable",
    "Table",
    "TileCoding",
    "from_config",
    "from_spec",
    "parse_spec",
]


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

    # Pickled as its config (how it reaches a Ray worker), never as C++ memory.
    def __reduce__(self) -> tuple[Any, ...]:
        return (from_config, (self.config(),))

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


def _matrix(value: Any, name: str, ndim: int) -> np.ndarray:
    arr = as_float_array(value, name, ndim=ndim)
    if 0 in arr.shape:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    check_finite(arr, name)
    return np.ascontiguousarray(arr, dtype=np.float64)


class Table(FeatureMap):
    """``phi(s) = matrix[s]`` for a discrete observation ``s`` in ``[0, S)``:
    hand-made features of a finite state space (e.g. states that share
    features, to study state aliasing).

    Args:
        matrix: ``(S, n_features)`` real array.

    Example:
        >>> import numpy as np, pgfast as pg
        >>> phi = pg.features.Table([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # states 0, 1 aliased
        >>> phi(np.array([1, 2]))
        array([[1., 0.],
               [0., 1.]])
    """

    def __init__(self, matrix: Any) -> None:
        self.matrix = _matrix(matrix, "matrix", 2)
        self._core = _core.table_features(self.matrix)

    @property
    def n_states(self) -> int:
        return int(self.matrix.shape[0])

    def config(self) -> dict[str, Any]:
        return {"kind": "table", "matrix": self.matrix.tolist()}


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

    def __init__(
        self, centers_per_dim: int, low: Any, high: Any, width: float | None = None
    ) -> None:
        self.centers_per_dim = check_int(centers_per_dim, "centers_per_dim", minimum=1)
        self.low, self.high = _bounds(low, high)
        if width is None:
            width = 1.0 / (self.centers_per_dim - 1) if self.centers_per_dim > 1 else 0.5
        self.width = check_real(width, "width")
        if self.width <= 0:
            raise ValueError(f"width must be > 0, got {self.width}")
        self._core = _core.rbf_features(self.centers_per_dim, self.low, self.high, self.width)

    def config(self) -> dict[str, Any]:
        return {
            "kind": "rbf",
            "centers_per_dim": self.centers_per_dim,
            "low": self.low,
            "high": self.high,
            "width": self.width,
        }


class TileCoding(FeatureMap):
    """``tilings`` grids of ``tiles_per_dim`` tiles per dimension, offset from
    each other by asymmetric fractions of a tile; one active (1.0) feature per
    tiling: ``tilings * (tiles_per_dim + 1)^dim`` features."""

    def __init__(self, tilings: int, tiles_per_dim: int, low: Any, high: Any) -> None:
        self.tilings = check_int(tilings, "tilings", minimum=1)
        self.tiles_per_dim = check_int(tiles_per_dim, "tiles_per_dim", minimum=1)
        self.low, self.high = _bounds(low, high)
        self._core = _core.tile_coding_features(
            self.tilings, self.tiles_per_dim, self.low, self.high
        )

    def config(self) -> dict[str, Any]:
        return {
            "kind": "tile_coding",
            "tilings": self.tilings,
            "tiles_per_dim": self.tiles_per_dim,
            "low": self.low,
            "high": self.high,
        }


class Custom(FeatureMap):
    """A feature map you write in Python, compiled by numba and called by the engine
    with no GIL (needs the optional extra ``pip install "pgfast-rl[numba]"``).

    Args:
        fn: ``fn(obs, out)`` writes ``phi(obs)`` into ``out``: ``obs`` float64
            ``[obs_dim]``, ``out`` float64 ``[n_features]`` (zeroed before each call).
            A plain function (compiled with ``boundscheck=True``) or a numba
            dispatcher. Errors travel back as for :class:`pgfast.NativeEnv`: a
            :class:`pgfast.UserCodeError` naming the function.
        n_features: length of ``out``.
        obs_dim: length of ``obs`` (an int or the observation space).
        cache: keep numba's compiled code on disk (see :class:`pgfast.NativeEnv`).

    A policy with Custom features saves the function's path (``module:qualname``);
    :func:`pgfast.load_policy` finds it again in that module, which the program must
    have imported (loading a file never runs code).

    Example:
        >>> import numpy as np, pgfast as pg
        >>> def squares(obs, out):
        ...     for k in range(obs.shape[0]):
        ...         out[k] = obs[k] * obs[k]
        ...     out[obs.shape[0]] = 1.0
        >>> phi = pg.features.Custom(squares, n_features=3, obs_dim=2)
        >>> phi(np.array([[1.0, 2.0]]))
        array([[1., 4., 1.]])
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        n_features: int,
        obs_dim: int | gym.Space,
        *,
        cache: bool = False,
    ) -> None:
        from pgfast import native

        self.fn = fn
        self.cache = bool(cache)
        self.name = getattr(fn, "__qualname__", repr(fn))
        self._n_features = check_int(n_features, "n_features", minimum=1, maximum=1 << 24)
        self._obs_dim = _dim_of(obs_dim, "obs_dim")
        if isinstance(obs_dim, gym.spaces.Discrete):
            self._obs_dim = 1
        self._token = native._register(self)
        self._build()

    def _build(self) -> None:
        from pgfast import native

        self._compiled = native.compile_features(
            self.fn, self._obs_dim, self._n_features, self.cache
        )
        self._core = _core.custom_features(
            self._compiled, self._obs_dim, self._n_features, self._token
        )

    @property
    def n_features(self) -> int:
        return self._n_features

    @property
    def obs_dim(self) -> int:
        return self._obs_dim

    def config(self) -> dict[str, Any]:
        fn = getattr(self.fn, "py_func", self.fn)
        path = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', '?')}"
        return {
            "kind": "custom",
            "fn": path,
            "n_features": self._n_features,
            "obs_dim": self._obs_dim,
        }

    # Pickled as its recipe (the function, by value when its module cannot be
    # imported: cloudpickle), never as compiled code.
    def __reduce__(self) -> tuple[Any, ...]:
        return (_custom_from_state, (self.__getstate__(),))

    def __getstate__(self) -> dict[str, Any]:
        return {
            "fn": self.fn,
            "n_features": self._n_features,
            "obs_dim": self._obs_dim,
            "cache": self.cache,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["fn"], state["n_features"], state["obs_dim"], cache=state.get("cache", False)
        )


def _custom_from_state(state: dict[str, Any]) -> Custom:
    return Custom(state["fn"], state["n_features"], state["obs_dim"], cache=state["cache"])


def _import_function(path: Any) -> Callable[..., Any]:
    """The function at ``module:qualname`` (how a Custom map is saved), from a module
    the program has already imported: loading a file never imports (runs) code."""
    if not isinstance(path, str) or ":" not in path:
        raise ValueError(f"a Custom map's fn must be 'module:qualname', got {path!r}")
    module_name, qualname = path.split(":", 1)
    if "<" in qualname:
        raise ValueError(
            f"the Custom map's function {path} is a lambda or was defined inside a function, "
            "so it cannot be found again; define it at module level to save and load the policy"
        )
    module = sys.modules.get(module_name)
    if module is None:
        raise ValueError(
            f"the policy's features are the Custom map {path}; import {module_name} first "
            "(loading a policy file does not import modules)"
        )
    obj: Any = module
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError as e:
        raise ValueError(f"cannot find the Custom map's function {path}: {e}") from e
    if not callable(obj):
        raise ValueError(f"{path} is not a function")
    return obj


def _custom_from_config(fn: Any, n_features: Any, obs_dim: Any) -> Custom:
    return Custom(_import_function(fn), n_features=n_features, obs_dim=obs_dim)


class StateActionMap:
    """Base class: features ``phi(s, a)`` of a state and an action, for the
    softmax over state-action features ``pi(a|s) ~ exp(phi(s, a)^T theta)``
    with one shared ``theta`` of length ``n_features``
    (``pg.LinearSoftmax(sa_map, n_actions)``)."""

    n_actions: int

    @property
    def n_features(self) -> int:
        """``d``, the length of ``phi(s, a)`` and of ``theta``."""
        raise NotImplementedError

    @property
    def obs_dim(self) -> int:
        raise NotImplementedError

    def __call__(self, obs: Any) -> np.ndarray:
        """``phi(s, a)`` for a batch of observations and every action: ``(N, n_actions, d)``."""
        raise NotImplementedError

    def _policy_core(self) -> _core.Policy:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def __reduce__(self) -> tuple[Any, ...]:  # its config, as FeatureMap's
        return (from_config, (self.config(),))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_features={self.n_features}, n_actions={self.n_actions})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StateActionMap) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(repr(self))


class StateAction(StateActionMap):
    """``phi(s, a) = phi(s) (x) psi[a]``: state features times action features.

    ``d = F * k`` for state features of length ``F`` and ``action_features``
    ``psi`` of shape ``(n_actions, k)``; feature ``f * k + j`` is
    ``phi_f(s) psi[a, j]``. Large action sets are described by ``k`` action
    features instead of one parameter column per action, and
    ``StateAction(phi, np.eye(A))`` is ``LinearSoftmax(phi, A)`` exactly.

    Example:
        >>> import numpy as np, pgfast as pg
        >>> psi = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])  # 3 actions, 2 features
        >>> sa = pg.features.StateAction(pg.features.Identity(4), action_features=psi)
        >>> sa.n_features, sa.n_actions
        (10, 3)
        >>> pg.LinearSoftmax(sa, n_actions=3).theta.shape
        (10,)
    """

    def __init__(self, state_features: FeatureMap, action_features: Any) -> None:
        if not isinstance(state_features, FeatureMap):
            raise TypeError(
                f"state_features must be a pgfast.features map, got {type(state_features).__name__}"
            )
        self.state_features = state_features
        self.action_features = _matrix(action_features, "action_features", 2)
        self.n_actions = int(self.action_features.shape[0])

    @property
    def n_features(self) -> int:
        return self.state_features.n_features * int(self.action_features.shape[1])

    @property
    def obs_dim(self) -> int:
        return self.state_features.obs_dim

    def __call__(self, obs: Any) -> np.ndarray:
        phi = self.state_features(obs)
        out = phi[:, None, :, None] * self.action_features[None, :, None, :]
        return out.reshape(phi.shape[0], self.n_actions, self.n_features)

    def _policy_core(self) -> _core.Policy:
        return _core.softmax_policy(self.state_features._core, self.n_actions, self.action_features)

    def config(self) -> dict[str, Any]:
        return {
            "kind": "state_action",
            "state_features": self.state_features.config(),
            "action_features": self.action_features.tolist(),
        }


class StateActionTable(StateActionMap):
    """``phi(s, a) = table[s, a]`` for a discrete observation ``s``: any
    state-action features of a finite MDP, ``table`` of shape ``(S, A, d)``.

    Example:
        >>> import numpy as np, pgfast as pg
        >>> table = np.zeros((2, 2, 3)); table[:, 0, 0] = 1.0; table[:, 1, 1] = 1.0; table[1, :, 2] = 1.0
        >>> sa = pg.features.StateActionTable(table)
        >>> sa(np.array([1]))[0]
        array([[1., 0., 1.],
               [0., 1., 1.]])
    """

    def __init__(self, table: Any) -> None:
        self.table = _matrix(table, "table", 3)
        self.n_actions = int(self.table.shape[1])

    @property
    def n_features(self) -> int:
        return int(self.table.shape[2])

    @property
    def n_states(self) -> int:
        return int(self.table.shape[0])

    @property
    def obs_dim(self) -> int:
        return 1

    def __call__(self, obs: Any) -> np.ndarray:
        s = np.asarray(obs)
        if s.ndim == 2 and s.shape[1] == 1:
            s = s[:, 0]
        if s.ndim != 1 or s.dtype.kind not in "iuf":
            raise ValueError(f"obs must be state indices of shape (N,), got {s.dtype} {s.shape}")
        idx = s.astype(np.int64)
        if (idx != s).any() or (idx < 0).any() or (idx >= self.n_states).any():
            raise ValueError(f"obs must be integers in [0, {self.n_states})")
        return self.table[idx]

    def _policy_core(self) -> _core.Policy:
        return _core.state_action_table_policy(self.table)

    def config(self) -> dict[str, Any]:
        return {"kind": "state_action_table", "table": self.table.tolist()}


_KINDS: dict[str, Any] = {
    "identity": Identity,
    "one_hot": OneHot,
    "polynomial": Polynomial,
    "fourier": Fourier,
    "rbf": RBF,
    "tile_coding": TileCoding,
    "table": Table,
    "state_action_table": StateActionTable,
    "custom": _custom_from_config,
}


def from_config(config: Any) -> FeatureMap | StateActionMap:
    """Rebuild a feature map from its ``config()``."""
    if isinstance(config, dict) and config.get("kind") == "state_action":
        state = from_config(config.get("state_features"))
        if not isinstance(state, FeatureMap):
            raise ValueError("state_action features need a state feature map")
        return StateAction(state, config.get("action_features"))
    if not isinstance(config, dict) or config.get("kind") not in _KINDS:
        raise ValueError(
            f"not a feature-map config: {config!r}; kind must be one of "
            f"{sorted([*_KINDS, 'state_action'])}"
        )
    args = {k: v for k, v in config.items() if k != "kind"}
    try:
        return _KINDS[config["kind"]](**args)  # type: ignore[no-any-return, unused-ignore]
    except TypeError as exc:
        raise ValueError(f"bad arguments for {config['kind']} features: {exc}") from None


# ------------------------------------------------------------ feature specs

#: The feature-spec grammar, for help texts.
SPEC_HELP = (
    "identity, onehot, poly:DEGREE, fourier:ORDER, rbf:CENTERS or "
    "tiles:TILINGSxTILES (e.g. tiles:8x4)"
)
_SPEC = re.compile(r"^(identity|onehot|poly|fourier|rbf|tiles)(?::(.*))?$")
_SPEC_EXAMPLES = {"poly": "poly:2", "fourier": "fourier:3", "rbf": "rbf:7", "tiles": "tiles:8x4"}
_BOUNDED = ("fourier", "rbf", "tiles")
_OPTIONS = {"rbf": ("width",)}
#: Specs giving more features than this are refused (a typo, not a policy).
MAX_SPEC_FEATURES = 1_000_000


def parse_spec(spec: str) -> tuple[str, tuple[int, ...]]:
    """Split a feature spec into its kind and numbers; raises ValueError if malformed.

    >>> parse_spec("tiles:8x4")
    ('tiles', (8, 4))
    """
    if not isinstance(spec, str):
        raise TypeError(f"feature spec must be a string, got {spec!r}")
    match = _SPEC.match(spec.strip())
    if not match:
        raise ValueError(f"malformed feature spec {spec!r}; use {SPEC_HELP}")
    kind, arg = match.group(1), match.group(2)
    if kind in ("identity", "onehot"):
        if arg is not None:
            raise ValueError(f"malformed feature spec {spec!r}: {kind} takes no argument")
        return kind, ()
    pattern = r"^(\d+)x(\d+)$" if kind == "tiles" else r"^(\d+)$"
    numbers = re.match(pattern, arg or "")
    if not numbers:
        raise ValueError(f"malformed feature spec {spec!r}; expected e.g. {_SPEC_EXAMPLES[kind]}")
    values = tuple(int(v) for v in numbers.groups())
    minimum = 0 if kind in ("poly", "fourier") else 1
    if min(values) < minimum or max(values) > 10_000:
        raise ValueError(f"malformed feature spec {spec!r}: numbers must be in [{minimum}, 10000]")
    return kind, values


def _describe_space(space: gym.Space) -> str:
    if isinstance(space, gym.spaces.Discrete):
        return f"Discrete({space.n})"
    return f"Box{space.shape} {space.dtype}"


def _spec_bounds(
    kind: str, dim: int | None, space: gym.spaces.Box | None, low: Any, high: Any
) -> tuple[list[float], list[float]]:
    """``low`` and ``high`` (a single value is repeated over the dimensions),
    or the observation space's bounds when neither is given."""
    if low is None and high is None:
        if space is None:
            raise ValueError(f"{kind} features need low and high (or a bounded observation space)")
        space_low, space_high = np.asarray(space.low, float), np.asarray(space.high, float)
        if not (np.isfinite(space_low).all() and np.isfinite(space_high).all()):
            raise ValueError(
                f"{kind} features need bounds but the observation space "
                f"{_describe_space(space)} is unbounded; pass low and high "
                f"({dim} values each)"
            )
        return space_low.tolist(), space_high.tolist()
    if low is None or high is None:
        raise ValueError("low and high must be given together")
    lo = [float(v) for v in np.atleast_1d(np.asarray(low, dtype=float))]
    hi = [float(v) for v in np.atleast_1d(np.asarray(high, dtype=float))]
    n = dim if dim is not None else max(len(lo), len(hi))
    lo, hi = (lo * n if len(lo) == 1 else lo), (hi * n if len(hi) == 1 else hi)
    if len(lo) != n or len(hi) != n:
        raise ValueError(
            f"low and high need {n} values (the observation's length), got {len(lo)} and {len(hi)}"
        )
    bad = [k for k in range(n) if not lo[k] < hi[k]]
    if bad:
        k = bad[0]
        raise ValueError(
            f"low must be below high in every dimension; dimension {k}: {lo[k]} >= {hi[k]}"
        )
    return lo, hi


def _spec_dim(spec: str, kind: str, space: int | gym.Space | None) -> int | None:
    """The observation length a non-onehot spec reads (None: from the bounds)."""
    if space is None:
        return None
    if isinstance(space, gym.spaces.Discrete):
        raise ValueError(
            f"{spec!r} features need a Box observation space, got "
            f"{_describe_space(space)}: use onehot"
        )
    if isinstance(space, gym.spaces.Box):
        if len(space.shape) != 1:
            raise ValueError(
                f"only 1-D Box observations are supported, got {_describe_space(space)}"
            )
        return int(space.shape[0])
    if isinstance(space, gym.Space):
        raise ValueError(f"{spec!r} features need a Box observation space, got {space}")
    return check_int(space, "space", minimum=1)


def _check_size(spec: str, kind: str, args: tuple[int, ...], dim: int) -> None:
    n_features = {
        "fourier": (args[0] + 1) ** dim,
        "rbf": args[0] ** dim + 1,
        "tiles": args[0] * (args[-1] + 1) ** dim,
    }[kind]
    if n_features > MAX_SPEC_FEATURES:
        raise ValueError(
            f"{spec!r} on a {dim}-D observation gives {n_features} features; choose a smaller spec"
        )


def from_spec(
    spec: str,
    space: int | gym.Space | None = None,
    low: Any = None,
    high: Any = None,
    **options: Any,
) -> FeatureMap:
    """The feature map a short spec names, as ``pgfast train --features`` takes it.

    Specs: ``identity``, ``onehot``, ``poly:DEGREE``, ``fourier:ORDER``,
    ``rbf:CENTERS`` (centres per dimension) and ``tiles:TILINGSxTILES``
    (``TILINGS`` tilings of ``TILES`` tiles per dimension).

    Args:
        spec: the spec string.
        space: the observation space (a 1-D ``Box``, or a ``Discrete`` for
            ``onehot``), or its length (the number of states for ``onehot``).
            Optional for the bounded maps when ``low`` and ``high`` are given.
        low, high: the box the bounded maps (fourier, rbf, tiles) rescale to
            ``[0, 1]``; a single value is repeated over the dimensions. Default:
            the space's bounds, if finite. The other maps ignore them, so a
            preset's bounds can be passed whatever the spec.
        options: further arguments of the map's class (``width`` for rbf).

    Raises:
        ValueError: a malformed spec, a spec that does not fit the space,
            missing or bad bounds, or more than :data:`MAX_SPEC_FEATURES` features.

    Example:
        >>> import gymnasium as gym, pgfast as pg
        >>> pg.features.from_spec("poly:2", 3)
        Polynomial(dim=3, degree=2)
        >>> pg.features.from_spec("onehot", gym.spaces.Discrete(16)).n_features
        16
        >>> phi = pg.features.from_spec("fourier:3", low=[-1.0, -2.0], high=[1.0, 2.0])
        >>> phi == pg.features.Fourier(3, low=[-1.0, -2.0], high=[1.0, 2.0])
        True
        >>> pg.features.from_spec("tiles:8x4", gym.spaces.Box(-1.0, 1.0, (2,))).n_features
        200
    """
    kind, args = parse_spec(spec)
    unknown = sorted(set(options) - set(_OPTIONS.get(kind, ())))
    if unknown:
        raise TypeError(f"{kind} features take no option {', '.join(unknown)}")
    if kind == "onehot":
        if isinstance(space, gym.spaces.Box):
            raise ValueError(
                f"onehot features need a Discrete observation space, got {_describe_space(space)}"
            )
        if space is None:
            raise ValueError("onehot features need the observation space or its size")
        return OneHot(space)  # type: ignore[arg-type]
    dim = _spec_dim(spec, kind, space)
    if kind in ("identity", "poly"):
        if dim is None:
            raise ValueError(f"{kind} features need the observation space or its length")
        return Identity(dim) if kind == "identity" else Polynomial(dim, args[0])
    if dim is not None:
        _check_size(spec, kind, args, dim)
    box = space if isinstance(space, gym.spaces.Box) else None
    lo, hi = _spec_bounds(kind, dim, box, low, high)
    if dim is None:
        _check_size(spec, kind, args, len(lo))
    if kind == "fourier":
        return Fourier(args[0], lo, hi)
    if kind == "rbf":
        return RBF(args[0], lo, hi, **options)
    return TileCoding(args[0], args[1], lo, hi)
