"""The scripts in examples/ run (on small budgets) and show what they claim."""

from __future__ import annotations

import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cartpole_example_solves_cartpole():
    assert load("cartpole_softmax").main(iterations=300) >= 475


def test_pendulum_example_improves_clearly():
    before, after = load("pendulum_gaussian").main(iterations=60)
    assert after > before + 500, (before, after)


def test_frozenlake_example_error_falls_with_the_batch(tmp_path):
    errors = load("frozenlake_gradient").main(sizes=(1_000, 100_000), out=str(tmp_path / "g.png"))
    for label, (small, large) in errors.items():
        # 100x the episodes: the error should fall about 10x; demand 3x.
        assert large < small / 3, (label, small, large)
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_native_cartpole_example_trains_natively_to_the_time_limit():
    # Its parity with Gymnasium is tests/test_native_env.py's.
    assert load("native_cartpole").main(iterations=100) > 450
