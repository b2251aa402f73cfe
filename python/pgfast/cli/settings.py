"""A training run's settings: library defaults, then the env's preset, then
the command line; and the ``pgfast train`` command that reproduces them."""

from __future__ import annotations

import argparse
import copy
import json
import math
import shlex
from pathlib import Path
from typing import Any

from pgfast.cli.common import CLIError
from pgfast.presets import DEFAULTS, preset_for

# Settings the command line can override (each an option of the same name).
OVERRIDABLE = (
    "policy",
    "features",
    "log_std",
    "learn_std",
    "iterations",
    "episodes_per_update",
    "lr",
    "optimizer",
    "returns",
    "baseline",
    "gamma",
    "gae_lambda",
    "normalize_advantages",
    "max_kl",
    "fisher",
    "target_return",
    "num_envs",
    "max_episode_steps",
    "env_params",
)


def resolve_settings(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """Defaults, then the env's preset, then the command line. Returns the
    settings and the names given on the command line."""
    settings = preset_for(args.env_id) if not args.no_preset else copy.deepcopy(DEFAULTS)
    given = []
    for key in OVERRIDABLE:
        value = getattr(args, key, None)
        if value is not None:
            if key == "env_params":  # merged into the preset's parameters
                value = {**settings.get("env_params", {}), **value}
            settings[key] = value
            given.append(key)
    low, high = _parse_bounds(args.low, "low"), _parse_bounds(args.high, "high")
    if low is not None or high is not None:
        if low is None or high is None:
            raise CLIError("--low and --high must be given together")
        settings["low"], settings["high"] = low, high
        given += ["low", "high"]
    if settings["target_return"] is not None and not math.isfinite(settings["target_return"]):
        settings["target_return"] = None
    _check_settings(settings)
    if not 1 <= args.threads <= 256:
        raise CLIError(f"--threads must be in [1, 256], got {args.threads}")
    if args.eval_episodes < 0:
        raise CLIError(f"--eval-episodes must be >= 0, got {args.eval_episodes}")
    if not 0 <= args.seed < 2**64:
        raise CLIError(f"--seed must be in [0, 2**64), got {args.seed}")
    return settings, given


def _parse_bounds(text: str | None, name: str) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise CLIError(f"--{name} must be comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise CLIError(f"--{name} must be finite, got {text!r}")
    return values


def _check_settings(s: dict[str, Any]) -> None:
    def positive_int(key: str, minimum: int = 1) -> None:
        if s[key] < minimum:
            raise CLIError(f"--{key.replace('_', '-')} must be >= {minimum}, got {s[key]}")

    positive_int("iterations")
    positive_int("episodes_per_update")
    positive_int("num_envs")
    if s["max_episode_steps"] is not None:
        positive_int("max_episode_steps")
    if not (math.isfinite(s["lr"]) and s["lr"] > 0):
        raise CLIError(f"--lr must be a positive number, got {s['lr']}")
    if not (0 <= s["gamma"] <= 1):
        raise CLIError(f"--gamma must be in [0, 1], got {s['gamma']}")
    if not (0 <= s["gae_lambda"] <= 1):
        raise CLIError(f"--gae-lambda must be in [0, 1], got {s['gae_lambda']}")
    if s["max_kl"] is not None and not (math.isfinite(s["max_kl"]) and s["max_kl"] > 0):
        raise CLIError(f"--max-kl must be a positive number, got {s['max_kl']}")
    if not math.isfinite(s["log_std"]):
        raise CLIError(f"--log-std must be finite, got {s['log_std']}")
    if not isinstance(s["env_params"], dict):
        raise CLIError(f"--env-params must be a JSON object, got {s['env_params']!r}")


def command_line(args: argparse.Namespace, settings: dict[str, Any], out: Path) -> str:
    """A ``pgfast train`` command that reproduces the run with every setting explicit."""
    s = settings
    parts = [
        "pgfast",
        "train",
        args.env_id,
        "--no-preset",
        "--policy",
        s["policy"],
        "--features",
        s["features"],
    ]
    if s.get("low") is not None:
        parts += [
            f"--low={','.join(map(repr, s['low']))}",
            f"--high={','.join(map(repr, s['high']))}",
        ]
    if s["policy"] == "gaussian":
        parts += [
            "--log-std",
            repr(s["log_std"]),
            "--learn-std" if s["learn_std"] else "--no-learn-std",
        ]
    parts += [
        "--iterations",
        str(s["iterations"]),
        "--episodes-per-update",
        str(s["episodes_per_update"]),
        "--lr",
        repr(s["lr"]),
        "--optimizer",
        s["optimizer"],
        "--returns",
        s["returns"],
        "--baseline",
        s["baseline"],
        "--gamma",
        repr(s["gamma"]),
        "--gae-lambda",
        repr(s["gae_lambda"]),
    ]
    if s["normalize_advantages"]:
        parts.append("--normalize-advantages")
    if s["max_kl"] is not None:
        parts += ["--max-kl", repr(s["max_kl"])]
    if s["optimizer"] == "natural":
        parts += ["--fisher", s["fisher"]]
    parts += ["--target-return", "none" if s["target_return"] is None else repr(s["target_return"])]
    if s["env_params"]:
        parts += ["--env-params", json.dumps(s["env_params"], separators=(",", ":"))]
    if s["max_episode_steps"] is not None:
        parts += ["--max-episode-steps", str(s["max_episode_steps"])]
    parts += [
        "--num-envs",
        str(s["num_envs"]),
        "--seed",
        str(args.seed),
        "--eval-episodes",
        str(args.eval_episodes),
        "--out",
        str(out),
    ]
    return shlex.join(parts)
