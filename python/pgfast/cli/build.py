"""The env, feature map and policy a run's settings describe."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import pgfast as pg
from pgfast.cli.common import CLIError, describe_space, is_discrete
from pgfast.features import parse_spec

_BOUNDED = ("fourier", "rbf", "tiles")


def make_env(
    env_id: str, settings: dict[str, Any], seed: int, threads: int, time_limit: bool = True
) -> Any:
    """``pg.make(env_id, ...)``, the fastest door: pgfast's own envs and the Gymnasium
    toy-text ids it reads as tables (``Taxi-v4``) are stepped in C++, as is a
    :class:`pgfast.NativeEnv` named ``path/to/file.py:NAME``; a Gymnasium id with a
    registered vector entry point becomes a ``pg.GymnasiumVectorEnv`` of ``num_envs``
    envs (one Python call per batch step); any other id Gymnasium has becomes a
    (Python-stepped, one-env) ``pg.GymnasiumEnv``. :func:`door` says which was taken."""
    limit = settings.get("max_episode_steps") if time_limit else None
    params = settings["env_params"]
    extra = {} if limit is None else {"max_episode_steps": limit}
    native = _native_env(env_id)
    if native is not None:
        if params:
            raise CLIError("a NativeEnv takes no --env-params (its constants are in its file)")
        return pg.make(
            native, num_envs=settings["num_envs"], seed=seed, num_threads=threads, **extra
        )
    if env_id not in pg.list_envs() and not pg.gym_adapters.has_vector_entry_point(env_id):
        gym_env = _gymnasium_make(env_id, limit, params)
        if gym_env is not None:
            return pg.GymnasiumEnv(gym_env, seed=seed)
    try:
        return pg.make(
            env_id, num_envs=settings["num_envs"], seed=seed, num_threads=threads, **extra, **params
        )
    except TypeError as exc:  # missing or unexpected env parameters
        raise CLIError(f"{exc} (set them with --env-params '{{...}}')") from None
    except ValueError as exc:
        if "unknown environment id" in str(exc):
            raise CLIError(f"{exc}; or any registered Gymnasium id") from None
        raise


def door(env: Any) -> str:
    """The line the commands print first: which door ``env`` came through, e.g.
    ``env Taxi-v4: native-table (TabularMDP from Gymnasium's P tables, stepped in C++)``."""
    return f"env {pg.envs.describe_backend(env)}"


def normalize_env_id(env_id: str) -> str:
    """``env_id`` as a run directory records it: a NativeEnv's ``FILE.py:NAME`` with an
    absolute path, so that ``pgfast evaluate`` finds the file from any directory."""
    path_str, sep, name = env_id.rpartition(":")
    if sep and path_str.endswith(".py") and Path(path_str).is_file():
        return f"{Path(path_str).resolve()}:{name}"
    return env_id


def _native_env(env_id: str) -> pg.NativeEnv | None:
    """The NativeEnv ``NAME`` defined in ``FILE.py`` for ``env_id == "FILE.py:NAME"``
    (the file is run as a module, as ``python FILE.py`` would), else None."""
    path_str, sep, name = env_id.rpartition(":")
    if not sep or not path_str.endswith(".py"):
        return None
    path = Path(path_str)
    if not path.is_file():
        raise CLIError(f"no such file: {path_str}")
    spec = importlib.util.spec_from_file_location(f"_pgfast_user_env_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise CLIError(f"cannot load {path_str} as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Registered like an imported module, so that its functions can be found again by
    # name (pickling for worker processes; numba's cache).
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except pg.native.CompileError as exc:
        raise CLIError(str(exc)) from None
    found = getattr(module, name, None)
    if not isinstance(found, pg.NativeEnv):
        raise CLIError(
            f"{path_str} has no NativeEnv named {name!r}"
            + (f" ({name} is a {type(found).__name__})" if found is not None else "")
        )
    return found


def _gymnasium_make(env_id: str, max_episode_steps: int | None, params: dict[str, Any]) -> Any:
    """``gymnasium.make(env_id)`` if Gymnasium knows the id, else None."""
    import gymnasium as gym

    if env_id not in gym.registry:
        try:  # Gymnasium's own hint, e.g. "Taxi-v3 is deprecated, use Taxi-v4"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gym.spec(env_id)
        except (gym.error.DeprecatedEnv, gym.error.VersionNotFound) as exc:
            raise CLIError(f"unknown environment id {env_id!r}: {exc}") from None
        except gym.error.Error:
            pass
        return None
    kwargs: dict[str, Any] = dict(params)
    if max_episode_steps is not None:
        kwargs["max_episode_steps"] = max_episode_steps
    try:
        return gym.make(env_id, **kwargs)
    except gym.error.Error as exc:  # e.g. a missing optional dependency
        raise CLIError(f"cannot make the Gymnasium env {env_id!r}: {exc}") from None
    except TypeError as exc:
        raise CLIError(
            f"cannot make the Gymnasium env {env_id!r}: {exc} (check --env-params)"
        ) from None


def build_features(
    spec: str, space: Any, settings: dict[str, Any], bounds_from_cli: bool = False
) -> tuple[pg.features.FeatureMap, dict[str, Any]]:
    """The feature map for ``spec`` on observation space ``space`` (built by
    :func:`pgfast.features.from_spec`), with the bounds of the settings.

    Returns ``(features, info)`` with ``info`` describing the bounds used.
    """
    kind, _ = parse_spec(spec)
    low, high = settings.get("low"), settings.get("high")
    if kind in _BOUNDED and low is None and high is None and _unbounded_box(space):
        raise CLIError(  # as from_spec would, but naming the options
            f"{kind} features need bounds but the observation space "
            f"{describe_space(space)} is unbounded; pass --low and --high (comma-separated, "
            f"{space.shape[0]} values each)"
        )
    features = pg.features.from_spec(spec, space, low, high)
    if not isinstance(features, (pg.features.Fourier, pg.features.RBF, pg.features.TileCoding)):
        return features, {}
    source = (
        "command line" if bounds_from_cli else "preset" if low is not None else "observation space"
    )
    return features, {"low": features.low, "high": features.high, "bounds_from": source}


def _unbounded_box(space: Any) -> bool:
    """A 1-D Box observation space with an infinite bound."""
    if is_discrete(space) or len(space.shape) != 1:
        return False
    return not (np.isfinite(space.low).all() and np.isfinite(space.high).all())


def build_policy(
    env: Any, settings: dict[str, Any], bounds_from_cli: bool = False
) -> tuple[pg.LinearSoftmax | pg.LinearGaussian, str, str, dict[str, Any]]:
    """The settings' policy for ``env``: ``(policy, kind, feature spec, bounds info)``."""
    obs_space, act_space = env.single_observation_space, env.single_action_space
    discrete_actions = is_discrete(act_space)
    kind = settings["policy"] or ("softmax" if discrete_actions else "gaussian")
    spec = settings["features"] or ("onehot" if is_discrete(obs_space) else "identity")
    features, info = build_features(spec, obs_space, settings, bounds_from_cli)
    policy: pg.LinearSoftmax | pg.LinearGaussian
    if kind == "softmax":
        if not discrete_actions:
            raise CLIError(
                f"--policy softmax needs a Discrete action space; this env's is "
                f"{describe_space(act_space)}: use --policy gaussian"
            )
        policy = pg.LinearSoftmax(features, int(act_space.n))
    else:
        if discrete_actions:
            raise CLIError(
                f"--policy gaussian needs a Box action space; this env's is "
                f"{describe_space(act_space)}: use --policy softmax"
            )
        if len(act_space.shape) != 1:
            raise CLIError(f"only 1-D Box actions are supported, got {describe_space(act_space)}")
        policy = pg.LinearGaussian(
            features,
            int(act_space.shape[0]),
            log_std=settings["log_std"],
            learn_std=settings["learn_std"],
        )
    return policy, kind, spec, info


#: The settings that configure the learner (the rest describe the env and policy).
ALGORITHM_SETTINGS = (
    "lr",
    "gamma",
    "episodes_per_update",
    "returns",
    "baseline",
    "gae_lambda",
    "normalize_advantages",
    "optimizer",
    "max_kl",
    "fisher",
)


def build_algorithm(
    env: Any,
    policy: Any,
    settings: dict[str, Any],
    seed: int,
    threads: int | None = None,
    workers: Any = None,
) -> pg.Reinforce:
    """The learner a run's settings describe (those of ALGORITHM_SETTINGS it has)."""
    options = {k: settings[k] for k in ALGORITHM_SETTINGS if k in settings}
    return pg.Reinforce(env, policy, seed=seed, num_threads=threads, workers=workers, **options)


def make_workers(count: int | None, threads: int) -> Any:
    """``--workers ray:N``: N Ray actors, or None."""
    if count is None:
        return None
    try:
        return pg.distributed.RayWorkers(count, num_threads=threads)
    except ImportError as exc:
        raise CLIError(f"--workers: {exc}") from None
