"""Saving and loading policies: ``policy.save(path)`` and :func:`load_policy`.

A policy file is an ``.npz`` archive of plain arrays (``theta``, ``log_std``)
and a JSON document (``metadata``): format version, policy class, feature
configuration and, when saved with its env, the env id and spaces. Nothing
is pickled, on writing or reading, so a file cannot run code.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import gymnasium as gym
import numpy as np

from pgfast import features as features_module

FORMAT = "pgfast.policy"
VERSION = 1


def space_to_json(space: gym.Space) -> dict[str, Any]:
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n)}
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": [repr(float(v)) for v in np.ravel(space.low)],
            "high": [repr(float(v)) for v in np.ravel(space.high)],
        }
    raise ValueError(f"cannot record a {type(space).__name__} space")


def _describe_env(env: Any) -> dict[str, Any]:
    return {
        "env_id": getattr(env, "id", None) or getattr(getattr(env, "spec", None), "id", None),
        "observation_space": space_to_json(
            env.single_observation_space
            if hasattr(env, "single_observation_space")
            else env.observation_space
        ),
        "action_space": space_to_json(
            env.single_action_space if hasattr(env, "single_action_space") else env.action_space
        ),
    }


def save_policy(policy: Any, path: str | os.PathLike, env: Any = None) -> None:
    from pgfast.policies import LinearGaussian, LinearSoftmax

    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "features": policy.features.config(),
    }
    arrays = {"theta": np.asarray(policy.theta)}
    if isinstance(policy, LinearSoftmax):
        meta.update(policy="LinearSoftmax", n_actions=policy.n_actions)
    elif isinstance(policy, LinearGaussian):
        meta.update(
            policy="LinearGaussian", action_dim=policy.action_dim, learn_std=policy.learn_std
        )
        arrays["log_std"] = np.asarray(policy.log_std)
    else:
        raise TypeError(f"cannot save a {type(policy).__name__}")
    if env is not None:
        meta.update(_describe_env(env))
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"  # what np.savez would do silently; say it in the name we write
    with open(path, "wb") as f:
        np.savez(f, metadata=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]


def _fail(path: Any, why: str) -> ValueError:
    return ValueError(f"{os.fspath(path)!s} is not a valid pgfast policy file: {why}")


def load_policy(path: str | os.PathLike, env: Any = None) -> Any:
    """Load a policy written by ``policy.save``.

    With ``env``, the file's recorded spaces must match the env's, or a
    ``ValueError`` says how they differ. The loaded policy has the attribute
    ``metadata`` (the file's JSON document, e.g. ``metadata["env_id"]``).
    Corrupt, truncated, foreign or newer-format files raise ``ValueError``;
    nothing is unpickled.
    """
    from pgfast.policies import LinearGaussian, LinearSoftmax

    # Our own file object, so that nothing leaks when numpy gives up midway.
    with open(os.fspath(path), "rb") as f:  # FileNotFoundError passes through
        if f.read(4) != b"PK\x03\x04":
            raise _fail(path, "not an .npz (zip) archive")
        f.seek(0)
        _check_entry_sizes(f, path)
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as archive:
                names = set(archive.files)
                if "metadata" not in names or "theta" not in names:
                    raise _fail(path, f"missing entries (has {sorted(names)})")
                raw = archive["metadata"]
                theta = archive["theta"]
                log_std = archive["log_std"] if "log_std" in names else None
        except ValueError as exc:
            if "valid pgfast policy" in str(exc):
                raise
            if "pickle" in str(exc):
                raise _fail(path, f"an entry cannot be read without pickle ({exc})") from None
            raise _fail(path, f"corrupt archive ({exc})") from None
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
            raise _fail(path, f"corrupt archive ({exc})") from None
    if raw.dtype.kind != "U" or raw.shape != ():
        raise _fail(path, "metadata is not a JSON string")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise _fail(path, f"metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _fail(path, "metadata does not describe a pgfast policy")
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise _fail(path, f"format version {version!r}; this pgfast reads versions 1 to {VERSION}")
    if theta.dtype.kind != "f" or theta.ndim not in (1, 2):
        raise _fail(
            path, f"theta must be a 1-D or 2-D float array, got {theta.dtype} {theta.shape}"
        )
    try:
        features = features_module.from_config(meta.get("features"))
    except (ValueError, TypeError) as exc:
        raise _fail(path, f"bad feature configuration ({exc})") from None
    policy: LinearSoftmax | LinearGaussian
    try:
        kind = meta.get("policy")
        if kind == "LinearSoftmax":
            policy = LinearSoftmax(features, meta["n_actions"], theta=theta)
        elif kind == "LinearGaussian":
            if log_std is None:
                raise _fail(path, "a LinearGaussian needs log_std")
            if not isinstance(features, features_module.FeatureMap):
                raise _fail(path, "a LinearGaussian needs state features")
            policy = LinearGaussian(
                features,
                meta["action_dim"],
                log_std=log_std,
                learn_std=bool(meta.get("learn_std", True)),
                theta=theta,
            )
        else:
            raise _fail(path, f"unknown policy class {kind!r}")
    except (KeyError, TypeError) as exc:
        raise _fail(path, f"incomplete metadata ({exc})") from None
    except ValueError as exc:
        if "valid pgfast policy" in str(exc):
            raise
        raise _fail(path, str(exc)) from None
    policy.metadata = meta
    if env is not None:
        check_compatible(meta, env)
    return policy


#: A policy's arrays never come near this; a header claiming more is hostile.
MAX_ENTRY_ELEMENTS = 2**28


def _check_entry_sizes(f: Any, path: Any) -> None:
    """Read each entry's .npy header (not its data) and refuse absurd shapes,
    so that a few hundred bytes cannot make numpy allocate gigabytes."""
    try:
        with zipfile.ZipFile(f) as z:
            for name in z.namelist():
                with z.open(name) as member:
                    version = np.lib.format.read_magic(member)
                    read = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read(member)
                    if dtype.hasobject:
                        raise _fail(
                            path, f"entry {name!r} holds Python objects, which would need pickle"
                        )
                    if int(np.prod(shape, dtype=np.float64)) > MAX_ENTRY_ELEMENTS:
                        raise _fail(path, f"entry {name!r} claims shape {shape}")
    except ValueError as exc:
        if "valid pgfast policy" in str(exc):
            raise
        raise _fail(path, f"corrupt archive ({exc})") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise _fail(path, f"corrupt archive ({exc})") from None


def check_compatible(meta: dict[str, Any], env: Any) -> None:
    """Raise ValueError when the spaces recorded in ``meta`` differ from ``env``'s."""
    if "observation_space" not in meta:
        return
    here = _describe_env(env)
    for key in ("observation_space", "action_space"):
        saved, current = meta[key], here[key]
        if saved != current:
            raise ValueError(
                f"the policy was saved for {meta.get('env_id')!r} with {key} "
                f"{_short(saved)}, but this env ({here['env_id']!r}) has {_short(current)}"
            )


def _short(space: Any) -> str:
    if not isinstance(space, dict):  # a damaged file: show what is there
        return repr(space)[:200]
    if space.get("type") == "Discrete":
        return f"Discrete({space.get('n')})"
    low, high = space.get("low", []), space.get("high", [])
    return (
        f"Box(shape={tuple(space.get('shape', ()))}, {space.get('dtype')}, low={low}, high={high})"
    )
