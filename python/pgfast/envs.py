"""Vector environments stepped in C++: :func:`make`, :func:`list_envs`, :class:`VectorEnv`."""

from __future__ import annotations

import secrets
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from pgfast import _core
from pgfast._validation import as_float_array, check_int, check_real, check_seed
from pgfast.mdp import TabularMDP

_CLASSIC_IDS: tuple[str, ...] = tuple(_core.classic_env_ids())
_TOY_TEXT_IDS = ("FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1")
_SYNTHETIC_IDS = ("Bandit", "ContinuousBandit", "LQR")


def list_envs() -> list[str]:
    """Ids accepted by :func:`make`.

    >>> import pgfast as pg
    >>> "CartPole-v1" in pg.list_envs()
    True
    """
    return [*_CLASSIC_IDS, *_TOY_TEXT_IDS, *_SYNTHETIC_IDS]


def _space(spec: tuple) -> gym.Space:
    if spec[0] == "discrete":
        return gym.spaces.Discrete(int(spec[1]))
    _, shape, low, high, dtype = spec
    return gym.spaces.Box(
        low=np.asarray(low, dtype=dtype), high=np.asarray(high, dtype=dtype),
        shape=tuple(shape), dtype=np.dtype(dtype),
    )


class VectorEnv(gym.vector.VectorEnv):
    """A batch of ``num_envs`` environments stepped in C++, created by :func:`make`.

    It follows Gymnasium 1.x's ``VectorEnv`` contract with next-step autoreset
    (``metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP``): when an
    episode ends (``terminated`` or ``truncated``), the *next* ``step`` ignores
    that env's action, resets it and returns its first observation with
    reward 0 and both flags False. A termination on the last allowed step
    sets both ``terminated`` and ``truncated``, as Gymnasium's ``TimeLimit``
    does.

    Env ``i`` draws its randomness from a stream derived from ``(seed, i)``
    alone, so it behaves identically whatever ``num_envs`` and
    ``num_threads`` are.

    Example:
        >>> import numpy as np, pgfast as pg
        >>> env = pg.make("CartPole-v1", num_envs=4, seed=0)
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, obs.dtype
        ((4, 4), dtype('float32'))
        >>> obs, reward, terminated, truncated, info = env.step(np.ones(4, dtype=np.int64))
        >>> reward
        array([1., 1., 1., 1.])
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, core: _core.VecEnv, mdp: TabularMDP | None = None) -> None:
        self._core = core
        self._id = core.id  # kept for repr() after close()
        self.num_envs = core.num_envs
        self.single_observation_space = _space(core.observation_space)
        self.single_action_space = _space(core.action_space)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        #: The tables of a tabular env (``None`` for the others).
        self.mdp = mdp

    @property
    def id(self) -> str:
        """The environment id, e.g. ``"CartPole-v1"``."""
        return self._id

    @property
    def num_threads(self) -> int:
        return self._core.num_threads

    @property
    def state_dim(self) -> int:
        """Columns of :meth:`get_state`."""
        return self._core.state_dim

    @property
    def max_episode_steps(self) -> int | None:
        """Steps after which an episode is truncated (``None``: no limit)."""
        steps = self._core.max_episode_steps
        return None if steps == 0 else steps

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``).

        ``seed=s`` gives env ``i`` the stream ``(s, i)``; a list gives env
        ``i`` the stream a lone env seeded ``seed[i]`` would have (``None``
        entries keep their stream). Without a seed the streams continue.
        """
        mask = None
        if options:
            unknown = set(options) - {"reset_mask"}
            if unknown:
                raise ValueError(
                    f"unsupported reset option(s) {sorted(unknown)}; only 'reset_mask' is supported"
                )
            mask = options.get("reset_mask")
        if seed is not None:
            if isinstance(seed, (list, tuple)):
                if len(seed) != self.num_envs:
                    raise ValueError(
                        f"seed must have one entry per env ({self.num_envs}), got {len(seed)}"
                    )
                has = np.array([s is not None for s in seed])
                seeds = np.array(
                    [0 if s is None else check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)],
                    dtype=np.uint64,
                )
                self._core.seed_each(seeds, has)
            else:
                self._core.seed(check_seed(seed))
            super().reset(seed=seed if isinstance(seed, int) else None)
        return self._core.reset(mask), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every env with ``actions`` (int64 ``(num_envs,)`` for Discrete
        actions, float ``(num_envs, action_dim)`` for Box actions).

        Continuous actions are rounded to the action space's dtype (float32
        for the classic-control envs, as ``action_space.sample()`` gives) and
        clipped inside the env where Gymnasium clips them.
        """
        obs, reward, terminated, truncated = self._core.step(actions)
        return obs, reward, terminated, truncated, {}

    def get_state(self) -> np.ndarray:
        """The full simulator state, ``(num_envs, state_dim)`` float64.

        This is Gymnasium's ``env.unwrapped.state`` (or ``.s``, the state
        index, for tabular envs), not the observation.
        """
        return self._core.get_state()

    def set_state(self, states: Any) -> None:
        """Overwrite every env's state; pending autoresets are cancelled and
        elapsed step counts kept. Nothing changes if any row is invalid."""
        self._core.set_state(states)

    def elapsed_steps(self) -> np.ndarray:
        """Steps taken in each env's current episode."""
        return self._core.elapsed_steps()

    @property
    def param_names(self) -> list[str]:
        """Physical constants settable per env (see :meth:`set_param`)."""
        return self._core.param_names()

    def get_param(self, name: str) -> np.ndarray:
        """The value of constant ``name`` in each env, shape ``(num_envs,)``."""
        return self._core.get_param(name)

    def set_param(self, name: str, value: Any) -> None:
        """Set constant ``name`` to a scalar, or to one value per env."""
        values = as_float_array(value, name)
        if values.ndim == 0:
            values = np.full(self.num_envs, float(values))
        self._core.set_param(name, values)

    def close_extras(self, **kwargs: Any) -> None:
        self._core.close()

    def __repr__(self) -> str:
        return f"pgfast.VectorEnv({self.id}, num_envs={self.num_envs})"


class GymnasiumEnv(VectorEnv):
    """Any Gymnasium env (Box or Discrete spaces) as a one-env :class:`VectorEnv`.

    pgfast's learner, :func:`pgfast.evaluate` and :func:`pgfast.rollout` accept
    it (and wrap a ``gymnasium.Env`` or an unknown id in it themselves): the
    estimator and the updates stay in C++, but every step calls the env in
    Python, so this path runs at Gymnasium's speed, not pgfast's. Episodes end
    on the env's own termination or truncation (its ``TimeLimit``).

    Example:
        >>> import gymnasium as gym, pgfast as pg
        >>> env = pg.GymnasiumEnv(gym.make("CartPole-v1"), seed=0)
        >>> env.num_envs, env.single_action_space
        (1, Discrete(2))
    """

    def __init__(self, env: gym.Env | str, seed: int | None = None) -> None:
        if isinstance(env, str):
            env = _gym_make(env)
        if not isinstance(env, gym.Env):
            raise TypeError(f"env must be a gymnasium.Env or an id, got {type(env).__name__}")
        for name, space in (("observation", env.observation_space), ("action", env.action_space)):
            if isinstance(space, gym.spaces.Box) and len(space.shape) != 1:
                raise ValueError(f"only 1-D Box {name} spaces are supported, got {space.shape}")
            if not isinstance(space, (gym.spaces.Box, gym.spaces.Discrete)):
                raise ValueError(f"only Box and Discrete {name} spaces are supported, got "
                                 f"{type(space).__name__}")
        self.gym_env = env
        self._seed = secrets.randbits(64) if seed is None else check_seed(seed)
        self._first_reset = True
        self._discrete_action = isinstance(env.action_space, gym.spaces.Discrete)
        self._needs_reset = True
        spec = getattr(env, "spec", None)
        core = _core.make_callback_env(self._engine_reset, self._engine_step, 1,
                                       _spec_tuple(env.observation_space),
                                       _spec_tuple(env.action_space),
                                       getattr(spec, "id", None) or type(env.unwrapped).__name__)
        super().__init__(core)
        self.single_observation_space = env.observation_space
        self.single_action_space = env.action_space
        self.observation_space = batch_space(env.observation_space, 1)
        self.action_space = batch_space(env.action_space, 1)
        self._gym_max_steps = getattr(spec, "max_episode_steps", None)

    @property
    def max_episode_steps(self) -> int | None:
        return self._gym_max_steps

    # -- called by the C++ engine (with the GIL) --------------------------------
    def _engine_reset(self, i: int) -> np.ndarray:
        seed = self._seed if self._first_reset else None
        self._first_reset = False
        obs, _ = self.gym_env.reset(seed=seed)
        return np.asarray(obs, dtype=np.float64).ravel()

    def _engine_step(self, i: int, action: Any) -> tuple[np.ndarray, float, bool, bool]:
        if not self._discrete_action:
            action = np.asarray(action, dtype=self.single_action_space.dtype)
        obs, reward, terminated, truncated, _ = self.gym_env.step(action)
        return np.asarray(obs, dtype=np.float64).ravel(), float(reward), bool(terminated), bool(
            truncated)

    # -- the VectorEnv API, in Python --------------------------------------------
    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if isinstance(seed, (list, tuple)):
            if len(seed) != 1:
                raise ValueError(f"seed must have one entry per env (1), got {len(seed)}")
            seed = seed[0]
        if seed is not None:
            seed = check_seed(seed)
        obs, info = self.gym_env.reset(seed=seed, options=options)
        self._first_reset = False
        self._needs_reset = False
        return self._batch(obs), info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        if self._needs_reset:  # next-step autoreset, as Gymnasium's vector envs
            obs, info = self.reset()
            return obs, np.zeros(1), np.zeros(1, dtype=bool), np.zeros(1, dtype=bool), info
        batch = np.asarray(actions)
        if batch.shape != self.action_space.shape:
            raise ValueError(f"actions must have shape {self.action_space.shape}, got {batch.shape}")
        action = batch[0]
        if self._discrete_action:
            if batch.dtype.kind not in "iu":
                raise TypeError(f"actions must be an integer array, got dtype {batch.dtype}")
            action = int(action)
        else:
            action = action.astype(self.single_action_space.dtype)
        if not self.single_action_space.contains(action):
            raise ValueError(f"actions[0] = {action!r} is not in {self.single_action_space}")
        obs, reward, terminated, truncated, info = self.gym_env.step(action)
        self._needs_reset = bool(terminated or truncated)
        return (self._batch(obs), np.array([float(reward)]), np.array([bool(terminated)]),
                np.array([bool(truncated)]), info)

    def _batch(self, obs: Any) -> np.ndarray:
        return np.asarray(obs, dtype=self.single_observation_space.dtype)[None, ...]

    def get_state(self) -> np.ndarray:
        raise NotImplementedError("a Python-stepped Gymnasium env has no pgfast state")

    def set_state(self, states: Any) -> None:
        raise NotImplementedError("a Python-stepped Gymnasium env has no pgfast state")

    def close_extras(self, **kwargs: Any) -> None:
        self.gym_env.close()
        super().close_extras(**kwargs)


def _gym_make(env_id: str) -> gym.Env:
    """gymnasium.make for an id pgfast does not have, with its errors as ValueError."""
    if not env_id or not all(c.isalnum() or c in "-_/.:" for c in env_id):
        raise ValueError(f"unknown environment id {env_id!r}")
    if ":" in env_id:
        # "module:Env-v0" would make Gymnasium import a module named by the caller.
        raise ValueError(f"environment ids with a module prefix are not accepted: {env_id!r}")
    try:
        return gym.make(env_id)
    except gym.error.Error as exc:
        raise ValueError(f"unknown environment id {env_id!r}: pgfast has {', '.join(list_envs())}"
                         f"; Gymnasium says: {exc}") from None


def _spec_tuple(space: gym.Space) -> tuple:
    if isinstance(space, gym.spaces.Discrete):
        return ("discrete", int(space.n))
    assert isinstance(space, gym.spaces.Box)
    return ("box", [float(v) for v in space.low], [float(v) for v in space.high])


def as_vector_env(env: Any) -> VectorEnv:
    """A pgfast env as is; a ``gymnasium.Env``, or an id pgfast does not have,
    as a :class:`GymnasiumEnv`."""
    if isinstance(env, VectorEnv):
        return env
    if isinstance(env, gym.Env):
        return GymnasiumEnv(env)
    if isinstance(env, str):
        return make(env) if env in list_envs() else GymnasiumEnv(env)
    raise TypeError(f"env must be a pgfast.VectorEnv, a gymnasium.Env or an env id, got "
                    f"{type(env).__name__}")


class SingleEnv(gym.Env):
    """A one-env :class:`VectorEnv` as a plain ``gymnasium.Env`` (it passes
    ``gymnasium.utils.env_checker.check_env``).

    Example:
        >>> import pgfast as pg
        >>> env = pg.SingleEnv(pg.make("CartPole-v1", seed=0))
        >>> obs, info = env.reset(seed=1)
        >>> obs.shape
        (4,)
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, env: VectorEnv) -> None:
        if not isinstance(env, VectorEnv):
            raise TypeError(f"env must be a pgfast.VectorEnv, got {type(env).__name__}")
        if env.num_envs != 1:
            raise ValueError(f"SingleEnv needs num_envs == 1, got {env.num_envs}")
        self.env = env
        self.observation_space = env.single_observation_space
        self.action_space = env.single_action_space
        self._discrete_action = isinstance(self.action_space, gym.spaces.Discrete)
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        obs, info = self.env.reset(seed=seed, options=options)
        self._needs_reset = False
        return obs[0], info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            raise RuntimeError("the episode has ended (or never began): call reset() first")
        batch = (np.array([action], dtype=np.int64) if self._discrete_action
                 else np.asarray(action, dtype=np.float64).reshape(1, -1))
        obs, reward, terminated, truncated, info = self.env.step(batch)
        self._needs_reset = bool(terminated[0] or truncated[0])
        return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def close(self) -> None:
        self.env.close()


class LQREnv(VectorEnv):
    """The linear-quadratic regulator ``x' = A x + B u + noise_std w``, reward
    ``-(x'Qx + u'Ru)``, ``x0 ~ N(0, init_std^2 I)``. Made by ``pg.make("LQR", ...)``."""

    def __init__(self, core: _core.VecEnv, A: np.ndarray, B: np.ndarray, Q: np.ndarray,
                 R: np.ndarray, init_std: float, noise_std: float) -> None:
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


def _bound(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = as_float_array(value, name)
    if arr.ndim == 0:
        return np.full(shape, float(arr))
    if arr.shape != shape:
        raise ValueError(f"{name} must be a scalar or have shape {shape}, got {arr.shape}")
    return arr


def _pop_required(params: dict[str, Any], name: str, env_id: str) -> Any:
    if name not in params:
        raise TypeError(f"{env_id} needs the parameter {name!r}")
    return params.pop(name)


def _reject_unknown(params: dict[str, Any], env_id: str, known: list[str]) -> None:
    if params:
        raise TypeError(
            f"unexpected parameter(s) {sorted(params)} for {env_id}; "
            f"it accepts: {', '.join(known) if known else 'none'}"
        )


def make(
    id: str | TabularMDP,  # noqa: A002 - Gymnasium's name for it
    num_envs: int = 1,
    seed: int | None = None,
    num_threads: int = 1,
    *,
    max_episode_steps: int | None = None,
    **params: Any,
) -> VectorEnv:
    """Create ``num_envs`` copies of an environment, stepped in C++.

    Args:
        id: an id from :func:`list_envs`, or a :class:`TabularMDP`.
        num_envs: number of environments in the batch.
        seed: seed of the random streams (drawn from the OS when ``None``).
        num_threads: threads used to step large batches; results do not depend on it.
        max_episode_steps: override the time limit (Gymnasium's by default).
        **params: for classic-control envs, physical constants as a scalar or
            one value per env (``gravity=np.linspace(9, 11, 8)``; see
            ``env.param_names``). ``FrozenLake-v1``: ``is_slippery``.
            ``Bandit``: ``means``, ``stds=1.0``. ``ContinuousBandit``:
            ``a_star``, ``noise_std=0.0``, ``low=-inf``, ``high=inf``.
            ``LQR``: ``A``, ``B``, ``Q``, ``R``, ``init_std=1.0``,
            ``noise_std=0.0`` (default time limit 100).

    Example:
        >>> import numpy as np, pgfast as pg
        >>> env = pg.make("CartPole-v1", num_envs=8, seed=0, gravity=np.linspace(9.0, 11.0, 8))
        >>> env.get_param("gravity")[[0, -1]]
        array([ 9., 11.])
    """
    num_envs = check_int(num_envs, "num_envs", minimum=1, maximum=2**24)
    num_threads = check_int(num_threads, "num_threads", minimum=1, maximum=256)
    seed = secrets.randbits(64) if seed is None else check_seed(seed)
    if max_episode_steps is not None:
        max_episode_steps = check_int(max_episode_steps, "max_episode_steps", minimum=1)
    params = dict(params)

    if isinstance(id, TabularMDP):
        _reject_unknown(params, id.name, [])
        return _make_tabular(id, num_envs, seed, num_threads, max_episode_steps)
    if not isinstance(id, str):
        raise TypeError(f"id must be an environment id or a TabularMDP, got {type(id).__name__}")

    if id in _CLASSIC_IDS:
        core = _core.make_classic(id, num_envs, seed, num_threads)
        env = VectorEnv(core)
        known = env.param_names
        _reject_unknown({k: v for k, v in params.items() if k not in known}, id, known)
        for name, value in params.items():
            env.set_param(name, value)
        if max_episode_steps is not None:
            core.max_episode_steps = max_episode_steps
        if params:
            env.reset(seed=seed)  # initial states drawn with the new constants
        return env
    if id in ("FrozenLake-v1", "FrozenLake8x8-v1"):
        is_slippery = params.pop("is_slippery", True)
        _reject_unknown(params, id, ["is_slippery"])
        if not isinstance(is_slippery, (bool, np.bool_)):
            raise TypeError(f"is_slippery must be a bool, got {is_slippery!r}")
        mdp = TabularMDP.frozen_lake("4x4" if id == "FrozenLake-v1" else "8x8", bool(is_slippery))
        return _make_tabular(mdp, num_envs, seed, num_threads, max_episode_steps)
    if id == "CliffWalking-v1":
        _reject_unknown(params, id, [])
        return _make_tabular(TabularMDP.cliff_walking(), num_envs, seed, num_threads,
                             max_episode_steps)
    if id == "Bandit":
        means = as_float_array(_pop_required(params, "means", id), "means", ndim=1)
        stds = as_float_array(params.pop("stds", 1.0), "stds")
        _reject_unknown(params, id, ["means", "stds"])
        stds = np.broadcast_to(stds, means.shape).copy() if stds.ndim == 0 else stds
        return VectorEnv(_core.make_bandit(means, stds, num_envs, seed, num_threads))
    if id == "ContinuousBandit":
        a_star = as_float_array(_pop_required(params, "a_star", id), "a_star")
        a_star = a_star.reshape(1) if a_star.ndim == 0 else a_star
        noise_std = check_real(params.pop("noise_std", 0.0), "noise_std", minimum=0.0)
        low = _bound(params.pop("low", -np.inf), "low", a_star.shape)
        high = _bound(params.pop("high", np.inf), "high", a_star.shape)
        _reject_unknown(params, id, ["a_star", "noise_std", "low", "high"])
        return VectorEnv(_core.make_continuous_bandit(
            a_star, noise_std, low, high, num_envs, seed, num_threads))
    if id == "LQR":
        mats = {k: as_float_array(_pop_required(params, k, id), k, ndim=2) for k in "ABQR"}
        init_std = check_real(params.pop("init_std", 1.0), "init_std", minimum=0.0)
        noise_std = check_real(params.pop("noise_std", 0.0), "noise_std", minimum=0.0)
        _reject_unknown(params, id, ["A", "B", "Q", "R", "init_std", "noise_std"])
        steps = 100 if max_episode_steps is None else max_episode_steps
        core = _core.make_lqr(mats["A"], mats["B"], mats["Q"], mats["R"], init_std, noise_std,
                              steps, num_envs, seed, num_threads)
        return LQREnv(core, mats["A"], mats["B"], mats["Q"], mats["R"], init_std, noise_std)
    raise ValueError(f"unknown environment id {id!r}; known ids: {', '.join(list_envs())}")


def _make_tabular(mdp: TabularMDP, num_envs: int, seed: int, num_threads: int,
                  max_episode_steps: int | None) -> VectorEnv:
    steps = max_episode_steps if max_episode_steps is not None else mdp.max_episode_steps
    if steps != mdp.max_episode_steps:
        # env.mdp must describe the env as stepped (pg.exact reads its time limit).
        mdp = TabularMDP(mdp.P, mdp.R, mdp.initial, mdp.terminal, steps, name=mdp.name)
    core = _core.make_tabular(mdp.P, mdp.R, mdp.initial, mdp.terminal, steps or 0, mdp.name,
                              num_envs, seed, num_threads)
    return VectorEnv(core, mdp=mdp)
