"""The command line's options (argparse), and the usage errors they give."""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from pgfast._core import __version__
from pgfast.features import SPEC_HELP


def _choice_type(allowed: Sequence[str], name: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise argparse.ArgumentTypeError(
                f"invalid {name} {text!r} (choose from {', '.join(allowed)})"
            )
        return text

    return parse


def _optional_float(text: str) -> float | None:
    if text.lower() in ("none", "off"):
        return math.inf  # resolved to None: no target
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, ``pgfast: error: ...``, with exit status 2."""

    def error(self, message: str) -> Any:
        self.exit(2, f"pgfast: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pgfast", description="Policy-gradient reinforcement learning with a C++ engine."
    )
    parser.add_argument("--version", action="version", version=f"pgfast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_sweep(sub)
    _add_study(sub)
    _add_evaluate(sub)
    sub.add_parser("envs", help="list the built-in environments")
    _add_bench(sub)
    return parser


def _workers(text: str) -> int:
    """``ray:N``: N Ray actors (pgfast.distributed.RayWorkers)."""
    kind, _, count = text.partition(":")
    if kind != "ray" or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"--workers takes ray:N (N >= 1 Ray actors), got {text!r}")
    return int(count)


def _seeds(text: str) -> list[int]:
    """``0-9`` or ``0,3,7``."""
    try:
        if "-" in text.strip("-"):
            lo, hi = text.split("-", 1)
            seeds = list(range(int(lo), int(hi) + 1))
        else:
            seeds = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes A-B or A,B,..., got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"--seeds needs seeds >= 0, got {text!r}")
    return seeds


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,X,..., got {text!r}") from None


def _add_sweep(sub: Any) -> None:
    sweep = sub.add_parser(
        "sweep",
        help="train over seeds x step sizes, as Ray tasks",
        description="Independent `pgfast train` runs for every seed and step size (--lr), "
        "run as Ray tasks with --workers (one after another without).",
        epilog="Writes DIR/lr<LR>-seed<S>/ (a train run directory each), DIR/summary.csv "
        "(per step size: final mean return over the seeds, its spread) and "
        "DIR/summary.png (mean and min-max of the learning curves per step size). "
        "Example: pgfast sweep CartPole-v1 --seeds 0-9 --lr 0.01,0.05 --workers ray:4",
    )
    _add_run_options(sweep, sweep=True)


def _add_study(sub: Any) -> None:
    study = sub.add_parser(
        "study",
        help="bias, variance and cost of gradient estimators (pg.study)",
        description="Repeated independent gradient estimates at one policy, per estimator, "
        "against the exact gradient (tabular envs, LQR) or a large-batch reference.",
        epilog="Writes DIR/study.csv, DIR/study.json and DIR/study.png. Example: pgfast study "
        "FrozenLake-v1 --estimators reinforce,gpomdp,gpomdp-time --episodes 50 --repeats 300",
    )
    study.add_argument("env_id", help="environment id (see `pgfast envs`)")
    study.add_argument(
        "--estimators", metavar="A,B,...", help="names from pgfast.study.CATALOG (default: all)"
    )
    study.add_argument("--episodes", type=int, default=100, help="episodes per estimate")
    study.add_argument("--repeats", type=int, default=200, help="estimates per estimator")
    study.add_argument("--gamma", type=float, default=0.99, help="discount (default 0.99)")
    study.add_argument("--seed", type=int, default=0)
    study.add_argument("--threads", type=int, default=1)
    study.add_argument("--policy-from", metavar="RUN", help="a run directory or policy.npz")
    study.add_argument("--workers", type=_workers, metavar="ray:N", help="N Ray actors")
    study.add_argument("--out", metavar="DIR", help="default runs/<env_id>-study-<timestamp>")


def _add_train(sub: Any) -> None:
    train = sub.add_parser(
        "train",
        help="train a linear policy with REINFORCE",
        description="Train a linear policy with REINFORCE. Each built-in env has a preset "
        "(see pgfast.presets) that the options below override.",
        epilog="Writes DIR/config.json (every setting; its 'command' reruns the run), "
        "DIR/metrics.csv (one row per iteration), DIR/policy.npz (for `pgfast "
        "evaluate` and pg.load_policy) and DIR/learning_curve.png. Example: pgfast "
        "train CartPole-v1 --features fourier:3 --low -2.4,-3,-0.21,-3.5 "
        "--high 2.4,3,0.21,3.5",
    )
    _add_run_options(train, sweep=False)


def _add_run_options(train: Any, *, sweep: bool) -> None:
    train.add_argument("env_id", help="environment id (see `pgfast envs`)")
    g = train.add_argument_group("policy and features (defaults: the env's preset)")
    g.add_argument(
        "--policy",
        type=_choice_type(("softmax", "gaussian"), "policy"),
        metavar="{softmax,gaussian}",
        help="softmax for Discrete actions, gaussian for Box (the default follows "
        "the action space)",
    )
    g.add_argument("--features", metavar="SPEC", help=f"feature spec: {SPEC_HELP}")
    g.add_argument(
        "--low",
        metavar="X,X,...",
        help="lower bounds of the observation for fourier/rbf/tiles features "
        "(default: the preset's, else the observation space's if finite)",
    )
    g.add_argument("--high", metavar="X,X,...", help="upper bounds (see --low)")
    g.add_argument(
        "--log-std", type=float, metavar="X", help="initial log std of a gaussian policy"
    )
    g.add_argument(
        "--learn-std",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="learn the gaussian policy's std",
    )
    g = train.add_argument_group("learning (defaults: the env's preset)")
    g.add_argument("--iterations", type=int, metavar="N", help="updates")
    g.add_argument(
        "--episodes-per-update", type=int, metavar="M", help="episodes per gradient estimate"
    )
    if sweep:
        g.add_argument("--lr", type=_floats, metavar="X,X,...", help="step sizes to sweep")
    else:
        g.add_argument("--lr", type=float, help="step size (> 0)")
    g.add_argument(
        "--optimizer",
        type=_choice_type(("sgd", "adam", "natural"), "optimizer"),
        metavar="{sgd,adam,natural}",
    )
    g.add_argument("--max-kl", type=float, metavar="X", help="trust region of the natural step")
    g.add_argument(
        "--fisher",
        type=_choice_type(("sampled", "exact"), "fisher"),
        metavar="{sampled,exact}",
        help="the natural step's Fisher matrix: sampled, or exact over the softmax's actions",
    )
    returns = ("total", "reward_to_go", "discounted_reward_to_go", "gae")
    g.add_argument(
        "--returns", type=_choice_type(returns, "returns"), metavar="{" + ",".join(returns) + "}"
    )
    baselines = ("none", "mean", "time", "value", "optimal")
    g.add_argument(
        "--baseline",
        type=_choice_type(baselines, "baseline"),
        metavar="{" + ",".join(baselines) + "}",
    )
    g.add_argument("--gamma", type=float, help="discount in [0, 1]")
    g.add_argument("--gae-lambda", type=float, metavar="LAMBDA", help="GAE's lambda in [0, 1]")
    g.add_argument(
        "--normalize-advantages",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardise the advantages over each batch",
    )
    g.add_argument(
        "--target-return",
        type=_optional_float,
        metavar="R",
        help="stop once a batch's mean return reaches R ('none': never)",
    )
    g = train.add_argument_group("environment and run")
    g.add_argument(
        "--env-params",
        type=_json_object,
        metavar="JSON",
        help="parameters for pgfast.make, merged into the preset's, e.g. "
        "'{\"means\": [0, 1, 0.5]}' (Bandit) or '{\"gravity\": 12}'",
    )
    g.add_argument("--num-envs", type=int, metavar="N", help="environments stepped together")
    g.add_argument(
        "--max-episode-steps",
        type=int,
        metavar="N",
        help="time limit while training (evaluation keeps the env's own)",
    )
    g.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="threads (results do not depend on it; default 1)",
    )
    if sweep:
        g.add_argument(
            "--seeds", type=_seeds, default=[0], metavar="A-B", help="seeds: 0-9 or 0,3,7"
        )
    else:
        g.add_argument("--seed", type=int, default=0, help="seed of everything (default 0)")
    g.add_argument(
        "--workers",
        type=_workers,
        metavar="ray:N",
        help="N Ray actors (pip install 'pgfast-rl[ray]'): "
        + (
            "runs go to them as Ray tasks"
            if sweep
            else "they share each batch; the result is bitwise the same as without"
        ),
    )
    g.add_argument(
        "--eval-episodes",
        type=int,
        default=100,
        metavar="N",
        help="greedy evaluation episodes after training (0: none; default 100)",
    )
    g.add_argument(
        "--out", metavar="DIR", help="output directory (default runs/<env_id>-<timestamp>)"
    )
    g.add_argument("--overwrite", action="store_true", help="reuse an --out that holds a run")
    g.add_argument("--no-plot", action="store_true", help="do not draw learning_curve.png")
    g.add_argument(
        "--no-preset",
        action="store_true",
        help="ignore the env's preset: library defaults for what is not given",
    )
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _add_evaluate(sub: Any) -> None:
    evaluate = sub.add_parser(
        "evaluate",
        help="evaluate a saved policy",
        description="Load DIR/policy.npz (or an .npz) and run episodes.",
    )
    evaluate.add_argument("path", metavar="DIR_OR_NPZ", help="a run directory or a policy file")
    evaluate.add_argument("--episodes", type=int, default=100, help="episodes (default 100)")
    evaluate.add_argument("--seed", type=int, default=0, help="env seed (default 0)")
    evaluate.add_argument(
        "--stochastic", action="store_true", help="sample actions (default: the greedy/mean action)"
    )
    evaluate.add_argument("--env", help="env id, if the file does not record one")
    evaluate.add_argument("--threads", type=int, default=1)
    evaluate.add_argument(
        "--video",
        metavar="OUT.gif",
        help="also write one episode as an animated GIF (classic-control envs; "
        "pip install 'pgfast-rl[render]')",
    )


def _add_bench(sub: Any) -> None:
    bench = sub.add_parser("bench", help="time env.step against Gymnasium on this machine")
    bench.add_argument(
        "--full",
        action="store_true",
        help="run the whole comparison suite (benchmarks/run.py, from a checkout)",
    )
    bench.add_argument("--quick", action="store_true", help="with --full: the short version")
    bench.add_argument(
        "--jax-python",
        default=None,
        metavar="PATH",
        help="with --full: an interpreter that has jax and gymnax",
    )
    bench.add_argument(
        "--out-dir",
        default=None,
        metavar="DIR",
        help="with --full: where to write latest.md and latest.json",
    )
    bench.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1, 16, 256, 4096],
        metavar="N",
        help="num_envs values to time (default: 1 16 256 4096)",
    )


_NUMBER = re.compile(r"^-\.?\d")


def join_negative_values(argv: list[str]) -> list[str]:
    """``--low -1,-2`` -> ``--low=-1,-2`` (argparse would take ``-1,-2`` for an option)."""
    out: list[str] = []
    k = 0
    while k < len(argv):
        arg = argv[k]
        if (
            arg in ("--low", "--high", "--log-std", "--target-return")
            and k + 1 < len(argv)
            and _NUMBER.match(argv[k + 1])
        ):
            out.append(f"{arg}={argv[k + 1]}")
            k += 2
            continue
        out.append(arg)
        k += 1
    return out
