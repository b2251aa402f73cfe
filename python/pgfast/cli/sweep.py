"""``pgfast sweep ENV_ID --seeds 0-9 --lr 0.01,0.05``: many ``train`` runs, as Ray tasks.

Every (step size, seed) pair is one ``pgfast train`` run, set up exactly as
``train`` sets it up and written as its run directory, under ``--out``; the
runs go to :func:`pgfast.distributed.run_many` (Ray tasks with ``--workers``,
one after another without: the same results either way). Then a summary
across seeds per step size: ``summary.csv`` and ``summary.png``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import pgfast as pg
from pgfast.cli import rundir, train
from pgfast.cli.build import make_workers
from pgfast.cli.plots import plot_sweep

SUMMARY_KEYS = (
    "lr",
    "seeds",
    "final_return_mean",
    "final_return_std",
    "final_return_min",
    "final_return_max",
    "seconds",
)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else rundir.default_out(f"{args.env_id}-sweep")
    rundir.check_out(out, args.overwrite)
    step_sizes: list[float | None] = list(args.lr) if args.lr else [None]
    runs = [(lr, seed, _run_args(args, out, lr, seed)) for lr in step_sizes for seed in args.seeds]
    setups = [train.set_up(run_args) for _, _, run_args in runs]
    for setup in setups:
        rundir.prepare_out(setup.out, args.overwrite)
    configs = [
        {
            "env": setup.env,
            "policy": setup.policy,
            "iterations": setup.settings["iterations"],
            "target_return": setup.settings["target_return"],
            **setup.algo.settings,
        }
        for setup in setups
    ]
    workers = make_workers(args.workers, args.threads)
    where = f"{args.workers} Ray workers" if workers else "this process"
    print(f"sweep {args.env_id}: {len(runs)} runs on {where} -> {out}", file=sys.stderr)
    start = time.perf_counter()
    try:
        results = pg.distributed.run_many(configs, workers=workers)
    finally:
        if workers is not None:
            workers.shutdown()
    seconds = time.perf_counter() - start
    rows = []
    for (_, seed, run_args), setup, result in zip(runs, setups, results, strict=True):
        setup.policy.theta = result.theta
        if isinstance(setup.policy, pg.LinearGaussian) and result.log_std is not None:
            setup.policy.log_std = result.log_std
        h = result.history
        history = [{k: float(h[k][i]) for k in h} for i in range(h.iterations)]
        outcome = train.Outcome(
            history, list(h.keys()), float(h["wall_time"][-1]) if history else 0.0
        )
        if args.eval_episodes > 0:
            outcome.evaluation = train.evaluate(run_args, setup)
        train.write_run(run_args, setup, outcome)
        rows.append((setup.settings["lr"], seed, history))
    table = summarize(rows)
    write_summary(out / "summary.csv", table)
    curves: dict[float, list[list[float]]] = {}
    for lr, _, history in rows:
        curves.setdefault(lr, []).append([r["return_mean"] for r in history])
    skipped = None if args.no_plot else plot_sweep(out / "summary.png", curves, args.env_id)
    if skipped:
        print(f"note: summary.png not written: {skipped}", file=sys.stderr)
    print(format_table(table))
    print(f"wrote {len(runs)} run directories, summary.csv to {out} in {seconds:.1f} s")
    return 0


def _run_args(
    args: argparse.Namespace, out: Path, lr: float | None, seed: int
) -> argparse.Namespace:
    """The ``train`` arguments of one run of the sweep."""
    run_args = copy.copy(args)
    run_args.lr = lr
    run_args.seed = seed
    run_args.workers = None
    label = f"seed{seed}" if lr is None else f"lr{lr:g}-seed{seed}"
    run_args.out = str(out / label)
    return run_args


def summarize(rows: list[tuple[float, int, list[dict[str, float]]]]) -> list[dict[str, Any]]:
    """Per step size: the final iteration's mean return across seeds."""
    table = []
    for lr in sorted({lr for lr, _, _ in rows}):
        finals = np.array([h[-1]["return_mean"] for r, _, h in rows if r == lr and h])
        table.append(
            {
                "lr": lr,
                "seeds": len(finals),
                "final_return_mean": float(finals.mean()),
                "final_return_std": float(finals.std()),
                "final_return_min": float(finals.min()),
                "final_return_max": float(finals.max()),
                "seconds": float(
                    sum(h[-1]["wall_time"] for r, _, h in rows if r == lr and h) / len(finals)
                ),
            }
        )
    return table


def write_summary(path: Path, table: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SUMMARY_KEYS)
        writer.writeheader()
        writer.writerows(table)


def format_table(table: list[dict[str, Any]]) -> str:
    lines = [f"{'lr':>10} {'seeds':>5} {'final return':>22} {'min':>9} {'max':>9}"]
    for row in table:
        lines.append(
            f"{row['lr']:>10g} {row['seeds']:>5d} "
            f"{row['final_return_mean']:>12.2f} +- {row['final_return_std']:<7.2f} "
            f"{row['final_return_min']:>9.2f} {row['final_return_max']:>9.2f}"
        )
    return "\n".join(lines)
