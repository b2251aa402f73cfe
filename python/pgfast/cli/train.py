"""``pgfast train ENV_ID``: train a linear policy with REINFORCE and write a run directory."""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import pgfast as pg
from pgfast._progress import Progress
from pgfast.cli import rundir
from pgfast.cli.build import (
    build_algorithm,
    build_policy,
    door,
    make_env,
    make_workers,
    normalize_env_id,
)
from pgfast.cli.plots import plot_learning_curve
from pgfast.cli.settings import command_line, resolve_settings
from pgfast.presets import PRESETS


@dataclass
class Setup:
    """What a run trains: its settings (as resolved), env, policy, learner and directory."""

    settings: dict[str, Any]
    given: list[str]
    env: Any
    policy: pg.LinearSoftmax | pg.LinearGaussian
    algo: pg.Reinforce
    out: Path


@dataclass
class Outcome:
    """How training went: the iterations' statistics, and why it stopped early if it did."""

    rows: list[dict[str, float]]
    keys: list[str]
    seconds: float
    interrupted: bool = False
    failure: str | None = None
    evaluation: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(sum(r["env_steps"] for r in self.rows))


def run(args: argparse.Namespace) -> int:
    workers = make_workers(args.workers, args.threads)
    try:
        setup = set_up(args, workers)
        rundir.prepare_out(setup.out, args.overwrite)
        outcome = train(args, setup)
    finally:
        if workers is not None:
            workers.shutdown()
    if args.eval_episodes > 0 and not outcome.interrupted:
        outcome.evaluation = evaluate(args, setup)
    write_run(args, setup, outcome)
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {', '.join(rundir.written_files(setup.out))} to {setup.out}")
    print(summary(args.env_id, outcome))
    if outcome.failure:
        print(f"pgfast: error: training stopped: {outcome.failure}", file=sys.stderr)
        return 1
    return 130 if outcome.interrupted else 0


def set_up(args: argparse.Namespace, workers: Any = None) -> Setup:
    """Settings, env, policy and learner; every option is checked before anything is written."""
    settings, given = resolve_settings(args)
    args.env_id = normalize_env_id(args.env_id)
    env = make_env(args.env_id, settings, args.seed, args.threads)
    policy, kind, spec, feature_info = build_policy(env, settings, bounds_from_cli="low" in given)
    settings["policy"], settings["features"] = kind, spec
    settings["low"] = feature_info.get("low")
    settings["high"] = feature_info.get("high")
    algo = build_algorithm(env, policy, settings, args.seed, args.threads, workers)
    settings["baseline"] = algo.settings["baseline"]
    out = Path(args.out) if args.out else rundir.default_out(args.env_id)
    return Setup(settings, given, env, policy, algo, out)


def train(args: argparse.Namespace, setup: Setup) -> Outcome:
    """Train with a progress bar; Ctrl-C or a refusing engine keeps the iterations done."""
    s = setup.settings
    iterations = s["iterations"]
    progress = Progress(iterations, enabled=not args.quiet)
    print(door(setup.env), file=sys.stderr)
    print(
        f"training {args.env_id}: {type(setup.policy).__name__} on {s['features']} features "
        f"({setup.policy.n_params} parameters), {iterations} iterations of "
        f"{s['episodes_per_update']} episodes -> {setup.out}",
        file=sys.stderr,
    )
    interrupted = False
    failure: str | None = None
    start = time.perf_counter()
    try:
        history = setup.algo.train(iterations, callback=progress, target_return=s["target_return"])
        keys = list(history.keys())
    except (KeyboardInterrupt, ValueError, RuntimeError, FloatingPointError) as exc:
        # Ctrl-C, or the engine refused to go on (e.g. diverging parameters).
        interrupted = True
        if not isinstance(exc, KeyboardInterrupt):
            failure = " ".join(str(exc).split()) or type(exc).__name__
        keys = list(progress.rows[0]) if progress.rows else []
    finally:
        progress.close()
    outcome = Outcome(progress.rows, keys, time.perf_counter() - start, interrupted, failure)
    if interrupted:
        why = "training stopped" if failure else "interrupted"
        print(
            f"{why} after {len(outcome.rows)} iterations; saving what was learned", file=sys.stderr
        )
    return outcome


def evaluate(args: argparse.Namespace, setup: Setup) -> dict[str, Any]:
    """The greedy policy's returns, with the env's own time limit."""
    eval_env = setup.env
    if setup.settings["max_episode_steps"] is not None:
        eval_env = make_env(args.env_id, setup.settings, args.seed, args.threads, time_limit=False)
    returns = np.asarray(
        pg.evaluate(
            eval_env, setup.policy, episodes=args.eval_episodes, deterministic=True, seed=args.seed
        )
    )
    return {
        "episodes": int(args.eval_episodes),
        "deterministic": True,
        "seed": args.seed,
        "mean": float(returns.mean()),
        "std": float(returns.std()),
        "min": float(returns.min()),
        "max": float(returns.max()),
    }


def write_run(args: argparse.Namespace, setup: Setup, outcome: Outcome) -> None:
    """policy.npz, metrics.csv, learning_curve.png and config.json; notes what was skipped."""
    out = setup.out
    skipped = rundir.save_policy(setup.policy, out / "policy.npz", setup.env)
    if skipped:
        outcome.notes.append(f"policy.npz not written: {skipped}")
    if outcome.keys:
        rows, keys = with_total_steps(outcome.rows, outcome.keys)
        rundir.write_metrics(out / "metrics.csv", rows, keys)
    if args.no_plot:
        outcome.notes.append("learning_curve.png not written (--no-plot)")
    else:
        title = f"{args.env_id}: {type(setup.policy).__name__}, {setup.settings['features']}"
        skipped = plot_learning_curve(
            out / "learning_curve.png",
            outcome.rows,
            title,
            setup.settings["target_return"],
            evaluation=outcome.evaluation["mean"] if outcome.evaluation else None,
            interrupted=outcome.interrupted,
        )
        if skipped:
            outcome.notes.append(f"learning_curve.png not written: {skipped}")
    rundir.write_config(out / "config.json", config(args, setup, outcome))


def with_total_steps(
    rows: list[dict[str, float]], keys: list[str]
) -> tuple[list[dict[str, float]], list[str]]:
    """``total_env_steps`` (cumulative, what the progress bar counts) after the
    iteration's own ``env_steps``."""
    if "env_steps" not in keys:
        return rows, keys
    at = keys.index("env_steps") + 1
    total = 0.0
    out = []
    for row in rows:
        total += row["env_steps"]
        out.append({**row, "total_env_steps": total})
    return out, [*keys[:at], "total_env_steps", *keys[at:]]


def config(args: argparse.Namespace, setup: Setup, outcome: Outcome) -> dict[str, Any]:
    """Everything about the run, for config.json."""
    rows = outcome.rows
    return {
        "format": rundir.CONFIG_FORMAT,
        "env_id": args.env_id,
        "env_backend": setup.env.backend,
        "pgfast_version": pg.__version__,
        "seed": args.seed,
        "threads": args.threads,
        "workers": None if getattr(args, "workers", None) is None else f"ray:{args.workers}",
        "preset": None if args.no_preset or args.env_id not in PRESETS else args.env_id,
        "from_command_line": sorted(setup.given),
        "settings": setup.settings,
        "features": setup.policy.features.config(),
        "policy_class": type(setup.policy).__name__,
        "reinforce": setup.algo.settings,
        "eval_episodes": args.eval_episodes,
        "command": command_line(args, setup.settings, setup.out),
        "argv": list(args.argv) if args.argv is not None else sys.argv[1:],
        "result": {
            "iterations": len(rows),
            "env_steps": outcome.steps,
            "train_seconds": outcome.seconds,
            "interrupted": outcome.interrupted,
            "error": outcome.failure,
            "final_return_mean": rows[-1]["return_mean"] if rows else None,
            "evaluation": outcome.evaluation,
        },
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def summary(env_id: str, outcome: Outcome) -> str:
    """The last line printed: updates, steps, time and the evaluation."""
    line = (
        f"{env_id}: {len(outcome.rows)} updates, {outcome.steps} env steps, {outcome.seconds:.3f} s"
    )
    ev = outcome.evaluation
    if ev:
        line += (
            f"; evaluation over {ev['episodes']} episodes: mean return "
            f"{ev['mean']:.2f} (std {ev['std']:.2f})"
        )
    return line
