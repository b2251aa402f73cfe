"""The pgfast command, run as a user would."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgfast", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def test_envs_lists_every_environment_with_its_spaces():
    result = run("envs")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "id"
    cartpole = next(line for line in lines if line.startswith("CartPole-v1"))
    assert "Box(4,) float32" in cartpole and "Discrete(2)" in cartpole and cartpole.endswith("500")
    for env_id in ("Pendulum-v1", "FrozenLake-v1", "LQR"):
        assert any(line.startswith(env_id) for line in lines)


def test_bench_prints_a_ratio_table():
    result = run("bench", "--sizes", "8")
    assert result.returncode == 0, result.stderr
    row = result.stdout.strip().splitlines()[-1].split()
    assert row[0] == "8" and row[-2].endswith("x") and row[-1].endswith("x")


def test_bad_usage_exits_2_with_a_message():
    result = run("no-such-command")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    result = run("bench", "--sizes", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "pgfast: error: num_envs must be >= 1, got 0"
    assert "Traceback" not in result.stderr


def test_train_cartpole_with_no_options_solves_it():
    result = run("train", "CartPole-v1")
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("CartPole-v1:")
    mean_return = float(summary.split("mean return ")[1].split()[0])
    assert mean_return >= 475, summary


def test_train_unknown_env_exits_2_without_traceback():
    result = run("train", "NoSuchEnv-v0")
    assert result.returncode == 2
    assert "unknown environment id 'NoSuchEnv-v0'" in result.stderr
    assert "Traceback" not in result.stderr
