"""``pgfast envs``: the environments :func:`pgfast.make` knows, with their spaces, backend
(``native``, or ``native-table`` for Gymnasium's toy-text tables) and time limit."""

from __future__ import annotations

import argparse

import pgfast as pg
from pgfast.cli.common import describe_space
from pgfast.presets import PRESETS


def run(args: argparse.Namespace) -> int:
    rows = [("id", "observation space", "action space", "backend", "time limit")]
    for env_id in pg.list_envs():
        params = PRESETS.get(env_id, {}).get("env_params", {})
        env = pg.make(env_id, seed=0, **params)
        limit = env.max_episode_steps
        note = " (example parameters)" if params else ""
        rows.append(
            (
                env_id + note,
                describe_space(env.single_observation_space),
                describe_space(env.single_action_space),
                env.backend,
                "none" if limit is None else str(limit),
            )
        )
        env.close()
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return 0
