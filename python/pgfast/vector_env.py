"""The batch of environments stepped in C++ that :func:`pgfast.make` returns: :class:`VectorEnv`."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from pgfast import _core
from pgfast._validation import as_float_array, check_seed
from pgfast.mdp import TabularMDP

#: The door an env came through: what computes its steps (see :attr:`VectorEnv.backend`).
Backend = Literal["native", "native-table", "numba", "gymnasium-vector", "gymnasium-callback"]

#: For people: what runs each step of an env with that backend, and what it costs.
BACKEND_NOTES: Mapping[str, str] = MappingProxyType(
    {
        "native": "stepped in C++ by pgfast",
        "native-table": "TabularMDP from Gymnasium's P tables, stepped in C++",
        "numba": "numba-compiled Python functions called from C++; no Python per step",
        "gymnasium-vector": "a Gymnasium vector env; one Python call per batch step",
        "gymnasium-callback": "one Python call per step; slow",
    }
)


def _space(spec: tuple) -> gym.Space:
    if spec[0] == "discrete":
        return gym.spaces.Discrete(int(spec[1]))
    _, shape, low, high, dtype = spec
    return gym.spaces.Box(
        low=np.asarray(low, dtype=dtype),
        high=np.asarray(high, dtype=dtype),
        shape=tuple(shape),
        dtype=np.dtype(dtype),
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

    # Gymnasium declares metadata an instance attribute; each class sets its own.
    metadata: dict[str, Any] = {  # noqa: RUF012
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": [],
    }

    #: The :class:`pgfast.NativeEnv` a numba env was made from (``None`` for the others).
    native: Any = None

    #: What :attr:`backend` reports: subclasses override it, builders pass ``backend=``.
    _backend: Backend = "native"

    def __init__(
        self, core: _core.VecEnv, mdp: TabularMDP | None = None, *, backend: Backend | None = None
    ) -> None:
        if backend is not None:
            if backend not in BACKEND_NOTES:
                raise ValueError(f"backend must be one of {list(BACKEND_NOTES)}, got {backend!r}")
            self._backend = backend
        self._core = core
        self._id = core.id  # kept for repr() after close()
        self.num_envs = core.num_envs
        self.single_observation_space = _space(core.observation_space)
        self.single_action_space = _space(core.action_space)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        #: The tables of a tabular env (``None`` for the others).
        self.mdp = mdp
        # Gymnasium's order: reset() (or set_state()) before the first step().
        self._has_state = False
        self.render_mode: str | None = None
        self._renderer: Any = None
        self._last_action: Any = None

    @property
    def id(self) -> str:
        """The environment id, e.g. ``"CartPole-v1"``."""
        return self._id

    @property
    def backend(self) -> Backend:
        """The door this env came through, i.e. what computes its steps (fastest first):

        - ``"native"``: a built-in C++ env, or a TabularMDP or LQR made by pgfast.
        - ``"native-table"``: a Gymnasium toy-text id converted from its ``unwrapped.P``
          tables to a :class:`TabularMDP`, then stepped in C++ like ``"native"``.
        - ``"numba"``: Python functions compiled by numba, called from C++ without the GIL.
        - ``"gymnasium-vector"``: a ``gymnasium.vector.VectorEnv``, one Python call per
          batch step.
        - ``"gymnasium-callback"``: a single ``gymnasium.Env`` (:class:`pgfast.GymnasiumEnv`),
          one Python call per env step: the slowest.

        Recorded so that the CLI and run directories can say which door a run took
        (a slow door is the usual reason a run is slow); see
        :func:`pgfast.envs.describe_backend`.

        >>> import pgfast as pg
        >>> pg.make("CartPole-v1", seed=0).backend
        'native'
        """
        return self._backend

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
        # Even a reset that fails leaves every env to start over on its next step.
        self._has_state = True
        obs = self._core.reset(mask)
        if self.render_mode == "human":
            self._last_action = None
            self.render()
        return obs, {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every env with ``actions`` (int64 ``(num_envs,)`` for Discrete
        actions, float ``(num_envs, action_dim)`` for Box actions).

        Continuous actions are rounded to the action space's dtype (float32
        for the classic-control envs, as ``action_space.sample()`` gives) and
        clipped inside the env where Gymnasium clips them. Raises
        ``gymnasium.error.ResetNeeded`` before the first ``reset()`` (or
        ``set_state()``), as Gymnasium's envs do.
        """
        if not self._has_state and not self.closed:  # a closed env says so instead
            raise gym.error.ResetNeeded("Cannot call env.step() before calling env.reset()")
        obs, reward, terminated, truncated = self._core.step(actions)
        if self._renderer is not None:  # Pendulum's picture shows the last torque
            space: Any = self.single_action_space
            first = np.asarray(actions)[0]
            box = isinstance(space, gym.spaces.Box)
            self._last_action = np.clip(first, space.low, space.high) if box else first
            if self.render_mode == "human":
                self.render()
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
        self._has_state = True

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

    def render(self) -> Any:
        """With ``pg.make(..., num_envs=1, render_mode="rgb_array")``: the env's
        picture, an ``(H, W, 3)`` uint8 array drawn by Gymnasium's renderer from the
        exact state (:mod:`pgfast.render`); ``None`` without a render mode."""
        if self._renderer is None:
            return None
        return self._renderer.frame(self.get_state()[0], self._last_action)

    def close_extras(self, **kwargs: Any) -> None:
        if self._renderer is not None:
            self._renderer.close()
        self._core.close()

    #: How :func:`pgfast.make` built this env (its arguments), set by ``make``:
    #: pickling sends this recipe, never the C++ memory.
    _recipe: dict[str, Any] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its recipe: ``make``'s arguments, then the parameters as they
        are now (``set_param``) and the time limit. The rebuilt env starts from its
        seed's streams; a training batch draws its own per episode, so a rebuilt
        env gives the same batches (how Ray workers get their env).

        >>> import pickle, pgfast as pg
        >>> env = pg.make("CartPole-v1", num_envs=2, seed=0, gravity=[9.0, 11.0])
        >>> pickle.loads(pickle.dumps(env)).get_param("gravity")
        array([ 9., 11.])
        """
        if self._recipe is None:
            raise TypeError(
                f"{self.id} cannot be pickled: only envs made by pgfast.make (built-in ids, "
                "TabularMDPs, LQRs, NativeEnvs) travel as a recipe; Python-stepped envs "
                "(Gymnasium envs and vector envs) stay in their process"
            )
        params = {name: self.get_param(name) for name in self.param_names}
        return (_rebuild, (self._recipe, params, self.max_episode_steps))

    def __repr__(self) -> str:
        return f"pgfast.VectorEnv({self.id}, num_envs={self.num_envs})"


def _rebuild(
    recipe: dict[str, Any], params: dict[str, np.ndarray], max_episode_steps: int | None
) -> VectorEnv:
    from pgfast.envs import make  # envs imports this module

    recipe = dict(recipe)
    recipe["max_episode_steps"] = max_episode_steps
    env = make(**recipe)
    for name, values in params.items():
        env.set_param(name, values)
    return env
