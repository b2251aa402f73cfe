"""Vector environments stepped in C++: :func:`make` and :func:`list_envs`, both read from
the env registry (:mod:`pgfast.registry`), the env classes they return, and
:func:`describe_backend`, which says how an env is stepped."""

from __future__ import annotations

import secrets
from typing import Any

import gymnasium as gym

from pgfast._validation import check_int, check_seed
from pgfast.gym_adapters import (
    GymnasiumEnv,
    GymnasiumVectorEnv,
    SingleEnv,
    gymnasium_vector,
    has_vector_entry_point,
)
from pgfast.lqr import LQREnv
from pgfast.mdp import TabularMDP
from pgfast.native import NativeEnv
from pgfast.registry import REGISTRY, build_tabular, ids, lookup, params_doc, reject_unknown
from pgfast.render import RENDER_MODES, RENDERABLE, Renderer
from pgfast.vector_env import BACKEND_NOTES, VectorEnv

__all__ = [
    "GymnasiumEnv",
    "GymnasiumVectorEnv",
    "LQREnv",
    "SingleEnv",
    "VectorEnv",
    "as_vector_env",
    "describe_backend",
    "list_envs",
    "make",
]


def list_envs() -> list[str]:
    """Ids accepted by :func:`make`: pgfast's own envs, and Gymnasium's toy-text ids whose
    ``P`` tables it converts (``Taxi-v4``), all stepped in C++.

    >>> import pgfast as pg
    >>> "CartPole-v1" in pg.list_envs()
    True
    """
    return ids()


def make(
    id: str | TabularMDP | NativeEnv,
    num_envs: int = 1,
    seed: int | None = None,
    num_threads: int = 1,
    *,
    max_episode_steps: int | None = None,
    render_mode: str | None = None,
    **params: Any,
) -> VectorEnv:
    """Create ``num_envs`` copies of an environment, stepped in C++.

    A Gymnasium toy-text id (``"Taxi-v4"``) is read from Gymnasium's ``P`` tables the first
    time it is made in a process (``env.backend == "native-table"``); the tables are then
    reused.

    Args:
        id: an id from :func:`list_envs`, a :class:`TabularMDP`, a :class:`NativeEnv`
            (your own env compiled with numba), or a Gymnasium id that registers a
            vector entry point (``"CartPole-v0"``: a :class:`GymnasiumVectorEnv`).
        num_envs: number of environments in the batch.
        seed: seed of the random streams (drawn from the OS when ``None``).
        num_threads: threads used to step large batches; results do not depend on it.
        max_episode_steps: override the time limit (Gymnasium's by default).
        render_mode: ``"rgb_array"`` (one env, a classic-control id): ``env.render()``
            returns Gymnasium's picture of the exact state; ``"human"``: Gymnasium's
            window shows it after every reset and step (needs a display). Both need
            ``pip install "pgfast-rl[render]"``.
        **params: the env's parameters (``pgfast.registry.lookup(id).params`` has their
            docs). Classic-control constants take a scalar or one value per env
            (``gravity=np.linspace(9, 11, 8)``; see ``env.param_names``). By id:

            <registry parameters>

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

    if render_mode is not None:
        return _rendering(id, num_envs, seed, num_threads, max_episode_steps, render_mode, params)
    recipe = {"id": id, "num_envs": num_envs, "seed": seed, "num_threads": num_threads, **params}
    if isinstance(id, TabularMDP):
        reject_unknown(params, id.name, [])
        return _with_recipe(
            build_tabular(id, num_envs, seed, num_threads, max_episode_steps), recipe
        )
    if isinstance(id, NativeEnv):
        reject_unknown(params, id.id, [])
        return _with_recipe(id.build(num_envs, seed, num_threads, max_episode_steps), recipe)
    if not isinstance(id, str):
        raise TypeError(
            f"id must be an environment id, a TabularMDP or a NativeEnv, got {type(id).__name__}"
        )
    if id not in REGISTRY:
        # Gymnasium's own vectorised env, when it registers one: one Python call per
        # batch step (env.backend == "gymnasium-vector"); num_threads does not apply.
        extra = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
        if has_vector_entry_point(id):
            try:
                vector = gymnasium_vector(id, num_envs, **extra, **params)
            except (ImportError, gym.error.Error) as e:  # e.g. a JAX env without jax
                raise ValueError(f"cannot make Gymnasium's vectorised {id}: {e}") from e
            assert vector is not None
            return GymnasiumVectorEnv(vector, seed=seed)
    return _with_recipe(
        lookup(id).build(num_envs, seed, num_threads, max_episode_steps, params), recipe
    )


def _with_recipe(env: VectorEnv, recipe: dict[str, Any]) -> VectorEnv:
    env._recipe = recipe
    if isinstance(recipe["id"], str) and recipe["id"] in RENDERABLE:
        env.metadata = {**env.metadata, "render_modes": list(RENDER_MODES)}
    return env


def _rendering(
    id: Any,
    num_envs: int,
    seed: int,
    num_threads: int,
    max_episode_steps: int | None,
    render_mode: str,
    params: dict[str, Any],
) -> VectorEnv:
    """``make`` with a render mode: one env whose frames Gymnasium draws."""
    if render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be 'rgb_array' or 'human', got {render_mode!r}")
    if num_envs != 1:
        raise ValueError(f"render_mode draws one env: num_envs must be 1, got {num_envs}")
    name = id if isinstance(id, str) else getattr(id, "id", repr(id))
    renderer = Renderer(name, render_mode)
    env = make(id, num_envs, seed, num_threads, max_episode_steps=max_episode_steps, **params)
    env._recipe = {**(env._recipe or {}), "render_mode": render_mode}
    env.render_mode = render_mode
    env._renderer = renderer
    env.metadata = {**env.metadata, "render_fps": renderer.fps}
    return env


if make.__doc__:  # None under python -OO
    make.__doc__ = make.__doc__.replace(
        "            <registry parameters>", params_doc(indent="            ")
    )


def as_vector_env(env: Any, seed: int | None = None) -> VectorEnv:
    """The fastest door for ``env``:

    - a pgfast env as is;
    - a :class:`NativeEnv` made with :func:`make` (one env);
    - a ``gymnasium.vector.VectorEnv`` as a :class:`GymnasiumVectorEnv` (one Python
      call per batch step);
    - a ``gymnasium.Env`` as a :class:`GymnasiumEnv` (one Python call per step);
    - an id: pgfast's own (:func:`make`, so ``"Taxi-v4"`` runs from its tables), else
      a Gymnasium id with a registered vector entry point as a
      :class:`GymnasiumVectorEnv`, else a :class:`GymnasiumEnv`.

    A ``gymnasium.Env`` object is always stepped through Gymnasium, even a toy-text one:
    its wrappers may change what ``unwrapped.P`` says. ``seed`` seeds an env made here
    (not a pgfast env passed in, which keeps its streams).
    """
    if isinstance(env, VectorEnv):
        return env
    if isinstance(env, NativeEnv):
        return make(env, seed=seed)
    if isinstance(env, gym.vector.VectorEnv):
        return GymnasiumVectorEnv(env, seed=seed)
    if isinstance(env, gym.Env):
        return GymnasiumEnv(env, seed=seed)
    if isinstance(env, str):
        if env in REGISTRY or has_vector_entry_point(env):
            return make(env, seed=seed)
        return GymnasiumEnv(env, seed=seed)
    raise TypeError(
        "env must be a pgfast.VectorEnv, a pgfast.NativeEnv, a gymnasium.vector.VectorEnv, "
        f"a gymnasium.Env or an env id, got {type(env).__name__}"
    )


def describe_backend(env: VectorEnv) -> str:
    """One line for people: the env's id, its :attr:`~VectorEnv.backend` and what that costs.

    The CLI prints it first, because the door an env took decides its speed more than
    anything else in a run.

    >>> import pgfast as pg
    >>> pg.envs.describe_backend(pg.make("Taxi-v4", seed=0))
    "Taxi-v4: native-table (TabularMDP from Gymnasium's P tables, stepped in C++)"
    >>> pg.envs.describe_backend(pg.make("CartPole-v1", seed=0))
    'CartPole-v1: native (stepped in C++ by pgfast)'
    """
    backend = env.backend
    note = BACKEND_NOTES.get(backend)
    return f"{env.id}: {backend} ({note})" if note else f"{env.id}: {backend}"
