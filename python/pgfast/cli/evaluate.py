"""``pgfast evaluate RUN``: reload a saved policy, run episodes, print the returns."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

import pgfast as pg
from pgfast.cli.build import door, make_env
from pgfast.cli.common import CLIError
from pgfast.cli.rundir import read_json
from pgfast.presets import preset_for
from pgfast.render import RENDERABLE, write_gif


def run(args: argparse.Namespace) -> int:
    if not hasattr(pg, "load_policy"):
        raise CLIError("this pgfast cannot load policies yet (pg.load_policy is missing)")
    npz, config_path = _paths(Path(args.path))
    if not npz.exists():
        raise CLIError(f"no policy file at {npz}")
    if args.episodes < 1:
        raise CLIError(f"--episodes must be >= 1, got {args.episodes}")
    policy = pg.load_policy(str(npz))
    config = read_json(config_path) or {}
    # A NativeEnv is recorded by its file (FILE.py:NAME) in config.json; the policy
    # file knows only the env's name.
    recorded = config.get("env_id")
    native = isinstance(recorded, str) and recorded.rpartition(":")[0].endswith(".py")
    env_id = args.env or (recorded if native else None) or _metadata_env_id(policy, npz) or recorded
    if not env_id:
        raise CLIError(f"{npz} does not say which env it was trained on; pass --env ID")
    saved = config.get("settings") if config.get("env_id") == env_id else None
    settings = preset_for(env_id)
    if isinstance(saved, dict):
        settings.update({k: saved[k] for k in ("env_params", "num_envs") if k in saved})
    env = make_env(env_id, settings, args.seed, args.threads, time_limit=False)
    policy = pg.load_policy(str(npz), env=env)  # again, checking the spaces match
    print(door(env), file=sys.stderr)
    returns = np.asarray(
        pg.evaluate(
            env, policy, episodes=args.episodes, deterministic=not args.stochastic, seed=args.seed
        )
    )
    mode = "stochastic" if args.stochastic else "greedy"
    print(f"{env_id}: {args.episodes} episodes, {mode} policy, seed {args.seed} ({npz})")
    print(
        f"mean {returns.mean():.2f}  std {returns.std():.2f}  "
        f"min {returns.min():.2f}  max {returns.max():.2f}"
    )
    print("returns:")
    for line in text_histogram(returns):
        print(line)
    if args.video:
        frames = write_video(args.video, env_id, settings, policy, args)
        print(f"wrote {args.video} ({frames} frames of one episode)")
    return 0


def write_video(path: str, env_id: str, settings: dict, policy: Any, args: Any) -> int:
    """One episode of the policy as an animated GIF, its frames drawn by Gymnasium's
    renderer from pgfast's exact states (:mod:`pgfast.render`). Returns the frame count."""
    if not path.lower().endswith(".gif"):
        raise CLIError(f"--video writes an animated GIF: give a .gif path, got {path!r}")
    if env_id not in RENDERABLE:
        raise CLIError(f"--video draws {', '.join(RENDERABLE)}; {env_id} has no renderer")
    try:
        env = pg.make(env_id, seed=args.seed, render_mode="rgb_array", **settings["env_params"])
    except ImportError as exc:
        raise CLIError(f"--video: {exc}") from None
    rng = np.random.default_rng(args.seed)
    obs, _ = env.reset(seed=args.seed)
    frames = [env.render()]
    while True:
        action = policy.act(obs[0], deterministic=not args.stochastic, rng=rng)
        obs, _, terminated, truncated, _ = env.step(np.asarray([action]))
        frames.append(env.render())
        if terminated[0] or truncated[0]:
            break
    write_gif(path, frames, env.metadata["render_fps"])
    env.close()
    return len(frames)


def _paths(path: Path) -> tuple[Path, Path]:
    """The policy file and the config.json beside it, for a run directory or an .npz."""
    if path.is_dir():
        return path / "policy.npz", path / "config.json"
    return path, path.with_name("config.json")


def _env_id_in(meta: Any) -> str | None:
    if not isinstance(meta, dict):
        return None
    env = meta.get("env")
    for value in (meta.get("env_id"), env.get("id") if isinstance(env, dict) else env):
        if isinstance(value, str) and value:
            return value
    return None


def _metadata_env_id(policy: Any, npz: Path) -> str | None:
    """The env id the policy file records, from the loaded policy's attributes
    or, failing that, the file's JSON metadata."""
    value = getattr(policy, "env_id", None)
    if isinstance(value, str) and value:
        return value
    for attr in ("metadata", "meta", "_metadata"):
        found = _env_id_in(getattr(policy, attr, None))
        if found:
            return found
    try:
        with np.load(npz, allow_pickle=False) as data:
            for key in data.files:
                arr = data[key]
                if arr.dtype.kind not in "US" or arr.size != 1:
                    continue
                try:
                    found = _env_id_in(json.loads(str(arr.item())))
                except ValueError:
                    continue
                if found:
                    return found
    except (OSError, ValueError):
        return None
    return None


def text_histogram(values: Any, bins: int = 10, width: int = 40) -> list[str]:
    """Lines of a horizontal text histogram of ``values``."""
    values = np.asarray(values, dtype=float)
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        return [f"  [{lo:>10.4g}, {hi:>10.4g}] | {'#' * width} {values.size}"]
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    peak = counts.max()
    lines = []
    for k, count in enumerate(counts):
        bar = "#" * round(width * count / peak) if count else ""
        close = "]" if k == bins - 1 else ")"
        lines.append(f"  [{edges[k]:>10.4g}, {edges[k + 1]:>10.4g}{close} | {bar} {count}")
    return lines
