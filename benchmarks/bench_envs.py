"""env.step throughput: pgfast vs Gymnasium's vectorised CartPole and SyncVectorEnv.

    python benchmarks/bench_envs.py            # num_envs 1, 16, 256, 4096
    python benchmarks/bench_envs.py --quick    # shorter runs
    python benchmarks/bench_envs.py --threads 2

Prints ratios measured in the same run; never asserts a time.
"""

from __future__ import annotations

import argparse

from pgfast._bench import run_env_step_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing runs")
    parser.add_argument("--threads", type=int, default=1, help="pgfast num_threads")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 4096])
    args = parser.parse_args()
    run_env_step_bench(quick=args.quick, sizes=tuple(args.sizes), num_threads=args.threads)


if __name__ == "__main__":
    main()
