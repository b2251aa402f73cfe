"""``pgfast bench``: time env.step against Gymnasium (``--full``: the whole suite)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pgfast
from pgfast.cli.common import CLIError


def run(args: argparse.Namespace) -> int:
    if args.full:
        return _run_suite(args)
    from pgfast._bench import run_env_step_bench

    run_env_step_bench(quick=True, sizes=tuple(args.sizes))
    return 0


def _run_suite(args: argparse.Namespace) -> int:
    """The full suite lives in the source tree (benchmarks/run.py), next to its
    NumPy, JAX and C++ peers; an editable install finds it there."""
    script = Path(pgfast.__file__).resolve().parents[2] / "benchmarks" / "run.py"
    if not script.is_file():
        raise CLIError(
            "pgfast bench --full runs benchmarks/run.py from a source checkout: "
            "clone the repository, pip install '.[bench]', then run "
            "python benchmarks/run.py"
        )
    extra = ["--quick"] if args.quick else []
    if args.jax_python:
        extra += ["--jax-python", args.jax_python]
    if args.out_dir:
        extra += ["--out-dir", args.out_dir]
    return subprocess.call([sys.executable, str(script), *extra])
