"""The ``pgfast`` command (also ``python -m pgfast``).

``pgfast train ENV_ID`` trains a linear policy with REINFORCE (per-env
presets from :mod:`pgfast.presets`, every setting overridable) and writes
``config.json``, ``metrics.csv``, ``policy.npz`` and ``learning_curve.png``
to ``--out``; ``pgfast evaluate RUN`` reloads a policy and evaluates it;
``pgfast envs`` lists the environments; ``pgfast bench`` times them.

Progress goes to stderr, results to stdout. Bad options exit with status 2
and a one-line ``pgfast: error: ...`` message.
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime
import json
import math
import platform
import re
import shlex
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pgfast.presets import DEFAULTS, PRESETS, preset_for

FILES = ("config.json", "metrics.csv", "policy.npz", "learning_curve.png")
CONFIG_FORMAT = 1


class CLIError(Exception):
    """A bad option or input: reported as ``pgfast: error: ...``, exit status 2."""


# ---------------------------------------------------------------- helpers


def _describe(space) -> str:
    shape = getattr(space, "shape", None)
    if hasattr(space, "n"):
        return f"Discrete({space.n})"
    return f"Box{shape} {space.dtype}"


def _is_discrete(space) -> bool:
    import gymnasium as gym

    return isinstance(space, gym.spaces.Discrete)


def _jsonable(value: Any) -> Any:
    """Plain JSON types (numpy scalars and arrays, tuples, non-finite floats)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ------------------------------------------------------- feature specs

_SPEC_HELP = ("identity, onehot, poly:DEGREE, fourier:ORDER, rbf:CENTERS or "
              "tiles:TILINGSxTILES (e.g. tiles:8x4)")
_SPEC = re.compile(r"^(identity|onehot|poly|fourier|rbf|tiles)(?::(.*))?$")
_BOUNDED = ("fourier", "rbf", "tiles")


def parse_feature_spec(spec: str) -> tuple[str, tuple[int, ...]]:
    """``"tiles:8x4"`` -> ``("tiles", (8, 4))``; raises :class:`CLIError` if malformed."""
    if not isinstance(spec, str):
        raise CLIError(f"feature spec must be a string, got {spec!r}")
    match = _SPEC.match(spec.strip())
    if not match:
        raise CLIError(f"malformed feature spec {spec!r}; use {_SPEC_HELP}")
    kind, arg = match.group(1), match.group(2)
    if kind in ("identity", "onehot"):
        if arg is not None:
            raise CLIError(f"malformed feature spec {spec!r}: {kind} takes no argument")
        return kind, ()
    pattern = r"^(\d+)x(\d+)$" if kind == "tiles" else r"^(\d+)$"
    numbers = re.match(pattern, arg or "")
    if not numbers:
        example = {"poly": "poly:2", "fourier": "fourier:3", "rbf": "rbf:7",
                   "tiles": "tiles:8x4"}[kind]
        raise CLIError(f"malformed feature spec {spec!r}; expected e.g. {example}")
    values = tuple(int(v) for v in numbers.groups())
    minimum = 0 if kind in ("poly", "fourier") else 1
    if min(values) < minimum or max(values) > 10_000:
        raise CLIError(f"malformed feature spec {spec!r}: numbers must be in "
                       f"[{minimum}, 10000]")
    return kind, values


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


def _resolve_bounds(kind: str, space, settings: dict[str, Any],
                    from_cli: bool) -> tuple[list[float], list[float], str]:
    """Bounds for a bounded feature map: the command line's, the preset's,
    or the observation space's when finite."""
    import numpy as np

    dim = int(space.shape[0])
    low, high = settings.get("low"), settings.get("high")
    source = "command line" if from_cli else "preset"
    if low is None and high is None:
        lo, hi = np.asarray(space.low, float), np.asarray(space.high, float)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise CLIError(
                f"{kind} features need bounds but the observation space {_describe(space)} is "
                f"unbounded; pass --low and --high (comma-separated, {dim} values each)")
        return lo.tolist(), hi.tolist(), "observation space"
    if low is None or high is None:
        raise CLIError("--low and --high must be given together")
    low, high = list(low), list(high)
    if len(low) == 1:
        low = low * dim
    if len(high) == 1:
        high = high * dim
    if len(low) != dim or len(high) != dim:
        raise CLIError(f"--low and --high need {dim} values (the observation's length), "
                       f"got {len(low)} and {len(high)}")
    bad = [k for k in range(dim) if not low[k] < high[k]]
    if bad:
        k = bad[0]
        raise CLIError(f"--low must be below --high in every dimension; "
                       f"dimension {k}: {low[k]} >= {high[k]}")
    return low, high, source


def build_features(spec: str, space, settings: dict[str, Any], bounds_from_cli: bool = False):
    """The feature map for ``spec`` on observation space ``space``.

    Returns ``(features, info)`` with ``info`` describing the bounds used.
    """
    import pgfast as pg

    kind, args = parse_feature_spec(spec)
    if _is_discrete(space):
        if kind != "onehot":
            raise CLIError(f"{spec!r} features need a Box observation space; this env's is "
                           f"{_describe(space)}: use --features onehot")
        return pg.features.OneHot(int(space.n)), {}
    if kind == "onehot":
        raise CLIError(f"onehot features need a Discrete observation space; this env's is "
                       f"{_describe(space)}")
    if len(space.shape) != 1:
        raise CLIError(f"only 1-D Box observations are supported, got {_describe(space)}")
    dim = int(space.shape[0])
    if kind == "identity":
        return pg.features.Identity(dim), {}
    if kind == "poly":
        return pg.features.Polynomial(dim, args[0]), {}
    n_features = {"fourier": (args[0] + 1) ** dim,
                  "rbf": args[0] ** dim + 1,
                  "tiles": args[0] * (args[-1] + 1) ** dim}[kind]
    if n_features > 1_000_000:
        raise CLIError(f"{spec!r} on a {dim}-D observation gives {n_features} features; "
                       f"choose a smaller spec")
    low, high, source = _resolve_bounds(kind, space, settings, bounds_from_cli)
    features: pg.features.FeatureMap
    if kind == "fourier":
        features = pg.features.Fourier(args[0], low, high)
    elif kind == "rbf":
        features = pg.features.RBF(args[0], low, high)
    else:
        features = pg.features.TileCoding(args[0], args[1], low, high)
    return features, {"low": low, "high": high, "bounds_from": source}


# --------------------------------------------------------------- progress


class _Progress:
    """A progress bar on stderr (a line every ~10% when stderr is not a terminal)."""

    def __init__(self, iterations: int, enabled: bool = True, stream=None) -> None:
        self.iterations = iterations
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.rows: list[dict[str, float]] = []
        self.steps = 0
        self.start = time.perf_counter()
        self.last = -1.0
        self.every = max(1, iterations // 10)
        self.open_line = False
        self.width = 0

    def __call__(self, stats: dict[str, float]) -> bool:
        self.rows.append(dict(stats))
        self.steps += int(stats.get("env_steps", 0))
        if not self.enabled:
            return False
        k = len(self.rows)
        now = time.perf_counter() - self.start
        if self.tty:
            if now - self.last >= 0.1 or k == self.iterations:
                self.last = now
                self._print(k, stats, now, end="")
        elif k % self.every == 0 or k == 1:
            self._print(k, stats, now, end="\n")
        return False

    def _print(self, k: int, stats: dict[str, float], now: float, end: str) -> None:
        width = 24
        filled = int(width * k / max(self.iterations, 1))
        bar = "#" * filled + "-" * (width - filled)
        recent = [r["return_mean"] for r in self.rows[-10:]]
        running = sum(recent) / len(recent)
        line = (f"[{bar}] {k}/{self.iterations}  return {stats['return_mean']:.4g} "
                f"(last 10: {running:.4g})  {self.steps} steps  {now:.1f}s")
        if self.tty:  # overwrite the previous line, padding over what it had beyond ours
            line, self.width = "\r" + line.ljust(self.width), len(line)
        print(line, end=end, file=self.stream, flush=True)
        self.open_line = self.tty

    def close(self) -> None:
        if self.enabled and self.open_line:
            print(file=self.stream, flush=True)
            self.open_line = False


# ------------------------------------------------------------- artefacts


def write_metrics(path: Path, rows: list[dict[str, float]], keys: Sequence[str]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(keys)
        for row in rows:
            writer.writerow([_csv_value(row.get(k, float("nan"))) for k in keys])


def _csv_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return repr(float(value)) if isinstance(value, float) else value


def plot_learning_curve(path: Path, rows: list[dict[str, float]], title: str,
                        target: float | None = None) -> str | None:
    """Mean return vs env steps with a min-max band, as a PNG. Returns a
    reason if the plot was skipped (matplotlib missing, nothing to plot)."""
    if not rows:
        return "no iterations to plot"
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    steps = np.cumsum([r["env_steps"] for r in rows])
    mean = np.array([r["return_mean"] for r in rows])
    low = np.array([r["return_min"] for r in rows])
    high = np.array([r["return_max"] for r in rows])
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    try:
        ax.fill_between(steps, low, high, alpha=0.25, color="C0", linewidth=0,
                        label="min-max of batch")
        ax.plot(steps, mean, color="C0", linewidth=1.5, label="mean return")
        if target is not None:
            ax.axhline(target, color="C3", linestyle="--", linewidth=1,
                       label=f"target {target:g}")
        ax.set_xlabel("environment steps")
        ax.set_ylabel("episode return")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return None


def _save_policy(policy, path: Path, env) -> str | None:
    if not hasattr(policy, "save"):
        return "this pgfast has no policy.save yet"
    policy.save(str(path), env=env)
    return None


def _default_out(env_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", env_id)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{safe}-{stamp}"
    out, k = base, 1
    while out.exists():
        out = base.with_name(f"{base.name}-{k}")
        k += 1
    return out


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a directory")
    if (out / "config.json").exists() and not overwrite:
        raise CLIError(f"--out {out} already holds a run; pass --overwrite or choose another "
                       f"directory")


def _clear_out(out: Path) -> None:
    """Remove an overwritten run's files, so that none is left from it."""
    for name in FILES:
        if (out / name).is_file():
            (out / name).unlink()


# ----------------------------------------------------------------- train

# Settings the command line can override (each an option of the same name).
_OVERRIDABLE = ("policy", "features", "log_std", "learn_std", "iterations",
                "episodes_per_update", "lr", "optimizer", "returns", "baseline", "gamma",
                "gae_lambda", "normalize_advantages", "max_kl", "target_return", "num_envs",
                "max_episode_steps", "env_params")


def resolve_settings(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """Defaults, then the env's preset, then the command line. Returns the
    settings and the names given on the command line."""
    settings = preset_for(args.env_id) if not args.no_preset else copy.deepcopy(DEFAULTS)
    given = []
    for key in _OVERRIDABLE:
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


def _make_env(pg, env_id: str, settings: dict[str, Any], seed: int, threads: int,
              time_limit: bool = True):
    """``pg.make(env_id, ...)``; an id pgfast does not have but Gymnasium
    does becomes a (Python-stepped, one-env) ``pg.GymnasiumEnv``."""
    limit = settings.get("max_episode_steps") if time_limit else None
    params = settings["env_params"]
    if env_id not in pg.list_envs() and hasattr(pg, "GymnasiumEnv"):
        gym_env = _gymnasium_make(env_id, limit, params)
        if gym_env is not None:
            return pg.GymnasiumEnv(gym_env, seed=seed)
    extra = {} if limit is None else {"max_episode_steps": limit}
    try:
        return pg.make(env_id, num_envs=settings["num_envs"], seed=seed, num_threads=threads,
                       **extra, **params)
    except TypeError as exc:  # missing or unexpected env parameters
        raise CLIError(f"{exc} (set them with --env-params '{{...}}')") from None
    except ValueError as exc:
        if "unknown environment id" in str(exc):
            raise CLIError(f"{exc}; or any registered Gymnasium id") from None
        raise


def _gymnasium_make(env_id: str, max_episode_steps: int | None, params: dict[str, Any]):
    """``gymnasium.make(env_id)`` if Gymnasium knows the id, else None."""
    import gymnasium as gym

    if env_id not in gym.registry:
        try:  # Gymnasium's own hint, e.g. "Taxi-v3 is deprecated, use Taxi-v4"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gym.spec(env_id)
        except (gym.error.DeprecatedEnv, gym.error.VersionNotFound) as exc:
            raise CLIError(f"unknown environment id {env_id!r}: {exc}") from None
        except gym.error.Error:
            pass
        return None
    kwargs: dict[str, Any] = dict(params)
    if max_episode_steps is not None:
        kwargs["max_episode_steps"] = max_episode_steps
    try:
        return gym.make(env_id, **kwargs)
    except gym.error.Error as exc:  # e.g. a missing optional dependency
        raise CLIError(f"cannot make the Gymnasium env {env_id!r}: {exc}") from None
    except TypeError as exc:
        raise CLIError(f"cannot make the Gymnasium env {env_id!r}: {exc} "
                       f"(check --env-params)") from None


def build_policy(pg, env, settings: dict[str, Any], bounds_from_cli: bool = False):
    obs_space, act_space = env.single_observation_space, env.single_action_space
    discrete_actions = _is_discrete(act_space)
    kind = settings["policy"] or ("softmax" if discrete_actions else "gaussian")
    spec = settings["features"] or ("onehot" if _is_discrete(obs_space) else "identity")
    features, info = build_features(spec, obs_space, settings, bounds_from_cli)
    if kind == "softmax":
        if not discrete_actions:
            raise CLIError(f"--policy softmax needs a Discrete action space; this env's is "
                           f"{_describe(act_space)}: use --policy gaussian")
        policy = pg.LinearSoftmax(features, int(act_space.n))
    else:
        if discrete_actions:
            raise CLIError(f"--policy gaussian needs a Box action space; this env's is "
                           f"{_describe(act_space)}: use --policy softmax")
        if len(act_space.shape) != 1:
            raise CLIError(f"only 1-D Box actions are supported, got {_describe(act_space)}")
        policy = pg.LinearGaussian(features, int(act_space.shape[0]),
                                   log_std=settings["log_std"], learn_std=settings["learn_std"])
    return policy, kind, spec, info


def _command_line(args: argparse.Namespace, settings: dict[str, Any], out: Path) -> str:
    """A ``pgfast train`` command that reproduces the run with every setting explicit."""
    s = settings
    parts = ["pgfast", "train", args.env_id, "--no-preset",
             "--policy", s["policy"], "--features", s["features"]]
    if s.get("low") is not None:
        parts += [f"--low={','.join(map(repr, s['low']))}",
                  f"--high={','.join(map(repr, s['high']))}"]
    if s["policy"] == "gaussian":
        parts += ["--log-std", repr(s["log_std"]),
                  "--learn-std" if s["learn_std"] else "--no-learn-std"]
    parts += ["--iterations", str(s["iterations"]),
              "--episodes-per-update", str(s["episodes_per_update"]),
              "--lr", repr(s["lr"]), "--optimizer", s["optimizer"], "--returns", s["returns"],
              "--baseline", s["baseline"], "--gamma", repr(s["gamma"]),
              "--gae-lambda", repr(s["gae_lambda"])]
    if s["normalize_advantages"]:
        parts.append("--normalize-advantages")
    if s["max_kl"] is not None:
        parts += ["--max-kl", repr(s["max_kl"])]
    parts += ["--target-return", "none" if s["target_return"] is None else repr(s["target_return"])]
    if s["env_params"]:
        parts += ["--env-params", json.dumps(s["env_params"], separators=(",", ":"))]
    if s["max_episode_steps"] is not None:
        parts += ["--max-episode-steps", str(s["max_episode_steps"])]
    parts += ["--num-envs", str(s["num_envs"]), "--seed", str(args.seed),
              "--eval-episodes", str(args.eval_episodes), "--out", str(out)]
    return shlex.join(parts)


def _cmd_train(args: argparse.Namespace) -> int:
    import numpy as np

    import pgfast as pg

    settings, given = resolve_settings(args)
    env = _make_env(pg, args.env_id, settings, args.seed, args.threads)
    policy, kind, spec, feature_info = build_policy(
        pg, env, settings, bounds_from_cli="low" in given)
    settings["policy"], settings["features"] = kind, spec
    if feature_info:
        settings["low"], settings["high"] = feature_info["low"], feature_info["high"]
    else:
        settings["low"] = settings["high"] = None
    algo = pg.Reinforce(
        env, policy, lr=settings["lr"], gamma=settings["gamma"],
        episodes_per_update=settings["episodes_per_update"], returns=settings["returns"],
        baseline=settings["baseline"], gae_lambda=settings["gae_lambda"],
        normalize_advantages=settings["normalize_advantages"], optimizer=settings["optimizer"],
        max_kl=settings["max_kl"], seed=args.seed, num_threads=args.threads,
    )
    settings["baseline"] = algo.settings["baseline"]
    out = Path(args.out) if args.out else _default_out(args.env_id)
    _prepare_out(out, args.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    _clear_out(out)

    iterations = settings["iterations"]
    progress = _Progress(iterations, enabled=not args.quiet)
    print(f"training {args.env_id}: {type(policy).__name__} on {spec} features "
          f"({policy.n_params} parameters), {iterations} iterations of "
          f"{settings['episodes_per_update']} episodes -> {out}", file=sys.stderr)
    interrupted = False
    failure: str | None = None
    start = time.perf_counter()
    try:
        history = algo.train(iterations, callback=progress,
                             target_return=settings["target_return"])
        keys = list(history.keys())
    except (KeyboardInterrupt, ValueError, RuntimeError, FloatingPointError) as exc:
        # Ctrl-C, or the engine refused to go on (e.g. diverging parameters):
        # keep the iterations done so far.
        interrupted = True
        if not isinstance(exc, KeyboardInterrupt):
            failure = " ".join(str(exc).split()) or type(exc).__name__
        keys = list(progress.rows[0]) if progress.rows else []
    finally:
        progress.close()
    train_time = time.perf_counter() - start
    rows = progress.rows
    if interrupted:
        why = "training stopped" if failure else "interrupted"
        print(f"{why} after {len(rows)} iterations; saving what was learned", file=sys.stderr)
    steps = int(sum(r["env_steps"] for r in rows))

    evaluation: dict[str, Any] | None = None
    if args.eval_episodes > 0 and not interrupted:
        eval_env = env
        if settings["max_episode_steps"] is not None:  # evaluate with the env's own limit
            eval_env = _make_env(pg, args.env_id, settings, args.seed, args.threads,
                                 time_limit=False)
        returns = np.asarray(pg.evaluate(eval_env, policy, episodes=args.eval_episodes,
                                         deterministic=True, seed=args.seed))
        evaluation = {"episodes": int(args.eval_episodes), "deterministic": True,
                      "seed": args.seed, "mean": float(returns.mean()),
                      "std": float(returns.std()), "min": float(returns.min()),
                      "max": float(returns.max())}

    notes = []
    skipped = _save_policy(policy, out / "policy.npz", env)
    if skipped:
        notes.append(f"policy.npz not written: {skipped}")
    if keys:
        write_metrics(out / "metrics.csv", rows, keys)
    if args.no_plot:
        notes.append("learning_curve.png not written (--no-plot)")
    else:
        skipped = plot_learning_curve(out / "learning_curve.png", rows,
                                      f"{args.env_id}: {type(policy).__name__}, {spec}",
                                      settings["target_return"])
        if skipped:
            notes.append(f"learning_curve.png not written: {skipped}")
    config = {
        "format": CONFIG_FORMAT,
        "env_id": args.env_id,
        "pgfast_version": pg.__version__,
        "seed": args.seed,
        "threads": args.threads,
        "preset": None if args.no_preset or args.env_id not in PRESETS else args.env_id,
        "from_command_line": sorted(given),
        "settings": settings,
        "features": policy.features.config(),
        "policy_class": type(policy).__name__,
        "reinforce": algo.settings,
        "eval_episodes": args.eval_episodes,
        "command": _command_line(args, settings, out),
        "argv": list(args.argv) if args.argv is not None else sys.argv[1:],
        "result": {"iterations": len(rows), "env_steps": steps,
                   "train_seconds": train_time, "interrupted": interrupted,
                   "error": failure,
                   "final_return_mean": rows[-1]["return_mean"] if rows else None,
                   "evaluation": evaluation},
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    with open(out / "config.json", "w") as fh:
        json.dump(_jsonable(config), fh, indent=2)
        fh.write("\n")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)

    summary = (f"{args.env_id}: {len(rows)} updates, {steps} env steps, {train_time:.3f} s")
    if evaluation:
        summary += (f"; evaluation over {evaluation['episodes']} episodes: mean return "
                    f"{evaluation['mean']:.2f} (std {evaluation['std']:.2f})")
    written = [f for f in FILES if (out / f).exists()]
    print(f"wrote {', '.join(written)} to {out}")
    print(summary)
    if failure:
        print(f"pgfast: error: training stopped: {failure}", file=sys.stderr)
        return 1
    return 130 if interrupted else 0


# -------------------------------------------------------------- evaluate


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _env_id_in(meta: Any) -> str | None:
    if not isinstance(meta, dict):
        return None
    env = meta.get("env")
    for value in (meta.get("env_id"), env.get("id") if isinstance(env, dict) else env):
        if isinstance(value, str) and value:
            return value
    return None


def _metadata_env_id(policy, npz: Path) -> str | None:
    """The env id the policy file records, from the loaded policy's attributes
    or, failing that, the file's JSON metadata."""
    value = getattr(policy, "env_id", None)
    if isinstance(value, str) and value:
        return value
    for attr in ("metadata", "meta", "_metadata"):
        found = _env_id_in(getattr(policy, attr, None))
        if found:
            return found
    import numpy as np

    try:
        with np.load(npz, allow_pickle=False) as data:
            for key in data.files:
                arr = data[key]
                if arr.dtype.kind not in "US" or arr.size != 1:
                    continue
                try:
                    found = _env_id_in(json.loads(str(arr.item())))
                except ValueError:
                    continue
                if found:
                    return found
    except (OSError, ValueError):
        return None
    return None


def text_histogram(values, bins: int = 10, width: int = 40) -> list[str]:
    """Lines of a horizontal text histogram of ``values``."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        return [f"  [{lo:>10.4g}, {hi:>10.4g}] | {'#' * width} {values.size}"]
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    peak = counts.max()
    lines = []
    for k, count in enumerate(counts):
        bar = "#" * round(width * count / peak) if count else ""
        close = "]" if k == bins - 1 else ")"
        lines.append(f"  [{edges[k]:>10.4g}, {edges[k + 1]:>10.4g}{close} | {bar} {count}")
    return lines


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    import pgfast as pg

    if not hasattr(pg, "load_policy"):
        raise CLIError("this pgfast cannot load policies yet (pg.load_policy is missing)")
    path = Path(args.path)
    if path.is_dir():
        npz, config_path = path / "policy.npz", path / "config.json"
    else:
        npz, config_path = path, path.with_name("config.json")
    if not npz.exists():
        raise CLIError(f"no policy file at {npz}")
    if args.episodes < 1:
        raise CLIError(f"--episodes must be >= 1, got {args.episodes}")
    policy = pg.load_policy(str(npz))
    config = _read_json(config_path) or {}
    env_id = args.env or _metadata_env_id(policy, npz) or config.get("env_id")
    if not env_id:
        raise CLIError(f"{npz} does not say which env it was trained on; pass --env ID")
    saved = config.get("settings") if config.get("env_id") == env_id else None
    settings = preset_for(env_id)
    if isinstance(saved, dict):
        settings.update({k: saved[k] for k in ("env_params", "num_envs") if k in saved})
    env = _make_env(pg, env_id, settings, args.seed, args.threads, time_limit=False)
    policy = pg.load_policy(str(npz), env=env)  # again, checking the spaces match
    returns = np.asarray(pg.evaluate(env, policy, episodes=args.episodes,
                                     deterministic=not args.stochastic, seed=args.seed))
    mode = "stochastic" if args.stochastic else "greedy"
    print(f"{env_id}: {args.episodes} episodes, {mode} policy, seed {args.seed} ({npz})")
    print(f"mean {returns.mean():.2f}  std {returns.std():.2f}  "
          f"min {returns.min():.2f}  max {returns.max():.2f}")
    print("returns:")
    for line in text_histogram(returns):
        print(line)
    return 0


# ---------------------------------------------------------- envs, bench


def _cmd_envs(args: argparse.Namespace) -> int:
    import pgfast as pg

    rows = [("id", "observation space", "action space", "time limit")]
    for env_id in pg.list_envs():
        params = PRESETS.get(env_id, {}).get("env_params", {})
        env = pg.make(env_id, seed=0, **params)
        limit = env.max_episode_steps
        note = " (example parameters)" if params else ""
        rows.append((env_id + note, _describe(env.single_observation_space),
                     _describe(env.single_action_space), "none" if limit is None else str(limit)))
        env.close()
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.full:
        # The full suite lives in the source tree (benchmarks/run.py), next to
        # its NumPy, JAX and C++ peers; an editable install finds it there.
        import subprocess

        import pgfast

        script = Path(pgfast.__file__).resolve().parents[2] / "benchmarks" / "run.py"
        if not script.is_file():
            raise CLIError("pgfast bench --full runs benchmarks/run.py from a source checkout: "
                           "clone the repository, pip install '.[bench]', then run "
                           "python benchmarks/run.py")
        extra = ["--quick"] if args.quick else []
        if args.jax_python:
            extra += ["--jax-python", args.jax_python]
        if args.out_dir:
            extra += ["--out-dir", args.out_dir]
        return subprocess.call([sys.executable, str(script), *extra])
    from pgfast._bench import run_env_step_bench

    run_env_step_bench(quick=True, sizes=tuple(args.sizes))
    return 0


# ---------------------------------------------------------------- parser


def _choice_type(allowed: Sequence[str], name: str):
    def parse(text: str) -> str:
        if text not in allowed:
            raise argparse.ArgumentTypeError(
                f"invalid {name} {text!r} (choose from {', '.join(allowed)})")
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
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train", help="train a linear policy with REINFORCE",
        description="Train a linear policy with REINFORCE. Each built-in env has a preset "
                    "(see pgfast.presets) that the options below override.",
        epilog="Writes DIR/config.json (every setting; its 'command' reruns the run), "
               "DIR/metrics.csv (one row per iteration), DIR/policy.npz (for `pgfast "
               "evaluate` and pg.load_policy) and DIR/learning_curve.png. Example: pgfast "
               "train CartPole-v1 --features fourier:3 --low -2.4,-3,-0.21,-3.5 "
               "--high 2.4,3,0.21,3.5")
    train.add_argument("env_id", help="environment id (see `pgfast envs`)")
    g = train.add_argument_group("policy and features (defaults: the env's preset)")
    g.add_argument("--policy", type=_choice_type(("softmax", "gaussian"), "policy"),
                   metavar="{softmax,gaussian}",
                   help="softmax for Discrete actions, gaussian for Box (the default follows "
                        "the action space)")
    g.add_argument("--features", metavar="SPEC", help=f"feature spec: {_SPEC_HELP}")
    g.add_argument("--low", metavar="X,X,...",
                   help="lower bounds of the observation for fourier/rbf/tiles features "
                        "(default: the preset's, else the observation space's if finite)")
    g.add_argument("--high", metavar="X,X,...", help="upper bounds (see --low)")
    g.add_argument("--log-std", type=float, metavar="X",
                   help="initial log std of a gaussian policy")
    g.add_argument("--learn-std", action=argparse.BooleanOptionalAction, default=None,
                   help="learn the gaussian policy's std")
    g = train.add_argument_group("learning (defaults: the env's preset)")
    g.add_argument("--iterations", type=int, metavar="N", help="updates")
    g.add_argument("--episodes-per-update", type=int, metavar="M",
                   help="episodes per gradient estimate")
    g.add_argument("--lr", type=float, help="step size (> 0)")
    g.add_argument("--optimizer", type=_choice_type(("sgd", "adam", "natural"), "optimizer"),
                   metavar="{sgd,adam,natural}")
    g.add_argument("--max-kl", type=float, metavar="X",
                   help="trust region of the natural step")
    returns = ("total", "reward_to_go", "discounted_reward_to_go", "gae")
    g.add_argument("--returns", type=_choice_type(returns, "returns"),
                   metavar="{" + ",".join(returns) + "}")
    baselines = ("none", "mean", "time", "value", "optimal")
    g.add_argument("--baseline", type=_choice_type(baselines, "baseline"),
                   metavar="{" + ",".join(baselines) + "}")
    g.add_argument("--gamma", type=float, help="discount in [0, 1]")
    g.add_argument("--gae-lambda", type=float, metavar="LAMBDA", help="GAE's lambda in [0, 1]")
    g.add_argument("--normalize-advantages", action=argparse.BooleanOptionalAction,
                   default=None, help="standardise the advantages over each batch")
    g.add_argument("--target-return", type=_optional_float, metavar="R",
                   help="stop once a batch's mean return reaches R ('none': never)")
    g = train.add_argument_group("environment and run")
    g.add_argument("--env-params", type=_json_object, metavar="JSON",
                   help='parameters for pgfast.make, merged into the preset\'s, e.g. '
                        '\'{"means": [0, 1, 0.5]}\' (Bandit) or \'{"gravity": 12}\'')
    g.add_argument("--num-envs", type=int, metavar="N", help="environments stepped together")
    g.add_argument("--max-episode-steps", type=int, metavar="N",
                   help="time limit while training (evaluation keeps the env's own)")
    g.add_argument("--threads", type=int, default=1, metavar="N",
                   help="threads (results do not depend on it; default 1)")
    g.add_argument("--seed", type=int, default=0, help="seed of everything (default 0)")
    g.add_argument("--eval-episodes", type=int, default=100, metavar="N",
                   help="greedy evaluation episodes after training (0: none; default 100)")
    g.add_argument("--out", metavar="DIR",
                   help="output directory (default runs/<env_id>-<timestamp>)")
    g.add_argument("--overwrite", action="store_true", help="reuse an --out that holds a run")
    g.add_argument("--no-plot", action="store_true", help="do not draw learning_curve.png")
    g.add_argument("--no-preset", action="store_true",
                   help="ignore the env's preset: library defaults for what is not given")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    train.set_defaults(func=_cmd_train)

    evaluate = sub.add_parser("evaluate", help="evaluate a saved policy",
                              description="Load DIR/policy.npz (or an .npz) and run episodes.")
    evaluate.add_argument("path", metavar="DIR_OR_NPZ", help="a run directory or a policy file")
    evaluate.add_argument("--episodes", type=int, default=100, help="episodes (default 100)")
    evaluate.add_argument("--seed", type=int, default=0, help="env seed (default 0)")
    evaluate.add_argument("--stochastic", action="store_true",
                          help="sample actions (default: the greedy/mean action)")
    evaluate.add_argument("--env", help="env id, if the file does not record one")
    evaluate.add_argument("--threads", type=int, default=1)
    evaluate.set_defaults(func=_cmd_evaluate)

    envs = sub.add_parser("envs", help="list the built-in environments")
    envs.set_defaults(func=_cmd_envs)
    bench = sub.add_parser("bench", help="time env.step against Gymnasium on this machine")
    bench.add_argument("--full", action="store_true",
                       help="run the whole comparison suite (benchmarks/run.py, from a checkout)")
    bench.add_argument("--quick", action="store_true", help="with --full: the short version")
    bench.add_argument("--jax-python", default=None, metavar="PATH",
                       help="with --full: an interpreter that has jax and gymnax")
    bench.add_argument("--out-dir", default=None, metavar="DIR",
                       help="with --full: where to write latest.md and latest.json")
    bench.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 4096],
                       metavar="N", help="num_envs values to time (default: 1 16 256 4096)")
    bench.set_defaults(func=_cmd_bench)
    return parser


_NUMBER = re.compile(r"^-\.?\d")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--low -1,-2`` -> ``--low=-1,-2`` (argparse would take ``-1,-2`` for an option)."""
    out: list[str] = []
    k = 0
    while k < len(argv):
        arg = argv[k]
        if (arg in ("--low", "--high", "--log-std", "--target-return") and k + 1 < len(argv)
                and _NUMBER.match(argv[k + 1])):
            out.append(f"{arg}={argv[k + 1]}")
            k += 2
            continue
        out.append(arg)
        k += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_join_negative_values(raw))
    args.argv = raw
    try:
        return int(args.func(args))
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
