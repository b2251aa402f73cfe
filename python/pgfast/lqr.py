"""The linear-quadratic regulator env (``pg.make("LQR", ...)``): :class:`LQREnv`,
its builder and its spaces, for the env registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from pgfast import _core
from pgfast._validation import as_float_array, check_real
from pgfast.vector_env import VectorEnv

#: Time limit of ``pg.make("LQR", ...)`` when ``max_episode_steps`` is not given.
DEFAULT_MAX_EPISODE_STEPS = 100


class LQREnv(VectorEnv):
    """The linear-quadratic regulator ``x' = A x + B u + noise_std w``, reward
    ``-(x'Qx + u'Ru)``, ``x0 ~ N(0, init_std^2 I)``. Made by ``pg.make("LQR", ...)``."""

    def __init__(
        self,
        core: _core.VecEnv,
        A: np.ndarray,
        B: np.ndarray,
        Q: np.ndarray,
        R: np.ndarray,
        init_std: float,
        noise_std: float,
    ) -> None:
        super().__init__(core)
        self.A, self.B, self.Q, self.R = A, B, Q, R
        self.init_std, self.noise_std = init_std, noise_std
        for arr in (A, B, Q, R):
            arr.flags.writeable = False

    def riccati(self, gamma: float = 1.0) -> np.ndarray:
        """``P`` of the (discounted) discrete algebraic Riccati equation,
        solved in C++: the optimal value is ``V(x) = -x'Px``."""
        return _core.lqr_riccati(self.A, self.B, self.Q, self.R, _check_gamma(gamma))[0]

    def optimal_gain(self, gamma: float = 1.0) -> np.ndarray:
        """``K`` (shape ``(m, n)``) of the optimal infinite-horizon control ``u = -K x``."""
        return _core.lqr_riccati(self.A, self.B, self.Q, self.R, _check_gamma(gamma))[1]

    def optimal_cost(self, gamma: float = 1.0) -> float:
        """Expected infinite-horizon (discounted) cost of the optimal controller
        from ``x0 ~ N(0, init_std^2 I)``: ``init_std^2 tr P`` plus
        ``gamma noise_std^2 tr P / (1 - gamma)`` for the noise. The env
        truncates at ``max_episode_steps``, so episodic costs are slightly lower.
        """
        gamma = _check_gamma(gamma)
        trace = float(np.trace(self.riccati(gamma)))
        if self.noise_std > 0 and gamma == 1.0:
            raise ValueError("with noise_std > 0 the undiscounted cost is infinite; pass gamma < 1")
        noise = 0.0 if self.noise_std == 0 else gamma * self.noise_std**2 * trace / (1 - gamma)
        return self.init_std**2 * trace + noise


def _check_gamma(gamma: float) -> float:
    gamma = check_real(gamma, "gamma")
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")
    return gamma


def build_lqr(
    num_envs: int,
    seed: int,
    num_threads: int,
    max_episode_steps: int | None,
    *,
    A: Any,
    B: Any,
    Q: Any,
    R: Any,
    init_std: Any,
    noise_std: Any,
) -> LQREnv:
    """The registry's builder for ``"LQR"``."""
    mats = {k: as_float_array(v, k, ndim=2) for k, v in zip("ABQR", (A, B, Q, R), strict=True)}
    init_std = check_real(init_std, "init_std", minimum=0.0)
    noise_std = check_real(noise_std, "noise_std", minimum=0.0)
    steps = DEFAULT_MAX_EPISODE_STEPS if max_episode_steps is None else max_episode_steps
    core = _core.make_lqr(
        mats["A"],
        mats["B"],
        mats["Q"],
        mats["R"],
        init_std,
        noise_std,
        steps,
        num_envs,
        seed,
        num_threads,
    )
    return LQREnv(core, mats["A"], mats["B"], mats["Q"], mats["R"], init_std, noise_std)


def lqr_spaces(params: Mapping[str, Any]) -> tuple[gym.Space, gym.Space]:
    """Unbounded float64 ``Box(n)`` states and ``Box(m)`` controls, for ``B`` of shape
    ``(n, m)``."""
    n, m = np.shape(params["B"])
    return _unbounded(n), _unbounded(m)


def _unbounded(dim: int) -> gym.spaces.Box:
    return gym.spaces.Box(-np.inf, np.inf, shape=(dim,), dtype=np.float64)
