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


def test_short_corridor_reproduces_sutton_and_barto_13_1(tmp_path):
    """Example 13.1: the exact J(p) peaks at about -11.6 for p(right) about 0.59
    (exactly 2 - sqrt(2) = 0.586 and -(6 + 4 sqrt(2)) = -11.657); Figure 13.1:
    REINFORCE approaches it, faster with the larger step sizes."""
    out = tmp_path / "corridor.png"
    p, J, curves = load("short_corridor").main(runs=10, episodes=300, out=str(out))
    assert abs(p - (2 - 2**0.5)) < 0.002, p
    assert -11.7 < J < -11.6, J
    assert abs(J + 6 + 4 * 2**0.5) < 1e-3, J
    fast, middle, slow = (curves[a] for a in (2.0**-12, 2.0**-13, 2.0**-14))
    assert fast[:20].mean() < -60  # p(right) = 0.05 at the start: J(0.05) is about -80
    assert fast[-100:].mean() > -20
    assert fast[100:].mean() > middle[100:].mean() > slow[100:].mean()
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cliff_natural_gradient_finds_the_path_vanilla_misses(tmp_path):
    results = load("cliff_natural_gradient").main(out=str(tmp_path / "cliff.png"))
    assert results == {"vanilla (Adam)": -17.0, "natural (exact Fisher, max_kl 0.05)": -13.0}
    assert (tmp_path / "cliff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
