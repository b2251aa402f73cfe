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
from pgfast.features import FeatureMap
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
    """What both linear policies share: the feature map, ``theta`` and saving."""

    _theta: np.ndarray

    def __init__(self, features: FeatureMap, columns: int, theta: Any) -> None:
        if not isinstance(features, FeatureMap):
            raise TypeError(f"features must be a pgfast.features map, got {type(features).__name__}")
        self.features = features
        shape = (features.n_features, columns)
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
            raise RuntimeError("this policy is being used by another thread (training beside "
                               "another use of its parameters); use one policy per thread")
        try:
            yield
        finally:
            with self._use_lock:
                if training:
                    self._training = False
                else:
                    self._readers -= 1

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
    """``pi(a|s) = softmax_a(phi(s)^T theta[:, a])`` with ``theta`` of shape
    ``(n_features, n_actions)``, computed by log-sum-exp.

    The score is ``grad_theta log pi(a|s) = phi(s) (e_a - pi(.|s))^T``: the
    observed feature vector minus the expected one.

    Example:
        >>> import numpy as np, pgfast as pg
        >>> policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
        >>> policy.theta.shape
        (5, 2)
        >>> policy.probs(np.zeros((1, 4)))
        array([[0.5, 0.5]])
    """

    def __init__(self, features: FeatureMap, n_actions: int, theta: Any = None) -> None:
        self.n_actions = check_int(n_actions, "n_actions", minimum=1)
        super().__init__(features, self.n_actions, theta)

    @property
    def n_params(self) -> int:
        return int(self._theta.size)

    def log_probs(self, obs: Any) -> np.ndarray:
        """``log pi(.|s)``, shape ``(N, n_actions)``."""
        return _core.softmax_log_probs(self.features._core, self._theta, obs)

    def probs(self, obs: Any) -> np.ndarray:
        """``pi(.|s)``, shape ``(N, n_actions)``."""
        return np.exp(self.log_probs(obs))

    def log_prob(self, obs: Any, actions: Any) -> np.ndarray:
        """``log pi(a|s)`` for each row, shape ``(N,)``."""
        lp = self.log_probs(obs)
        actions = np.asarray(actions)
        if actions.shape != (lp.shape[0],) or actions.dtype.kind not in "iu":
            raise ValueError(f"actions must be integers of shape ({lp.shape[0]},), got "
                             f"{actions.dtype} {actions.shape}")
        if ((actions < 0) | (actions >= self.n_actions)).any():
            raise ValueError(f"actions must be in [0, {self.n_actions})")
        return lp[np.arange(lp.shape[0]), actions]

    def grad_log_prob(self, obs: Any, actions: Any) -> np.ndarray:
        """``grad_theta log pi(a|s)`` for each row, shape ``(N, n_features, n_actions)``."""
        return _core.softmax_grad_log_prob(self.features._core, self._theta, obs, actions)

    def entropy(self, obs: Any) -> np.ndarray:
        """``-sum_a pi log pi`` at each state, shape ``(N,)``."""
        lp = self.log_probs(obs)
        return -(np.exp(lp) * lp).sum(axis=1)

    def act(self, obs: Any, deterministic: bool = False,
            rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Sample ``a ~ pi(.|s)`` (or the most probable action), shape ``(N,)`` int64."""
        return _core.softmax_act(self.features._core, self._theta, obs, bool(deterministic),
                                 _seed_from(rng))

    def __repr__(self) -> str:
        return f"LinearSoftmax({self.features!r}, n_actions={self.n_actions})"


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

    def __init__(self, features: FeatureMap, action_dim: int, log_std: Any = 0.0,
                 learn_std: bool = True, theta: Any = None) -> None:
        self.action_dim = check_int(action_dim, "action_dim", minimum=1)
        super().__init__(features, self.action_dim, theta)
        self._log_std = _log_std_array(log_std, self.action_dim)
        self.learn_std = bool(learn_std)

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
        return _core.gaussian_mean(self.features._core, self._theta, obs)

    def log_prob(self, obs: Any, actions: Any) -> np.ndarray:
        """``log pi(a|s)``, shape ``(N,)``; actions ``(N, action_dim)``."""
        return _core.gaussian_log_prob(self.features._core, self._theta, self._log_std, obs,
                                       actions)

    def grad_log_prob(self, obs: Any, actions: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(grad_theta (N, n_features, action_dim), grad_log_std (N, action_dim))``."""
        return _core.gaussian_grad_log_prob(self.features._core, self._theta, self._log_std, obs,
                                            actions)

    def entropy(self) -> float:
        """Differential entropy ``sum_d (log_std_d + log(2 pi e) / 2)`` (state-independent)."""
        return float(np.sum(self._log_std + 0.5 * np.log(2 * np.pi * np.e)))

    def act(self, obs: Any, deterministic: bool = False,
            rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Sample actions (unclipped), or the mean; shape ``(N, action_dim)``."""
        return _core.gaussian_act(self.features._core, self._theta, self._log_std, obs,
                                  bool(deterministic), _seed_from(rng))

    def __repr__(self) -> str:
        return (f"LinearGaussian({self.features!r}, action_dim={self.action_dim}, "
                f"learn_std={self.learn_std})")


