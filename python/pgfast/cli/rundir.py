"""The run directory ``pgfast train`` writes: choosing and clearing it, and
its ``config.json``, ``metrics.csv`` and ``policy.npz``."""

from __future__ import annotations

import csv
import datetime
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pgfast.cli.common import CLIError

FILES = ("config.json", "metrics.csv", "policy.npz", "learning_curve.png")
CONFIG_FORMAT = 1


def default_out(env_id: str) -> Path:
    """``runs/<env_id>-<timestamp>``, with a suffix if that exists."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", env_id)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{safe}-{stamp}"
    out, k = base, 1
    while out.exists():
        out = base.with_name(f"{base.name}-{k}")
        k += 1
    return out


def check_out(out: Path, overwrite: bool) -> None:
    """Refuse a file, or a directory holding a run unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a directory")
    if (out / "config.json").exists() and not overwrite:
        raise CLIError(
            f"--out {out} already holds a run; pass --overwrite or choose another directory"
        )


def prepare_out(out: Path, overwrite: bool) -> None:
    """Create ``out``, removing an overwritten run's files so that none is left from it."""
    check_out(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if (out / name).is_file():
            (out / name).unlink()


def written_files(out: Path) -> list[str]:
    return [f for f in FILES if (out / f).exists()]


def write_metrics(path: Path, rows: list[dict[str, float]], keys: Sequence[str]) -> None:
    """One CSV row per iteration (integral floats written as integers)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(keys)
        for row in rows:
            writer.writerow([_csv_value(row.get(k, float("nan"))) for k in keys])


def _csv_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return repr(float(value)) if isinstance(value, float) else value


def save_policy(policy: Any, path: Path, env: Any) -> str | None:
    """Write ``policy.npz``; returns why it was not written, if it was not."""
    if not hasattr(policy, "save"):
        return "this pgfast has no policy.save yet"
    policy.save(str(path), env=env)
    return None


def write_config(path: Path, config: dict[str, Any]) -> None:
    with open(path, "w") as fh:
        json.dump(jsonable(config), fh, indent=2)
        fh.write("\n")


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None if missing or not one."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def jsonable(value: Any) -> Any:
    """Plain JSON types (numpy scalars and arrays, tuples, non-finite floats)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
