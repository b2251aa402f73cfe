"""The ``pgfast`` command (also ``python -m pgfast``).

``pgfast train ENV_ID`` trains a linear policy with REINFORCE (per-env
presets from :mod:`pgfast.presets`, every setting overridable) and writes
``config.json``, ``metrics.csv``, ``policy.npz`` and ``learning_curve.png``
to ``--out`` (``--workers ray:N`` shares each batch among Ray actors);
``pgfast sweep ENV_ID --seeds 0-9 --lr 0.01,0.05`` runs one ``train`` per
seed and step size (as Ray tasks with ``--workers``) and summarises them;
``pgfast study ENV_ID`` compares gradient estimators (:mod:`pgfast.study`);
``pgfast evaluate RUN`` reloads a policy and evaluates it;
``pgfast envs`` lists the environments; ``pgfast bench`` times them.

Progress goes to stderr, results to stdout. ``train`` and ``evaluate`` write first,
to stderr, the door the env came through (``env Taxi-v4: native-table (...)``,
see :attr:`pgfast.VectorEnv.backend`): a Python-stepped env is the usual reason a
run is slow. Bad options exit with status 2 and a one-line ``pgfast: error: ...``
message.

One module per command (:mod:`~pgfast.cli.train`, :mod:`~pgfast.cli.sweep`,
:mod:`~pgfast.cli.evaluate`,
:mod:`~pgfast.cli.envs`, :mod:`~pgfast.cli.bench`), each with ``run(args)``;
:mod:`~pgfast.cli.parser` holds the options.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from pgfast.cli import bench, envs, evaluate, study, sweep, train
from pgfast.cli.common import CLIError
from pgfast.cli.parser import build_parser, join_negative_values

__all__ = ["CLIError", "build_parser", "main"]

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": train.run,
    "sweep": sweep.run,
    "study": study.run,
    "evaluate": evaluate.run,
    "envs": envs.run,
    "bench": bench.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pgfast ARGV...``; returns the exit status (2: bad options, 130: Ctrl-C)."""
    raw = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not raw:  # `pgfast` alone: what it can do, not a usage error
        parser.print_help()
        return 0
    args = parser.parse_args(join_negative_values(raw))
    args.argv = raw
    try:
        status = int(COMMANDS[args.command](args))
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return status
    except BrokenPipeError:
        # `pgfast evaluate RUN | head -1`: the reader left; nothing to report.
        # Later writes (and the interpreter's final flush) go nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (CLIError, ValueError, TypeError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"pgfast: error: {message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pgfast: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pgfast: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
