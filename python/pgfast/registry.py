"""The env registry: each id :func:`pgfast.make` accepts, mapped to an :class:`EnvSpec`
(its builder, parameters with their defaults and docs, a description and its spaces).

:func:`pgfast.make`, :func:`pgfast.list_envs` and ``make``'s docstring read it.

>>> from pgfast import registry
>>> spec = registry.lookup("Bandit")
>>> spec.description
'k-armed bandit with Gaussian rewards; one-step episodes'
>>> [(p.name, p.default) for p in spec.params]
[('means', REQUIRED), ('stds', 1.0)]
>>> spec.spaces(means=[0.0, 1.0, 2.0])
(Discrete(1), Discrete(3))
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import gymnasium as gym
import numpy as np

from pgfast import _core
from pgfast._validation import as_float_array, check_real
from pgfast.lqr import build_lqr, lqr_spaces
from pgfast.mdp import TabularMDP
from pgfast.vector_env import Backend, VectorEnv

#: ``(num_envs, seed, num_threads, max_episode_steps, **params) -> VectorEnv``; ``make`` has
#: checked the four arguments and filled in every parameter's default.
Builder = Callable[..., VectorEnv]
#: ``params -> (single_observation_space, single_action_space)``, for params with defaults.
SpacesOf = Callable[[Mapping[str, Any]], tuple[gym.Space, gym.Space]]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a parameter that must be given.
REQUIRED: Final = _Required()


@dataclass(frozen=True)
class Param:
    """One keyword parameter of an env."""

    name: str
    doc: str
    default: Any = REQUIRED


@dataclass(frozen=True)
class EnvSpec:
    """What the registry knows of one env id."""

    id: str
    description: str
    builder: Builder
    spaces_of: SpacesOf
    params: tuple[Param, ...] = ()
    #: Values for the required parameters, enough to build the env.
    example: Mapping[str, Any] = field(default_factory=dict)

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.params]

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` with every default filled in; refuses missing and unknown names."""
        for p in self.params:
            if p.default is REQUIRED and p.name not in params:
                raise TypeError(f"{self.id} needs the parameter {p.name!r}")
        reject_unknown(params, self.id, self.param_names)
        return {p.name: params.get(p.name, p.default) for p in self.params}

    def build(
        self,
        num_envs: int,
        seed: int,
        num_threads: int,
        max_episode_steps: int | None,
        params: Mapping[str, Any],
    ) -> VectorEnv:
        return self.builder(num_envs, seed, num_threads, max_episode_steps, **self.resolve(params))

    def spaces(self, **params: Any) -> tuple[gym.Space, gym.Space]:
        """The single observation and action spaces of the env made with ``params``."""
        return self.spaces_of(self.resolve(params))


def reject_unknown(params: Mapping[str, Any], env_id: str, known: list[str]) -> None:
    if params.keys() - set(known):
        unknown = sorted(params.keys() - set(known))
        raise TypeError(
            f"unexpected parameter(s) {unknown} for {env_id}; "
            f"it accepts: {', '.join(known) if known else 'none'}"
        )


_REGISTRY: dict[str, EnvSpec] = {}
#: Read-only view: env id -> :class:`EnvSpec`, in registration order.
REGISTRY: Mapping[str, EnvSpec] = MappingProxyType(_REGISTRY)


def register(spec: EnvSpec) -> EnvSpec:
    """Add an env id (``ValueError`` if it is taken)."""
    if spec.id in _REGISTRY:
        raise ValueError(f"environment id {spec.id!r} is already registered")
    _REGISTRY[spec.id] = spec
    return spec


def ids() -> list[str]:
    """The registered ids, in registration order."""
    return list(_REGISTRY)


def lookup(env_id: str) -> EnvSpec:
    """The spec of ``env_id``; ``ValueError`` listing the registered ids if there is none."""
    if env_id not in _REGISTRY:
        raise ValueError(f"unknown environment id {env_id!r}; known ids: {', '.join(ids())}")
    return _REGISTRY[env_id]


def params_doc(indent: str = "") -> str:
    """One line per id with parameters: ``ID: name (required), name=default``."""

    def shown(p: Param) -> str:
        if p.default is REQUIRED:
            return f"``{p.name}`` (required)"
        return f"``{p.name}={p.default!r}``"

    return "\n".join(
        f"{indent}``{s.id}``: {', '.join(shown(p) for p in s.params)}."
        for s in _REGISTRY.values()
        if s.params
    )


# ---------------------------------------------------------------------- classic control


def _classic_spec(env_id: str) -> EnvSpec:
    probe = VectorEnv(_core.make_classic(env_id, 1, 0, 1))
    defaults = {name: float(probe.get_param(name)[0]) for name in probe.param_names}
    spaces = (probe.single_observation_space, probe.single_action_space)
    probe.close()

    def build(
        num_envs: int, seed: int, num_threads: int, max_episode_steps: int | None, **constants: Any
    ) -> VectorEnv:
        core = _core.make_classic(env_id, num_envs, seed, num_threads)
        env = VectorEnv(core)
        given = {k: v for k, v in constants.items() if v is not defaults[k]}
        for name, value in given.items():
            env.set_param(name, value)
        if max_episode_steps is not None:
            core.max_episode_steps = max_episode_steps
        if given:
            env.reset(seed=seed)  # initial states drawn with the new constants
        return env

    params = tuple(
        Param(name, "physical constant: a scalar or one value per env", value)
        for name, value in defaults.items()
    )
    return EnvSpec(
        env_id,
        "Gymnasium's classic-control env, ported bit-exactly to C++",
        build,
        lambda _: spaces,
        params,
    )


# ----------------------------------------------------------------------------- tabular


def build_tabular(
    mdp: TabularMDP,
    num_envs: int,
    seed: int,
    num_threads: int,
    max_episode_steps: int | None,
    *,
    backend: Backend = "native",
) -> VectorEnv:
    """A :class:`VectorEnv` stepping ``mdp`` (``max_episode_steps`` overrides its time limit);
    ``backend`` says where the tables came from (``"native-table"``: Gymnasium's ``P``)."""
    steps = max_episode_steps if max_episode_steps is not None else mdp.max_episode_steps
    if steps != mdp.max_episode_steps:
        # env.mdp must describe the env as stepped (pg.exact reads its time limit).
        mdp = TabularMDP(mdp.P, mdp.R, mdp.initial, mdp.terminal, steps, name=mdp.name)
    core = _core.make_tabular(
        mdp.P, mdp.R, mdp.initial, mdp.terminal, steps or 0, mdp.name, num_envs, seed, num_threads
    )
    return VectorEnv(core, mdp=mdp, backend=backend)


def _frozen_lake(map_name: str) -> Builder:
    def build(
        num_envs: int,
        seed: int,
        num_threads: int,
        max_episode_steps: int | None,
        *,
        is_slippery: Any,
    ) -> VectorEnv:
        if not isinstance(is_slippery, (bool, np.bool_)):
            raise TypeError(f"is_slippery must be a bool, got {is_slippery!r}")
        mdp = TabularMDP.frozen_lake(map_name, bool(is_slippery))
        return build_tabular(mdp, num_envs, seed, num_threads, max_episode_steps)

    return build


def _cliff_walking(
    num_envs: int, seed: int, num_threads: int, max_episode_steps: int | None
) -> VectorEnv:
    return build_tabular(TabularMDP.cliff_walking(), num_envs, seed, num_threads, max_episode_steps)


# ------------------------------------------------------------ Gymnasium's toy-text tables
# A toy-text env steps by looking up unwrapped.P, so its tables are the whole env: read
# once into a TabularMDP, it runs in C++ like pgfast's own tables ("native-table")
# instead of calling Python at every step. Converting means creating the Gymnasium env,
# so it happens when an id is first made (not at `import pgfast`) and is cached.


@functools.lru_cache(maxsize=8)
def _toy_text_mdp(env_id: str, kwargs: tuple[tuple[str, Any], ...]) -> TabularMDP:
    """``TabularMDP.from_gymnasium(gymnasium.make(env_id, **kwargs))``, once per process.

    The arrays are read-only, so every env made from the id shares them. The cache is
    bounded because a Taxi MDP holds 24 MB of dense tables and a sweep over a float
    parameter would otherwise keep them all.
    """
    gym_env = gym.make(env_id, **dict(kwargs))
    try:
        return TabularMDP.from_gymnasium(gym_env)
    finally:
        gym_env.close()


#: ``params -> gymnasium.make kwargs``: checks a toy-text id's parameters.
GymKwargs = Callable[[Mapping[str, Any]], dict[str, Any]]


def _toy_text_spec(
    env_id: str, description: str, parameters: tuple[Param, ...], gym_kwargs: GymKwargs
) -> EnvSpec:
    """The spec of a Gymnasium toy-text id run from its converted tables."""

    def mdp_of(params: Mapping[str, Any]) -> TabularMDP:
        return _toy_text_mdp(env_id, tuple(sorted(gym_kwargs(params).items())))

    def build(
        num_envs: int, seed: int, num_threads: int, max_episode_steps: int | None, **params: Any
    ) -> VectorEnv:
        mdp = mdp_of(params)
        return build_tabular(
            mdp, num_envs, seed, num_threads, max_episode_steps, backend="native-table"
        )

    def spaces_of(params: Mapping[str, Any]) -> tuple[gym.Space, gym.Space]:
        mdp = mdp_of(params)
        return gym.spaces.Discrete(mdp.n_states), gym.spaces.Discrete(mdp.n_actions)

    return EnvSpec(env_id, description, build, spaces_of, parameters)


def _taxi_kwargs(params: Mapping[str, Any]) -> dict[str, Any]:
    is_rainy = params["is_rainy"]
    if not isinstance(is_rainy, (bool, np.bool_)):
        raise TypeError(f"is_rainy must be a bool, got {is_rainy!r}")
    # Checked even when it changes nothing: a typo should not pass silently.
    p = check_real(params["rainy_probability"], "rainy_probability", minimum=0.0)
    if p > 1.0:
        raise ValueError(f"rainy_probability must be <= 1, got {p}")
    if not is_rainy:
        return {}  # rainy_probability changes nothing: share the dry tables
    return {"is_rainy": True, "rainy_probability": p}


#: Gymnasium's toy-text ids whose tables convert, beyond the three pgfast builds itself
#: (FrozenLake-v1, FrozenLake8x8-v1, CliffWalking-v1): ``(id, description, parameters,
#: their check)``. Only the ``gymnasium.make`` parameters that live in the tables are
#: offered: Taxi's ``fickle_passenger`` changes the destination inside ``step``, outside
#: ``P``. Not here, and so stepped through Gymnasium: ``CliffWalkingSlippery-v1``, whose
#: start state is re-entered with reward -1 (a wall) or -100 (the cliff) from one
#: ``(s, a)``, which ``R[s, a, s']`` cannot hold; ``Blackjack-v1``, which has no ``P``.
TOY_TEXT: tuple[tuple[str, str, tuple[Param, ...], GymKwargs], ...] = (
    (
        "Taxi-v4",
        "Gymnasium's Taxi, run from its P tables (time limit 200)",
        (
            Param("is_rainy", "moves go sideways with probability 1 - rainy_probability", False),
            Param("rainy_probability", "with is_rainy, the probability of the intended move", 0.8),
        ),
        _taxi_kwargs,
    ),
)


def _discrete(n_states: int, n_actions: int) -> SpacesOf:
    spaces = (gym.spaces.Discrete(n_states), gym.spaces.Discrete(n_actions))
    return lambda _: spaces


# ---------------------------------------------------------------------------- bandits


def _bandit(
    num_envs: int,
    seed: int,
    num_threads: int,
    max_episode_steps: int | None,
    *,
    means: Any,
    stds: Any,
) -> VectorEnv:
    means = as_float_array(means, "means", ndim=1)
    stds = as_float_array(stds, "stds")
    stds = np.broadcast_to(stds, means.shape).copy() if stds.ndim == 0 else stds
    return VectorEnv(_core.make_bandit(means, stds, num_envs, seed, num_threads))


def _bandit_spaces(params: Mapping[str, Any]) -> tuple[gym.Space, gym.Space]:
    return gym.spaces.Discrete(1), gym.spaces.Discrete(len(params["means"]))


def _continuous_bandit(
    num_envs: int,
    seed: int,
    num_threads: int,
    max_episode_steps: int | None,
    *,
    a_star: Any,
    noise_std: Any,
    low: Any,
    high: Any,
) -> VectorEnv:
    a_star = _as_vector(a_star, "a_star")
    noise_std = check_real(noise_std, "noise_std", minimum=0.0)
    low = _bound(low, "low", a_star.shape)
    high = _bound(high, "high", a_star.shape)
    return VectorEnv(
        _core.make_continuous_bandit(a_star, noise_std, low, high, num_envs, seed, num_threads)
    )


def _continuous_bandit_spaces(params: Mapping[str, Any]) -> tuple[gym.Space, gym.Space]:
    shape = _as_vector(params["a_star"], "a_star").shape
    low, high = _bound(params["low"], "low", shape), _bound(params["high"], "high", shape)
    return gym.spaces.Discrete(1), gym.spaces.Box(low, high, shape=shape, dtype=np.float64)


def _as_vector(value: Any, name: str) -> np.ndarray:
    arr = as_float_array(value, name)
    return arr.reshape(1) if arr.ndim == 0 else arr


def _bound(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = as_float_array(value, name)
    if arr.ndim == 0:
        return np.full(shape, float(arr))
    if arr.shape != shape:
        raise ValueError(f"{name} must be a scalar or have shape {shape}, got {arr.shape}")
    return arr


# ------------------------------------------------------------------------ the built-ins

for _id in _core.classic_env_ids():
    register(_classic_spec(_id))

_SLIPPERY = Param("is_slippery", "the agent moves in the intended direction with p = 1/3", True)
register(
    EnvSpec(
        "FrozenLake-v1",
        "Gymnasium's 4x4 FrozenLake, as a table",
        _frozen_lake("4x4"),
        _discrete(16, 4),
        (_SLIPPERY,),
    )
)
register(
    EnvSpec(
        "FrozenLake8x8-v1",
        "Gymnasium's 8x8 FrozenLake, as a table",
        _frozen_lake("8x8"),
        _discrete(64, 4),
        (_SLIPPERY,),
    )
)
register(
    EnvSpec(
        "CliffWalking-v1",
        "Gymnasium's CliffWalking, as a table (time limit 200)",
        _cliff_walking,
        _discrete(48, 4),
    )
)
for _id, _description, _params, _kwargs in TOY_TEXT:
    if _id in gym.registry:  # a lookup, no env is created
        register(_toy_text_spec(_id, _description, _params, _kwargs))

register(
    EnvSpec(
        "Bandit",
        "k-armed bandit with Gaussian rewards; one-step episodes",
        _bandit,
        _bandit_spaces,
        (
            Param("means", "mean reward of each arm, shape (k,)"),
            Param("stds", "reward std of each arm: a scalar or shape (k,)", 1.0),
        ),
        example={"means": [0.0, 1.0]},
    )
)
register(
    EnvSpec(
        "ContinuousBandit",
        "one-step reward -|a - a_star|^2 + noise, for a Box action",
        _continuous_bandit,
        _continuous_bandit_spaces,
        (
            Param("a_star", "the optimal action, shape (d,) (a scalar: d = 1)"),
            Param("noise_std", "std of the Gaussian reward noise", 0.0),
            Param("low", "action lower bound: a scalar or shape (d,)", -np.inf),
            Param("high", "action upper bound: a scalar or shape (d,)", np.inf),
        ),
        example={"a_star": [1.0]},
    )
)
register(
    EnvSpec(
        "LQR",
        "linear-quadratic regulator x' = Ax + Bu + noise (see pgfast.LQREnv; time limit 100)",
        build_lqr,
        lqr_spaces,
        (
            Param("A", "state transition, shape (n, n)"),
            Param("B", "control matrix, shape (n, m)"),
            Param("Q", "state cost, shape (n, n)"),
            Param("R", "control cost, shape (m, m)"),
            Param("init_std", "x0 ~ N(0, init_std^2 I)", 1.0),
            Param("noise_std", "std of the Gaussian transition noise", 0.0),
        ),
        example={
            "A": [[1.0, 0.1], [0.0, 1.0]],
            "B": [[0.0], [0.1]],
            "Q": [[1.0, 0.0], [0.0, 1.0]],
            "R": [[0.1]],
        },
    )
)
