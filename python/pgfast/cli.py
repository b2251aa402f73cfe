"""The ``pgfast`` command (also ``python -m pgfast``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _describe(space) -> str:
    shape = getattr(space, "shape", None)
    if hasattr(space, "n"):
        return f"Discrete({space.n})"
    return f"Box{shape} {space.dtype}"


def _cmd_envs(args: argparse.Namespace) -> int:
    import pgfast as pg

    rows = [("id", "observation space", "action space", "time limit")]
    examples = {
        "Bandit": {"means": [0.0, 1.0]},
        "ContinuousBandit": {"a_star": [0.0]},
        "LQR": {"A": [[1.0]], "B": [[1.0]], "Q": [[1.0]], "R": [[1.0]]},
    }
    for env_id in pg.list_envs():
        env = pg.make(env_id, seed=0, **examples.get(env_id, {}))
        limit = env.max_episode_steps
        note = " (example parameters)" if env_id in examples else ""
        rows.append((env_id + note, _describe(env.single_observation_space),
                     _describe(env.single_action_space), "none" if limit is None else str(limit)))
        env.close()
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return 0


#: Settings that solve each built-in env with `pgfast train ID` and no options.
PRESETS: dict[str, dict] = {
    "CartPole-v1": {"features": "identity", "iterations": 300, "episodes_per_update": 16,
                    "lr": 0.05, "gamma": 0.99, "target_return": 475.0},
}


def _features_for(env, spec: str):
    import pgfast as pg

    space = env.single_observation_space
    if spec == "identity":
        return pg.features.Identity(space)
    if spec == "onehot":
        return pg.features.OneHot(space)
    raise ValueError(f"unknown feature spec {spec!r}; use 'identity' or 'onehot'")


def _cmd_train(args: argparse.Namespace) -> int:
    import gymnasium as gym
    import numpy as np

    import pgfast as pg

    preset = dict(PRESETS.get(args.env_id, {}))
    env = pg.make(args.env_id, num_envs=args.num_envs, seed=args.seed,
                  num_threads=args.threads)
    discrete_obs = isinstance(env.single_observation_space, gym.spaces.Discrete)
    features = _features_for(env, args.features or preset.get(
        "features", "onehot" if discrete_obs else "identity"))
    if isinstance(env.single_action_space, gym.spaces.Discrete):
        policy = pg.LinearSoftmax(features, int(env.single_action_space.n))
    else:
        policy = pg.LinearGaussian(features, int(env.single_action_space.shape[0]))
    algo = pg.Reinforce(
        env, policy,
        lr=args.lr if args.lr is not None else preset.get("lr", 0.05),
        gamma=args.gamma if args.gamma is not None else preset.get("gamma", 0.99),
        episodes_per_update=args.episodes_per_update or preset.get("episodes_per_update", 32),
        seed=args.seed,
    )
    iterations = args.iterations or preset.get("iterations", 200)
    history = algo.train(iterations, progress=True,
                         target_return=args.target_return or preset.get("target_return"))
    returns = pg.evaluate(env, policy, episodes=100, seed=args.seed)
    print(f"{args.env_id}: {history.iterations} updates, {int(history['env_steps'].sum())} env "
          f"steps, {history['wall_time'][-1]:.3f} s; evaluation over 100 episodes: "
          f"mean return {np.mean(returns):.2f} (std {np.std(returns):.2f})")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from pgfast._bench import run_env_step_bench

    run_env_step_bench(quick=not args.full, sizes=tuple(args.sizes))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgfast", description="Policy-gradient reinforcement learning with a C++ engine."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a linear policy with REINFORCE")
    train.add_argument("env_id", help="environment id (see `pgfast envs`)")
    train.add_argument("--iterations", type=int, default=None, help="updates (preset default)")
    train.add_argument("--episodes-per-update", type=int, default=None)
    train.add_argument("--lr", type=float, default=None)
    train.add_argument("--gamma", type=float, default=None)
    train.add_argument("--features", default=None, help="identity or onehot")
    train.add_argument("--target-return", type=float, default=None,
                       help="stop once a batch's mean return reaches this")
    train.add_argument("--num-envs", type=int, default=16)
    train.add_argument("--threads", type=int, default=1)
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=_cmd_train)
    envs = sub.add_parser("envs", help="list the built-in environments")
    envs.set_defaults(func=_cmd_envs)
    bench = sub.add_parser("bench", help="time env.step against Gymnasium on this machine")
    bench.add_argument("--full", action="store_true", help="longer, steadier timing runs")
    bench.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 4096],
                       metavar="N", help="num_envs values to time (default: 1 16 256 4096)")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, TypeError) as exc:
        print(f"pgfast: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
