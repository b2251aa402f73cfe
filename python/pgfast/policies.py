"""Linear policies over a feature map: :class:`LinearSoftmax` and :class:`LinearGaussian`.

The parameters are NumPy arrays owned here; the C++ engine updates them in
place during training. Every method takes a batch of observations
``(N, obs_dim)`` (``(N,)`` for discrete observations).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from pgfast import _core
from pgfast._validation import as_float_array, check_finite, check_int
from pgfast.features import FeatureMap, StateActionMap
from pgfast.io import save_policy

__all__ = ["LinearGaussian", "LinearSoftmax"]


def _seed_from(rng: np.random.Generator | int | None) -> int:
    if rng is None:
        rng = np.random.default_rng()
    elif not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    return int(rng.integers(0, 2**63))


#: |log_std| above this makes sigma^2 or 1/sigma^2 overflow float64 (the engine
#: also clamps a learned log std to this range).
MAX_LOG_STD = 20.0


def _log_std_array(value: Any, action_dim: int) -> np.ndarray:
    ls = as_float_array(value, "log_std")
    if ls.ndim == 0:
        ls = np.full(action_dim, float(ls))
    ls = _param_array(ls, (action_dim,), "log_std")
    if (np.abs(ls) > MAX_LOG_STD).any():
        raise ValueError(f"log_std must be in [-{MAX_LOG_STD}, {MAX_LOG_STD}], got {ls}")
    return ls


def _param_array(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    arr = as_float_array(value, name)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    check_finite(arr, name)
    return np.ascontiguousarray(arr)


class _LinearPolicy:
    """What both linear policies share: the feature map, ``theta``, the C++
    distribution (``_core``, the code the engine runs) and saving."""

    _theta: np.ndarray
    _model: _core.Policy

    def __init__(self, features: Any, shape: tuple[int, ...], theta: Any) -> None:
        self.features = features
        self._theta = np.zeros(shape) if theta is None else _param_array(theta, shape, "theta")
        #: The JSON metadata of the file it was loaded from (empty otherwise).
        self.metadata: dict[str, Any] = {}
        # C++ reads or updates the parameters with the GIL released: any number
        # of readers (evaluation, rollouts, estimates) or one trainer at a time.
        self._use_lock = threading.Lock()
        self._readers = 0
        self._training = False

    @contextlib.contextmanager
    def _in_use(self, *, training: bool) -> Iterator[None]:
        """Refuse, rather than race, a trainer beside any other user of theta."""
        with self._use_lock:
            busy = self._training or (training and self._readers > 0)
            if not busy:
                if training:
                    self._training = True
                else:
                    self._readers += 1
        if busy:
            raise RuntimeError(
                "this policy is being used by another thread (training beside "
                "another use of its parameters); use one policy per thread"
            )
        try:
            yield
        finally:
            with self._use_lock:
                if training:
                    self._training = False
                else:
                    self._readers -= 1

    def _as_batch(self, obs: Any) -> tuple[Any, bool]:
        """``obs`` as a batch, and whether it was one observation: ``(obs_dim,)``
        (a Box observation) or a scalar (a Discrete one, ``obs_dim == 1``)."""
        arr = np.asarray(obs)
        dim = self.features.obs_dim
        if (arr.ndim == 0 and dim == 1) or (arr.ndim == 1 and dim > 1 and arr.shape[0] == dim):
            return arr[None], True
        return obs, False

    @property
    def theta(self) -> np.ndarray:
        """Parameters, float64, updated in place by training."""
        return self._theta

    @theta.setter
    def theta(self, value: Any) -> None:
        self._theta[...] = _param_array(value, self._theta.shape, "theta")

    def save(self, path: Any, env: Any = None) -> None:
        """Write the policy to ``path`` (``.npz``; see :func:`pgfast.load_policy`).
        Pass the env to record its id and spaces, which loading can then check."""
        save_policy(self, path, env)


class LinearSoftmax(_LinearPolicy):
    """The linear softmax policy, over state features or over state-action features.

    Over a state feature map ``phi(s)`` (``F`` features), ``theta`` has shape
    ``(F, n_actions)`` and ``pi(a|s) = softmax_a(phi(s)^T theta[:, a])``,
    with score ``grad_theta log pi(a|s) = phi(s) (e_a - pi(.|s))^T``.

    Over a state-action map (:class:`pgfast.features.StateAction`,
    :class:`pgfast.features.StateActionTable`) ``phi(s, a)`` of length ``d``,
    ``theta`` has shape ``(d,)`` and
    ``pi(a|s) = exp(phi(s,a)^T theta) / sum_b exp(phi(s,b)^T theta)``, with
    score ``phi(s, a) - sum_b pi(b|s) phi(s, b)``. Both are the observed
    features minus the expected ones; probabilities come from log-sum-exp.

    Example:
        >>> import numpy as np, pgfast as pg
        >>> policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
        >>> policy.theta.shape
        (5, 2)
        >>> policy.probs(np.zeros((1, 4)))
        array([[0.5, 0.5]])
    """

    def __init__(
        self, features: FeatureMap | StateActionMap, n_actions: int, theta: Any = None
    ) -> None:
        self.n_actions = check_int(n_actions, "n_actions", minimum=1)
        if isinstance(features, StateActionMap):
            if features.n_actions != self.n_actions:
                raise ValueError(
                    f"the state-action features describe {features.n_actions} "
                    f"actions, but n_actions is {self.n_actions}"
                )
            shape: tuple[int, ...] = (features.n_features,)
            self._model = features._policy_core()
        elif isinstance(features, FeatureMap):
            shape = (features.n_features, self.n_actions)
            self._model = _core.softmax_policy(features._core, self.n_actions)
        else:
            raise TypeError(
                "features must be a pgfast.features map (state or state-action), "
                f"got {type(features).__name__}"
            )
        super().__init__(features, shape, theta)

    @property
    def state_action(self) -> bool:
        """Whether the features are state-action features (``theta`` of shape ``(d,)``)."""
        return isinstance(self.features, StateActionMap)

    @property
    def n_params(self) -> int:
        return int(self._theta.size)

    def log_probs(self, obs: Any) -> np.ndarray:
        """``log pi(.|s)``, shape ``(N, n_actions)``."""
        return self._model.log_probs(self._theta, obs)

    def probs(self, obs: Any) -> np.ndarray:
        """``pi(.|s)``, shape ``(N, n_actions)``."""
        return np.exp(self.log_probs(obs))

    def log_prob(self, obs: Any, actions: Any) -> np.ndarray:
        """``log pi(a|s)`` for each row, shape ``(N,)``."""
        return self._model.log_prob(self._theta, None, obs, actions)

    def grad_log_prob(self, obs: Any, actions: Any) -> np.ndarray:
        """``grad_theta log pi(a|s)`` for each row, shape ``(N, *theta.shape)``."""
        g = self._model.grad_log_prob(self._theta, None, obs, actions)
        return g.reshape((g.shape[0], *self._theta.shape))

    def entropy(self, obs: Any) -> np.ndarray:
        """``-sum_a pi log pi`` at each state, shape ``(N,)``."""
        lp = self.log_probs(obs)
        return -(np.exp(lp) * lp).sum(axis=1)

    def act(
        self, obs: Any, deterministic: bool = False, rng: np.random.Generator | int | None = None
    ) -> Any:
        """Sample ``a ~ pi(.|s)`` (or the most probable action), shape ``(N,)`` int64;
        for a single observation (``(obs_dim,)``, or a scalar state), one ``int``.

        >>> import numpy as np, pgfast as pg
        >>> pg.LinearSoftmax(pg.features.Identity(4), 2).act(np.zeros(4), deterministic=True)
        0
        """
        batch, single = self._as_batch(obs)
        a = self._model.act(self._theta, None, batch, bool(deterministic), _seed_from(rng))
        return int(a[0]) if single else a

    def __repr__(self) -> str:
        return f"LinearSoftmax({self.features!r}, n_actions={self.n_actions})"

    # Pickled as its recipe (features, sizes, parameters), never as C++ memory:
    # how a policy reaches a Ray worker.
    def __reduce__(self) -> tuple[Any, ...]:
        return (LinearSoftmax, (self.features, self.n_actions, self._theta.copy()))


class LinearGaussian(_LinearPolicy):
    """``a ~ N(theta^T phi(s), diag(exp(2 log_std)))`` with ``theta`` of shape
    ``(n_features, action_dim)`` and ``log_std`` of shape ``(action_dim,)``.

    Scores: ``grad_theta log pi = phi(s) ((a - mu) / sigma^2)^T`` and
    ``grad_log_std log pi = (a - mu)^2 / sigma^2 - 1``. During training the
    env receives the action clipped to its bounds, while the score uses the
    unclipped sample (the policy's own action).

    Example:
        >>> import numpy as np, pgfast as pg
        >>> policy = pg.LinearGaussian(pg.features.Identity(3), action_dim=1, log_std=-1.0)
        >>> policy.mean(np.ones((2, 3)))
        array([[0.],
               [0.]])
    """

    def __init__(
        self,
        features: FeatureMap,
        action_dim: int,
        log_std: Any = 0.0,
        learn_std: bool = True,
        theta: Any = None,
    ) -> None:
        self.action_dim = check_int(action_dim, "action_dim", minimum=1)
        if not isinstance(features, FeatureMap):
            raise TypeError(
                f"features must be a pgfast.features map, got {type(features).__name__}"
            )
        super().__init__(features, (features.n_features, self.action_dim), theta)
        self._log_std = _log_std_array(log_std, self.action_dim)
        self._learn_std = bool(learn_std)
        self._model = _core.gaussian_policy(features._core, self.action_dim, self._learn_std)

    @property
    def learn_std(self) -> bool:
        """Whether training updates ``log_std``."""
        return self._learn_std

    @learn_std.setter
    def learn_std(self, value: bool) -> None:
        self._learn_std = bool(value)
        self._model = _core.gaussian_policy(self.features._core, self.action_dim, self._learn_std)

    @property
    def log_std(self) -> np.ndarray:
        """Log standard deviation, ``(action_dim,)`` float64."""
        return self._log_std

    @log_std.setter
    def log_std(self, value: Any) -> None:
        self._log_std[...] = _log_std_array(value, self.action_dim)

    @property
    def n_params(self) -> int:
        return int(self._theta.size + (self._log_std.size if self.learn_std else 0))

    def mean(self, obs: Any) -> np.ndarray:
        """``mu = theta^T phi(s)``, shape ``(N, action_dim)``."""
        return self._model.mean(self._theta, obs)

    def log_prob(self, obs: Any, actions: Any) -> np.ndarray:
        """``log pi(a|s)``, shape ``(N,)``; actions ``(N, action_dim)``."""
        return self._model.log_prob(self._theta, self._log_std, obs, actions)

    def grad_log_prob(self, obs: Any, actions: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(grad_theta (N, n_features, action_dim), grad_log_std (N, action_dim))``."""
        g = self._model.grad_log_prob(self._theta, self._log_std, obs, actions)
        n_theta = self._theta.size
        return g[:, :n_theta].reshape((g.shape[0], *self._theta.shape)), g[:, n_theta:].copy()

    def entropy(self) -> float:
        """Differential entropy ``sum_d (log_std_d + log(2 pi e) / 2)`` (state-independent)."""
        return float(np.sum(self._log_std + 0.5 * np.log(2 * np.pi * np.e)))

    def act(
        self, obs: Any, deterministic: bool = False, rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Sample actions (unclipped), or the mean; shape ``(N, action_dim)``, or
        ``(action_dim,)`` for a single observation ``(obs_dim,)``."""
        batch, single = self._as_batch(obs)
        a = self._model.act(self._theta, self._log_std, batch, bool(deterministic), _seed_from(rng))
        return a[0] if single else a

    def __repr__(self) -> str:
        return (
            f"LinearGaussian({self.features!r}, action_dim={self.action_dim}, "
            f"learn_std={self.learn_std})"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # a recipe, as LinearSoftmax's
        return (
            LinearGaussian,
            (
                self.features,
                self.action_dim,
                self._log_std.copy(),
                self._learn_std,
                self._theta.copy(),
            ),
        )
