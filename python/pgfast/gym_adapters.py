"""Gymnasium interop: any Gymnasium vector env in (:class:`GymnasiumVectorEnv`, one
Python call per batch step), any single Gymnasium env in (:class:`GymnasiumEnv`, one
Python call per env step), and a one-env pgfast env out as a plain ``gymnasium.Env``
(:class:`SingleEnv`)."""

from __future__ import annotations

import secrets
import weakref
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from pgfast import _core
from pgfast._validation import check_seed
from pgfast.registry import ids
from pgfast.vector_env import Backend, VectorEnv


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
        >>> env.backend
        'gymnasium-callback'
    """

    # Even for a toy-text env pgfast could run from its tables: the caller chose this
    # env object (with its wrappers), so it is what gets stepped.
    _backend: Backend = "gymnasium-callback"

    def __init__(self, env: gym.Env | str, seed: int | None = None) -> None:
        if isinstance(env, str):
            env = _gym_make(env)
        if not isinstance(env, gym.Env):
            raise TypeError(f"env must be a gymnasium.Env or an id, got {type(env).__name__}")
        _check_spaces(env.observation_space, env.action_space)
        self.gym_env = env
        self._seed = secrets.randbits(64) if seed is None else check_seed(seed)
        self._first_reset = True
        self._discrete_action = isinstance(env.action_space, gym.spaces.Discrete)
        self._needs_reset = True
        spec = getattr(env, "spec", None)
        core = _core.make_callback_env(
            _weak_method(self, "_engine_reset"),
            _weak_method(self, "_engine_step"),
            1,
            _spec_tuple(env.observation_space),
            _spec_tuple(env.action_space),
            getattr(spec, "id", None) or type(env.unwrapped).__name__,
        )
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
        return (
            np.asarray(obs, dtype=np.float64).ravel(),
            float(reward),
            bool(terminated),
            bool(truncated),
        )

    # -- the VectorEnv API, in Python --------------------------------------------
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
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

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self._needs_reset:  # next-step autoreset, as Gymnasium's vector envs
            obs, info = self.reset()
            return obs, np.zeros(1), np.zeros(1, dtype=bool), np.zeros(1, dtype=bool), info
        batch = np.asarray(actions)
        if batch.shape != self.action_space.shape:
            raise ValueError(
                f"actions must have shape {self.action_space.shape}, got {batch.shape}"
            )
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
        return (
            self._batch(obs),
            np.array([float(reward)]),
            np.array([bool(terminated)]),
            np.array([bool(truncated)]),
            info,
        )

    def _batch(self, obs: Any) -> np.ndarray:
        return np.asarray(obs, dtype=self.single_observation_space.dtype)[None, ...]

    def get_state(self) -> np.ndarray:
        raise NotImplementedError("a Python-stepped Gymnasium env has no pgfast state")

    def set_state(self, states: Any) -> None:
        raise NotImplementedError("a Python-stepped Gymnasium env has no pgfast state")

    def close_extras(self, **kwargs: Any) -> None:
        self.gym_env.close()
        super().close_extras(**kwargs)


class GymnasiumVectorEnv(VectorEnv):
    """Any ``gymnasium.vector.VectorEnv`` (Gymnasium's NumPy-vectorised envs,
    ``SyncVectorEnv``, ``gymnasium.make_vec``, vector wrappers, also around a pgfast
    env) as a :class:`VectorEnv` the engine trains on.

    The engine computes all ``num_envs`` actions in C++ and calls the env's ``step``
    once per batch step, honouring its autoreset mode (next-step, same-step, or
    disabled, where pgfast resets ended envs with ``reset_mask``). Each batch starts
    with ``reset()`` (seeded with ``seed`` the first time); env ``i`` contributes a
    number of episodes fixed before they start, as with pgfast's own envs, so short
    episodes are not favoured. Envs past their share keep stepping (a vector env
    cannot pause one env), unrecorded, with action 0 (a Box action: 0 clipped to the
    box).

    Its ``reset``/``step`` are the wrapped env's own.

    Example:
        >>> import gymnasium as gym, pgfast as pg
        >>> venv = gym.make_vec("CartPole-v1", num_envs=8, vectorization_mode="vector_entry_point")
        >>> env = pg.GymnasiumVectorEnv(venv, seed=0)
        >>> env.num_envs, env.backend
        (8, 'gymnasium-vector')
    """

    _backend = "gymnasium-vector"

    def __init__(self, env: gym.vector.VectorEnv, seed: int | None = None) -> None:
        if not isinstance(env, gym.vector.VectorEnv):
            raise TypeError(f"env must be a gymnasium.vector.VectorEnv, got {type(env).__name__}")
        single_obs, single_act = env.single_observation_space, env.single_action_space
        _check_spaces(single_obs, single_act)
        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if not isinstance(mode, AutoresetMode):
            raise ValueError(f"unknown autoreset mode {mode!r}")
        self.gym_env = env
        self.autoreset_mode = mode
        self._seed = secrets.randbits(64) if seed is None else check_seed(seed)
        self._first_reset = True
        self._discrete_action = isinstance(single_act, gym.spaces.Discrete)
        self._obs_size = (
            int(np.prod(single_obs.shape)) if isinstance(single_obs, gym.spaces.Box) else 1
        )
        spec = getattr(env, "spec", None)
        core = _core.make_lockstep_env(
            _weak_method(self, "_engine_reset_all"),
            _weak_method(self, "_engine_step_all"),
            env.num_envs,
            _spec_tuple(single_obs),
            _spec_tuple(single_act),
            getattr(spec, "id", None) or type(env.unwrapped).__name__,
            mode != AutoresetMode.NEXT_STEP,
        )
        super().__init__(core)
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.single_observation_space = single_obs
        self.single_action_space = single_act
        self.observation_space = env.observation_space
        self.action_space = env.action_space
        self._gym_max_steps = getattr(spec, "max_episode_steps", None)

    @property
    def max_episode_steps(self) -> int | None:
        return self._gym_max_steps

    # -- called by the C++ engine (with the GIL) --------------------------------
    def _rows(self, obs: Any) -> np.ndarray:
        return np.asarray(obs, dtype=np.float64).reshape(self.num_envs, self._obs_size)

    def _engine_reset_all(self) -> np.ndarray:
        seed = self._seed if self._first_reset else None
        self._first_reset = False
        obs, _ = self.gym_env.reset(seed=seed)
        return self._rows(obs)

    def _engine_step_all(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self._discrete_action:
            actions = actions.astype(self.single_action_space.dtype)
        obs, reward, terminated, truncated, info = self.gym_env.step(actions)
        rows = self._rows(obs)
        done = np.logical_or(terminated, truncated)
        final = rows
        if done.any():
            if self.autoreset_mode == AutoresetMode.SAME_STEP:
                final = rows.copy()
                for i in np.flatnonzero(info.get("_final_obs", done)):
                    final[i] = np.asarray(info["final_obs"][i], dtype=np.float64).ravel()
            elif self.autoreset_mode == AutoresetMode.DISABLED:
                obs, _ = self.gym_env.reset(options={"reset_mask": done})
                rows = np.where(done[:, None], self._rows(obs), rows)
        return rows, np.asarray(reward, dtype=np.float64), terminated, truncated, final

    # -- the VectorEnv API: the wrapped env's ------------------------------------
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self._first_reset = False
        wrapped: Any = self.gym_env  # Gymnasium's vector envs take a list of seeds too
        return wrapped.reset(seed=seed, options=options)

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        return self.gym_env.step(actions)

    def get_state(self) -> np.ndarray:
        raise NotImplementedError("a Gymnasium vector env has no pgfast state")

    def set_state(self, states: Any) -> None:
        raise NotImplementedError("a Gymnasium vector env has no pgfast state")

    def close_extras(self, **kwargs: Any) -> None:
        self.gym_env.close()
        super().close_extras(**kwargs)

    def __repr__(self) -> str:
        return f"pgfast.GymnasiumVectorEnv({self.gym_env!r})"


def _weak_method(obj: Any, name: str) -> Any:
    """``getattr(obj, name)`` for the C++ env to call, holding ``obj`` weakly: a bound
    method would make a cycle through C++ (obj -> its engine env -> the method ->
    obj) that Python's collector cannot see, and the env, with any worker processes
    of the Gymnasium env it wraps, would live until the interpreter exits."""
    ref = weakref.ref(obj)

    def call(*args: Any) -> Any:
        target = ref()
        if target is None:  # pragma: no cover - the engine env dies with its owner
            raise RuntimeError("the environment was garbage-collected")
        return getattr(target, name)(*args)

    return call


def _check_spaces(observation_space: gym.Space, action_space: gym.Space) -> None:
    for name, space in (("observation", observation_space), ("action", action_space)):
        if isinstance(space, gym.spaces.Discrete) and int(space.start) != 0:
            # pgfast numbers discrete values from 0; an offset would shift every
            # action and observation silently.
            raise ValueError(f"Discrete {name} spaces must start at 0, got start={space.start}")
        if isinstance(space, gym.spaces.Box) and len(space.shape) != 1:
            raise ValueError(f"only 1-D Box {name} spaces are supported, got {space.shape}")
        if not isinstance(space, (gym.spaces.Box, gym.spaces.Discrete)):
            raise ValueError(
                f"only Box and Discrete {name} spaces are supported, got {type(space).__name__}"
            )


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

    # Gymnasium declares metadata an instance attribute; each class sets its own.
    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

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
        self.render_mode = env.render_mode
        self.metadata = {**env.metadata}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        obs, info = self.env.reset(seed=seed, options=options)
        self._needs_reset = False
        return obs[0], info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            raise RuntimeError("the episode has ended (or never began): call reset() first")
        batch = (
            np.array([action], dtype=np.int64)
            if self._discrete_action
            else np.asarray(action, dtype=np.float64).reshape(1, -1)
        )
        obs, reward, terminated, truncated, info = self.env.step(batch)
        self._needs_reset = bool(terminated[0] or truncated[0])
        return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def render(self) -> Any:
        """The wrapped env's frame (``pg.make(..., render_mode="rgb_array")``)."""
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def has_vector_entry_point(env_id: str) -> bool:
    """Whether Gymnasium registers a vectorised env for ``env_id`` (e.g. CartPole-v0)."""
    spec = gym.registry.get(env_id)
    return spec is not None and spec.vector_entry_point is not None


def gymnasium_vector(env_id: str, num_envs: int = 1, **kwargs: Any) -> gym.vector.VectorEnv | None:
    """``gymnasium.make_vec(env_id, num_envs, vectorization_mode="vector_entry_point")``
    when Gymnasium registers a vector entry point for ``env_id`` that can be built here
    (e.g. CartPole's NumPy-vectorised env), else None. Errors building it (a JAX env
    without jax) propagate."""
    if not has_vector_entry_point(env_id):
        return None
    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


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
        raise ValueError(
            f"unknown environment id {env_id!r}: pgfast has {', '.join(ids())}"
            f"; Gymnasium says: {exc}"
        ) from None


def _spec_tuple(space: gym.Space) -> tuple:
    if isinstance(space, gym.spaces.Discrete):
        return ("discrete", int(space.n))
    assert isinstance(space, gym.spaces.Box)
    return ("box", [float(v) for v in space.low], [float(v) for v in space.high])
