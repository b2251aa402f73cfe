"""The pgfast command, run as a user would (subprocesses, small budgets)."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from _subprocess import run_cli

import pgfast as pg
from pgfast import cli, presets
from pgfast._progress import Progress
from pgfast.cli import build, evaluate, plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pgfast: error: "), lines[0]
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def own_lines(stderr: str) -> list[str]:
    """``stderr`` without Python warnings (``file:line: XWarning: ...`` and the source
    line shown under it), which come from other libraries."""
    lines: list[str] = []
    warning = False
    for line in stderr.splitlines():
        if re.match(r"^\S+:\d+: \w*Warning: ", line):
            warning = True
        elif not (warning and line.startswith("  ")):
            warning = False
            lines.append(line)
    return lines


def read_metrics(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


# ------------------------------------------------------------ envs, bench


def test_envs_lists_every_environment_with_its_spaces():
    result = run_cli("envs")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "id"
    cartpole = next(line for line in lines if line.startswith("CartPole-v1"))
    assert "Box(4,) float32" in cartpole
    assert "Discrete(2)" in cartpole
    assert cartpole.endswith("500")
    for env_id in ("Pendulum-v1", "FrozenLake-v1", "LQR"):
        assert any(line.startswith(env_id) for line in lines)
    assert " native " in cartpole
    # Gymnasium's toy-text Taxi, converted from its tables.
    taxi = next(line for line in lines if line.startswith("Taxi-v4"))
    assert taxi.split() == ["Taxi-v4", "Discrete(500)", "Discrete(6)", "native-table", "200"]
    # The synthetic envs are shown with the example parameters `train` uses.
    bandit = next(line for line in lines if line.startswith("Bandit"))
    assert "Discrete(10)" in bandit


def test_bench_prints_a_ratio_table():
    result = run_cli("bench", "--sizes", "8")
    assert result.returncode == 0, result.stderr
    row = result.stdout.strip().splitlines()[-1].split()
    assert row[0] == "8"
    assert row[-2].endswith("x")
    assert row[-1].endswith("x")


def test_bad_usage_exits_2_with_a_message():
    result = run_cli("no-such-command")
    assert_one_line_error(result, "invalid choice")
    result = run_cli("bench", "--sizes", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "pgfast: error: num_envs must be >= 1, got 0"
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ train


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory) -> Path:
    """A short CartPole run with explicit settings (no early stop)."""
    out = tmp_path_factory.mktemp("runs") / "cartpole"
    result = run_cli(
        "train",
        "CartPole-v1",
        "--iterations",
        "7",
        "--episodes-per-update",
        "4",
        "--lr",
        "0.03",
        "--optimizer",
        "sgd",
        "--baseline",
        "time",
        "--gamma",
        "0.98",
        "--target-return",
        "none",
        "--seed",
        "5",
        "--num-envs",
        "4",
        "--eval-episodes",
        "10",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # The door first, progress on stderr, results on stdout.
    assert result.stderr.splitlines()[0] == "env CartPole-v1: native (stepped in C++ by pgfast)"
    assert "iteration" not in result.stdout
    assert "return" in result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("CartPole-v1: 7 updates"), summary
    return out


def test_train_writes_config_with_every_setting(cartpole_run):
    config = json.loads((cartpole_run / "config.json").read_text())
    assert config["env_id"] == "CartPole-v1"
    assert config["env_backend"] == "native"
    assert config["seed"] == 5
    assert config["pgfast_version"] == pg.__version__
    s = config["settings"]
    assert s["iterations"] == 7
    assert s["episodes_per_update"] == 4
    assert s["lr"] == 0.03
    assert s["optimizer"] == "sgd"
    assert s["baseline"] == "time"
    assert s["gamma"] == 0.98
    assert s["num_envs"] == 4
    assert s["target_return"] is None
    assert s["policy"] == "softmax"
    assert s["features"] == "identity"
    assert s["returns"] == "reward_to_go"  # from the preset
    assert set(presets.DEFAULTS) <= set(s)
    assert config["features"] == {"kind": "identity", "dim": 4}
    assert config["policy_class"] == "LinearSoftmax"
    assert config["reinforce"]["lr"] == 0.03
    assert config["reinforce"]["seed"] == 5
    assert config["result"]["iterations"] == 7
    assert config["command"].startswith("pgfast train CartPole-v1 --no-preset")


def test_train_writes_one_metrics_row_per_iteration(cartpole_run):
    columns, rows = read_metrics(cartpole_run / "metrics.csv")
    from pgfast.algorithms import HISTORY_KEYS

    at = HISTORY_KEYS.index("env_steps") + 1
    assert columns == [*HISTORY_KEYS[:at], "total_env_steps", *HISTORY_KEYS[at:]]
    assert len(rows) == 7
    assert [int(r["iteration"]) for r in rows] == list(range(1, 8))
    total = 0
    for row in rows:
        assert int(row["episodes"]) == 4
        assert float(row["return_min"]) <= float(row["return_mean"]) <= float(row["return_max"])
        assert int(row["env_steps"]) == round(4 * float(row["length_mean"]))
        total += int(row["env_steps"])
        assert int(row["total_env_steps"]) == total  # the progress bar's count


def test_train_and_evaluate_report_the_same_evaluation(tmp_path):
    """Both evaluate episodes 0..99 of the seed's batch: the same returns."""
    out = tmp_path / "acrobot"
    result = run_cli("train", "Acrobot-v1", "--iterations", "5", "--eval-episodes", "30",
                     "--seed", "3", "--out", str(out), "-q", "--no-plot")  # fmt: skip
    assert result.returncode == 0, result.stderr
    trained = json.loads((out / "config.json").read_text())["result"]["evaluation"]
    result = run_cli("evaluate", str(out), "--episodes", "30", "--seed", "3")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("mean "))
    assert line.split()[1] == f"{trained['mean']:.2f}"
    assert line.split()[3] == f"{trained['std']:.2f}"


def test_train_draws_the_learning_curve(cartpole_run):
    png = cartpole_run / "learning_curve.png"
    if not HAS_MATPLOTLIB:
        assert not png.exists()
        return
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5000


def test_train_saves_a_policy_that_reloads(cartpole_run):
    if not hasattr(pg, "load_policy"):
        pytest.skip("pg.load_policy not available yet")
    policy = pg.load_policy(cartpole_run / "policy.npz")
    assert isinstance(policy, pg.LinearSoftmax)
    assert policy.theta.shape == (5, 2)
    assert policy.metadata["env_id"] == "CartPole-v1"
    assert np.any(policy.theta != 0)


def test_plot_is_skipped_with_a_note_when_asked(tmp_path):
    out = tmp_path / "run"
    result = run_cli(
        "train",
        "Bandit",
        "--iterations",
        "3",
        "--no-plot",
        "--eval-episodes",
        "0",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert not (out / "learning_curve.png").exists()
    assert "--no-plot" in result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["env_params"]["means"] == presets.BANDIT_MEANS


def test_gaussian_policy_on_bounded_features(tmp_path):
    # Pendulum has no preset bounds: fourier takes them from the observation
    # space; the Gaussian's initial log std comes from the command line.
    out = tmp_path / "pendulum"
    result = run_cli(
        "train",
        "Pendulum-v1",
        "--features",
        "fourier:2",
        "--iterations",
        "3",
        "--episodes-per-update",
        "2",
        "--log-std",
        "-0.5",
        "--no-learn-std",
        "--no-plot",
        "--eval-episodes",
        "3",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["policy_class"] == "LinearGaussian"
    assert config["features"]["kind"] == "fourier"
    assert config["features"]["order"] == 2
    assert config["settings"]["low"] == [-1.0, -1.0, -8.0]
    assert config["settings"]["high"] == [1.0, 1.0, 8.0]
    assert config["settings"]["log_std"] == -0.5
    assert config["settings"]["learn_std"] is False
    if hasattr(pg, "load_policy"):
        policy = pg.load_policy(out / "policy.npz")
        assert isinstance(policy, pg.LinearGaussian)
        np.testing.assert_array_equal(policy.log_std, [-0.5])


def test_tile_features_with_bounds_on_the_command_line(tmp_path):
    # Negative bounds need no `=`: `--low -1,...` is accepted.
    out = tmp_path / "tiles"
    result = run_cli(
        "train",
        "CartPole-v1",
        "--features",
        "tiles:3x2",
        "--low",
        "-2.4,-3,-0.2,-3",
        "--high",
        "2.4,3,0.2,3",
        "--iterations",
        "2",
        "--no-plot",
        "--eval-episodes",
        "0",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["features"] == {
        "kind": "tile_coding",
        "tilings": 3,
        "tiles_per_dim": 2,
        "low": [-2.4, -3.0, -0.2, -3.0],
        "high": [2.4, 3.0, 0.2, 3.0],
    }
    assert "evaluation" not in result.stdout


def test_config_command_reproduces_the_run(cartpole_run, tmp_path):
    config = json.loads((cartpole_run / "config.json").read_text())
    args = shlex.split(config["command"])
    assert args[:2] == ["pgfast", "train"]
    args[args.index("--out") + 1] = str(tmp_path / "again")
    result = run_cli(*args[1:], "--no-plot")
    assert result.returncode == 0, result.stderr
    drop_time = [k for k in read_metrics(cartpole_run / "metrics.csv")[0] if k != "wall_time"]
    first = [[r[k] for k in drop_time] for r in read_metrics(cartpole_run / "metrics.csv")[1]]
    again = [[r[k] for k in drop_time] for r in read_metrics(tmp_path / "again/metrics.csv")[1]]
    assert first == again


def test_missing_matplotlib_skips_the_plot_without_failing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    rows = [{"env_steps": 10, "return_mean": 1.0, "return_min": 0.0, "return_max": 2.0}]
    reason = plots.plot_learning_curve(tmp_path / "curve.png", rows, "title")
    assert reason is not None
    assert "matplotlib is not installed" in reason
    assert not (tmp_path / "curve.png").exists()


def test_interrupted_training_keeps_what_was_learned(tmp_path, monkeypatch, capsys):
    # Ctrl-C during training: the iterations done so far are saved, exit 130.
    calls = []

    def interrupt_after_three(self, stats):
        calls.append(stats)
        self.rows.append(dict(stats))
        if len(calls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "__call__", interrupt_after_three)
    out = tmp_path / "interrupted"
    code = cli.main(
        ["train", "CartPole-v1", "--iterations", "50", "--no-plot", "-q", "--out", str(out)]
    )
    assert code == 130
    assert "interrupted after 3 iterations" in capsys.readouterr().err
    assert len(read_metrics(out / "metrics.csv")[1]) == 3
    config = json.loads((out / "config.json").read_text())
    assert config["result"]["interrupted"] is True
    assert config["result"]["iterations"] == 3


def test_diverging_training_saves_what_it_has_and_exits_1(tmp_path):
    out = tmp_path / "diverged"
    result = run_cli(
        "train", "LQR", "--optimizer", "sgd", "--lr", "1e6", "--iterations", "20", "--out", str(out)
    )
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("pgfast: error: training stopped: ")
    assert "not finite" in last
    assert "Traceback" not in result.stderr
    config = json.loads((out / "config.json").read_text())
    assert "not finite" in config["result"]["error"]
    rows = read_metrics(out / "metrics.csv")[1]
    assert len(rows) == config["result"]["iterations"] < 20


@pytest.mark.parametrize(
    ("env_id", "backend", "note", "greedy_ends"),
    [
        # Gymnasium's, not pgfast's (which has v1), with a NumPy-vectorised entry point.
        (
            "CartPole-v0",
            "gymnasium-vector",
            "a Gymnasium vector env; one Python call per batch step",
            True,
        ),
        # Its tables give one (s, a, s') two rewards, so it cannot become a TabularMDP.
        # It has no time limit of its own: a greedy policy that walks into a wall never
        # ends an episode, so it is not evaluated here.
        ("CliffWalkingSlippery-v1", "gymnasium-callback", "one Python call per step; slow", False),
    ],
)
def test_any_gymnasium_id_trains_through_the_fastest_door_it_has(
    tmp_path, env_id, backend, note, greedy_ends
):
    assert env_id in gym.registry
    assert env_id not in pg.list_envs()
    out = tmp_path / "run"
    result = run_cli(
        "train",
        env_id,
        "--iterations",
        "2",
        "--episodes-per-update",
        "2",
        "--eval-episodes",
        "2" if greedy_ends else "0",
        "--max-episode-steps",
        "50",
        "--no-plot",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    # Gymnasium may warn that v0 is old while the env is made, before pgfast names the door.
    first = own_lines(result.stderr)[0]
    assert first == f"env {env_id}: {backend} ({note})"
    config = json.loads((out / "config.json").read_text())
    assert config["env_id"] == env_id
    assert config["env_backend"] == backend
    assert len(read_metrics(out / "metrics.csv")[1]) == 2
    if greedy_ends:
        result = run_cli("evaluate", str(out), "--episodes", "2")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"{env_id}: 2 episodes")
        assert own_lines(result.stderr)[0].startswith(f"env {env_id}: {backend}")


def test_train_refuses_to_overwrite_a_run(cartpole_run):
    result = run_cli("train", "CartPole-v1", "--iterations", "1", "--out", str(cartpole_run))
    assert_one_line_error(result, "already holds a run", "--overwrite")


# --------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["NoSuchEnv-v0"], ["unknown environment id 'NoSuchEnv-v0'"]),
        (["CartPole-v1", "--features", "wavelet:3"], ["malformed feature spec 'wavelet:3'"]),
        (["CartPole-v1", "--features", "fourier:x"], ["malformed feature spec 'fourier:x'"]),
        (
            ["CartPole-v1", "--features", "tiles:8"],
            ["malformed feature spec 'tiles:8'", "tiles:8x4"],
        ),
        (["CartPole-v1", "--lr", "-0.1"], ["--lr must be a positive number"]),
        (["CartPole-v1", "--lr", "nan"], ["--lr must be a positive number"]),
        (["CartPole-v1", "--gamma", "1.5"], ["--gamma must be in [0, 1]"]),
        (["CartPole-v1", "--iterations", "0"], ["--iterations must be >= 1"]),
        (["CartPole-v1", "--no-preset", "--features", "rbf:5"], ["--low and --high"]),
        (["CartPole-v1", "--features", "rbf:5", "--low", "0,0"], ["--low and --high"]),
        (["CartPole-v1", "--features", "rbf:5", "--low", "0,0", "--high", "1,1"], ["4 values"]),
        (
            ["CartPole-v1", "--features", "rbf:5", "--low", "a,b", "--high", "1,1"],
            ["comma-separated numbers"],
        ),
        (["CartPole-v1", "--policy", "gaussian"], ["Discrete(2)"]),
        (["CartPole-v1", "--features", "onehot"], ["Discrete observation space"]),
        (["FrozenLake-v1", "--features", "fourier:3"], ["Box observation space"]),
        (["CartPole-v1", "--optimizer", "rmsprop"], ["invalid optimizer 'rmsprop'"]),
        (["CartPole-v1", "--env-params", "{oops"], ["--env-params", "JSON"]),
        (["CartPole-v1", "--env-params", '{"gravty": 1}'], ["gravty"]),
        (["LQR", "--env-params", '{"A": [[1.0]]}'], ["B must have shape (1, 1)"]),
        (["CartPole-v1", "--iterations", "ten"], ["--iterations"]),
        (["CartPole-v1", "--threads", "0"], ["--threads"]),
        (["CartPole-v1", "--seed", "-3"], ["--seed"]),
    ],
)
def test_bad_train_options_exit_2_with_one_line(tmp_path, args, fragments):
    out = tmp_path / "never"
    result = run_cli("train", *args, "--out", str(out))
    assert_one_line_error(result, *fragments)
    assert not out.exists()  # nothing is written when the options are bad


def test_feature_spec_parser():
    # The CLI's --features grammar is the library's (pg.features.parse_spec/from_spec).
    assert pg.features.parse_spec("identity") == ("identity", ())
    assert pg.features.parse_spec("poly:2") == ("poly", (2,))
    assert pg.features.parse_spec("fourier:0") == ("fourier", (0,))
    assert pg.features.parse_spec("rbf:7") == ("rbf", (7,))
    assert pg.features.parse_spec("tiles:8x4") == ("tiles", (8, 4))
    for bad in (
        "",
        "identity:1",
        "poly",
        "poly:-1",
        "rbf:0",
        "tiles:8x",
        "tiles:x4",
        "fourier:1.5",
        "FOURIER:3",
    ):
        with pytest.raises(ValueError, match="malformed feature spec"):
            pg.features.parse_spec(bad)


def test_every_builtin_env_has_a_buildable_preset():
    for env_id in pg.list_envs():
        settings = presets.preset_for(env_id)
        assert env_id in presets.PRESETS
        env = pg.make(env_id, num_envs=2, seed=0, **settings["env_params"])
        policy, _, _, _ = build.build_policy(env, settings)
        build.build_algorithm(env, policy, settings, seed=0)


# ------------------------------------------------------------- evaluate


def test_evaluate_prints_the_statistics_and_a_histogram(cartpole_run):
    if not hasattr(pg, "load_policy"):
        pytest.skip("pg.load_policy not available yet")
    result = run_cli("evaluate", str(cartpole_run), "--episodes", "20", "--seed", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("CartPole-v1: 20 episodes, greedy policy, seed 3")
    stats = re.search(r"mean (\S+)\s+std (\S+)\s+min (\S+)\s+max (\S+)", out)
    assert stats, out
    mean, std, low, high = map(float, stats.groups())
    assert 8 <= low <= mean <= high <= 500
    assert std >= 0
    bars = [line for line in out.splitlines() if "|" in line]
    assert bars
    assert sum(int(line.split()[-1]) for line in bars) == 20
    # The same with the .npz path and sampled actions.
    result = run_cli(
        "evaluate", str(cartpole_run / "policy.npz"), "--episodes", "5", "--stochastic"
    )
    assert result.returncode == 0, result.stderr
    assert "5 episodes, stochastic policy" in result.stdout


def test_evaluate_bad_input_exits_2(tmp_path):
    assert_one_line_error(run_cli("evaluate", str(tmp_path / "missing")), "no policy file")
    bogus = tmp_path / "policy.npz"
    bogus.write_bytes(b"not a zip")
    if hasattr(pg, "load_policy"):
        assert_one_line_error(run_cli("evaluate", str(bogus)), "not a valid pgfast policy file")


def test_text_histogram_counts_every_value():
    values = np.array([1.0, 2.0, 2.0, 3.0, 10.0])
    lines = evaluate.text_histogram(values, bins=3)
    assert len(lines) == 3
    assert sum(int(line.split()[-1]) for line in lines) == 5
    assert len(evaluate.text_histogram(np.full(4, 500.0))) == 1


# -------------------------------------------------- presets that solve


def test_train_cartpole_with_no_options_solves_it(tmp_path):
    result = run_cli("train", "CartPole-v1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("CartPole-v1:")
    mean_return = float(summary.split("mean return ")[1].split()[0])
    assert mean_return >= 475, summary
    # The default output directory is runs/<env_id>-<timestamp>.
    (out,) = (tmp_path / "runs").iterdir()
    assert re.fullmatch(r"CartPole-v1-\d{8}-\d{6}", out.name), out.name
    written = {p.name for p in out.iterdir()}
    assert {"config.json", "metrics.csv"} <= written
    if hasattr(pg.LinearSoftmax, "save"):
        assert "policy.npz" in written
    config = json.loads((out / "config.json").read_text())
    assert config["preset"] == "CartPole-v1"
    assert config["from_command_line"] == []
    assert config["result"]["evaluation"]["mean"] == pytest.approx(mean_return, abs=0.01)


def test_pgfast_script_is_installed():
    script = shutil.which("pgfast", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the pgfast console script is not installed next to this Python")
    result = subprocess.run(
        [script, "train", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert "--features" in result.stdout


# ---- sweep and --workers ------------------------------------------------------------


def test_sweep_writes_a_run_per_seed_and_step_size_and_a_summary(tmp_path):
    out = tmp_path / "sweep"
    assert cli.main(["sweep", "CartPole-v1", "--seeds", "0-2", "--lr", "0.01,0.05",
                     "--iterations", "3", "--eval-episodes", "0", "--out", str(out), "-q"]) == 0  # fmt: skip
    runs = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert runs == [f"lr{lr}-seed{s}" for lr in ("0.01", "0.05") for s in range(3)]
    with open(out / "summary.csv") as fh:
        table = {float(r["lr"]): r for r in csv.DictReader(fh)}
    for lr in (0.01, 0.05):
        finals = []
        for s in range(3):
            run = out / f"lr{lr:g}-seed{s}"
            config = json.loads((run / "config.json").read_text())
            assert config["settings"]["lr"] == lr
            assert config["seed"] == s
            with open(run / "metrics.csv") as fh:
                finals.append(float(list(csv.DictReader(fh))[-1]["return_mean"]))
        # A sweep's run is the train run with that seed and step size.
        single = tmp_path / f"single-{lr}"
        assert cli.main(["train", "CartPole-v1", "--seed", "2", "--lr", str(lr), "--iterations",
                         "3", "--eval-episodes", "0", "--out", str(single), "-q"]) == 0  # fmt: skip
        with open(single / "metrics.csv") as fh:
            assert float(list(csv.DictReader(fh))[-1]["return_mean"]) == finals[2]
        assert float(table[lr]["final_return_mean"]) == pytest.approx(np.mean(finals))
        assert float(table[lr]["final_return_std"]) == pytest.approx(np.std(finals))
        assert int(table[lr]["seeds"]) == 3
    if HAS_MATPLOTLIB:
        assert (out / "summary.png").stat().st_size > 0


@pytest.mark.parametrize("spec", ["ray", "ray:0", "dask:2", "ray:x"])
def test_bad_workers_exit_2(spec):
    result = run_cli("train", "CartPole-v1", "--workers", spec)
    assert_one_line_error(result, "--workers takes ray:N")


def test_bad_seeds_exit_2():
    result = run_cli("sweep", "CartPole-v1", "--seeds", "a-b")
    assert_one_line_error(result, "--seeds takes")


@pytest.mark.ray
def test_train_and_sweep_with_ray_workers_give_the_same_runs(tmp_path):
    env = {"RAY_AUTH_MODE": "disabled"}
    common = ["--iterations", "3", "--eval-episodes", "5", "-q"]
    for workers in ([], ["--workers", "ray:2"]):
        tag = "ray" if workers else "local"
        result = run_cli("train", "CartPole-v1", *common, "--out", str(tmp_path / f"train-{tag}"),
                         *workers, extra_env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        result = run_cli("sweep", "Acrobot-v1", "--seeds", "0-1", "--lr", "0.02,0.05", *common,
                         "--out", str(tmp_path / f"sweep-{tag}"), *workers, extra_env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((tmp_path / "train-ray" / "config.json").read_text())
    assert config["workers"] == "ray:2"
    a = pg.load_policy(tmp_path / "train-local" / "policy.npz")
    b = pg.load_policy(tmp_path / "train-ray" / "policy.npz")
    np.testing.assert_array_equal(a.theta, b.theta)
    for run in ("lr0.02-seed0", "lr0.05-seed1"):
        a = pg.load_policy(tmp_path / "sweep-local" / run / "policy.npz")
        b = pg.load_policy(tmp_path / "sweep-ray" / run / "policy.npz")
        np.testing.assert_array_equal(a.theta, b.theta)
    local = (tmp_path / "sweep-local" / "summary.csv").read_text().splitlines()
    ray = (tmp_path / "sweep-ray" / "summary.csv").read_text().splitlines()
    # The same table but for the last column (seconds).
    assert [r.rsplit(",", 1)[0] for r in local] == [r.rsplit(",", 1)[0] for r in ray]


# ---- small things a new user meets ------------------------------------------------


def test_version_and_bare_command_print_what_they_should():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"pgfast {pg.__version__}"
    result = run_cli()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: pgfast")
    assert "train" in result.stdout
    assert result.stderr == ""


def test_a_closed_pipe_ends_quietly(cartpole_run):
    command = (
        f"{shlex.quote(sys.executable)} -m pgfast evaluate {shlex.quote(str(cartpole_run))} "
        "--episodes 20 | head -c 1"
    )
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Broken pipe" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_learning_curve_smooths_and_marks_what_happened(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=50).cumsum()
    for window in (1, 4, 50):
        expected = [values[max(0, i + 1 - window) : i + 1].mean() for i in range(50)]
        np.testing.assert_allclose(plots.smooth(values, window), expected, rtol=1e-12)
    if not HAS_MATPLOTLIB:
        pytest.skip("matplotlib is not installed")
    rows = [{"env_steps": 100.0, "return_mean": float(v)} for v in values]
    plain, marked = tmp_path / "plain.png", tmp_path / "marked.png"
    assert plots.plot_learning_curve(plain, rows, "t") is None
    assert (
        plots.plot_learning_curve(marked, rows, "t", 3.0, evaluation=2.5, interrupted=True) is None
    )
    assert plain.read_bytes().startswith(PNG_SIGNATURE)
    assert marked.read_bytes() != plain.read_bytes()
