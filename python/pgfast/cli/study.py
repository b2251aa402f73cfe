"""``pgfast study ENV_ID``: bias, variance and cost of gradient estimators (pg.study).

The policy is the env's preset one (its features, theta = 0), or a trained one
(``--policy-from RUN``); the estimators are named from :data:`pgfast.study.CATALOG`.
Writes ``study.csv`` (the table), ``study.json`` (the table, the settings and the
reference) and ``study.png`` (bias and variance with error bars) to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import pgfast as pg
from pgfast.cli import rundir, train
from pgfast.cli.build import make_workers
from pgfast.cli.common import CLIError
from pgfast.study import CATALOG, COLUMNS


def run(args: argparse.Namespace) -> int:
    names = args.estimators.split(",") if args.estimators else list(CATALOG)
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        raise CLIError(f"unknown estimator(s) {unknown}; choose from {', '.join(CATALOG)}")
    out = Path(args.out) if args.out else rundir.default_out(f"{args.env_id}-study")
    out.mkdir(parents=True, exist_ok=True)
    setup = _setup(args)
    policy = setup.policy
    if args.policy_from:
        policy = pg.load_policy(_npz(Path(args.policy_from)), env=setup.env)
    workers = make_workers(args.workers, args.threads)
    try:
        report = pg.study.estimators(
            setup.env,
            policy,
            {n: CATALOG[n] for n in names},
            episodes=args.episodes,
            repeats=args.repeats,
            gamma=args.gamma,
            seed=args.seed,
            num_threads=args.threads,
            workers=workers,
        )
    finally:
        if workers is not None:
            workers.shutdown()
    with open(out / "study.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for i in range(len(names)):
            writer.writerow({c: report.table[c][i] for c in COLUMNS})
    meta = {"settings": report.settings, "reference": report.reference, "table": report.table}
    (out / "study.json").write_text(json.dumps(meta, indent=1) + "\n")
    written = ["study.csv", "study.json"]
    try:
        report.plot(out / "study.png")
        written.append("study.png")
    except ImportError:
        print("note: study.png not written: matplotlib is not installed")
    print(report)
    print(f"wrote {', '.join(written)} to {out}")
    return 0


def _setup(args: argparse.Namespace) -> train.Setup:
    """The env and the preset's policy, made exactly as ``pgfast train`` makes them."""
    from pgfast.cli.parser import build_parser

    with tempfile.TemporaryDirectory() as tmp:
        argv = ["train", args.env_id, "--seed", str(args.seed), "--out", tmp]
        train_args = build_parser().parse_args([*argv, "--threads", str(args.threads)])
        train_args.argv = []
        return train.set_up(train_args)


def _npz(path: Path) -> Path:
    return path / "policy.npz" if path.is_dir() else path
