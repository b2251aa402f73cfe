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


def _cmd_bench(args: argparse.Namespace) -> int:
    from pgfast._bench import run_env_step_bench

    run_env_step_bench(quick=not args.full, sizes=tuple(args.sizes))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgfast", description="Policy-gradient reinforcement learning with a C++ engine."
    )
    sub = parser.add_subparsers(dest="command", required=True)
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
