"""Gymnasium's toy-text ids run natively from their tables ("native-table"), and every
env says which door it came through (``VectorEnv.backend``).

The references are Gymnasium itself: its ``unwrapped.P`` read here by a plain loop
(not ``TabularMDP.from_gymnasium``), and its env stepped in Python with random actions.
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from _subprocess import run_cli, run_isolated

import pgfast as pg
from pgfast import _core, registry
from pgfast.vector_env import BACKEND_NOTES, VectorEnv

TAXI_NOTE = "TabularMDP from Gymnasium's P tables, stepped in C++"


def plain_tables(env_id: str, **kwargs: object) -> dict[str, np.ndarray]:
    """P, R, initial and terminal read from Gymnasium's ``P[s][a] = [(p, s', r, done)]``."""
    gym_env = gym.make(env_id, **kwargs)
    table, initial = gym_env.unwrapped.P, gym_env.unwrapped.initial_state_distrib
    gym_env.close()
    n_states, n_actions = len(table), len(table[0])
    P = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions, n_states))
    terminal = np.zeros(n_states, dtype=bool)
    for s in range(n_states):
        for a in range(n_actions):
            for p, s_next, r, done in table[s][a]:
                P[s, a, s_next] += p
                if p > 0:
                    R[s, a, s_next] = r
                    terminal[s_next] |= bool(done)
    return {"P": P, "R": R, "initial": np.asarray(initial, dtype=float), "terminal": terminal}


# ------------------------------------------------------------------------ the tables


@pytest.mark.parametrize(
    "kwargs", [{}, {"is_rainy": True}, {"is_rainy": True, "rainy_probability": 0.5}]
)
def test_taxi_tables_are_gymnasiums(kwargs):
    env = pg.make("Taxi-v4", num_envs=2, seed=0, **kwargs)
    mdp = env.mdp
    assert mdp is not None
    ref = plain_tables("Taxi-v4", **kwargs)
    np.testing.assert_array_equal(mdp.P, ref["P"])
    np.testing.assert_array_equal(mdp.R, ref["R"])
    np.testing.assert_array_equal(mdp.initial, ref["initial"])
    np.testing.assert_array_equal(mdp.terminal, ref["terminal"])
    # Facts read off Taxi's description, so that the reference is not trusted blindly:
    # 300 equally likely starts (passenger waiting, elsewhere than the destination),
    # the 4 terminal states (passenger dropped at the destination), -10 for an
    # pickup anywhere but at the waiting passenger (4 passenger x 4 destination states).
    assert (mdp.initial > 0).sum() == 300
    np.testing.assert_allclose(mdp.initial[mdp.initial > 0], 1 / 300, rtol=1e-12)
    assert mdp.terminal.sum() == 4
    pickup_rewards = mdp.R[:, 4, :][mdp.P[:, 4, :] > 0]
    assert pickup_rewards.shape == (500,)
    assert (pickup_rewards == -10).sum() == 500 - 16
    assert env.max_episode_steps == 200
    assert env.single_observation_space == gym.spaces.Discrete(500)
    assert env.single_action_space == gym.spaces.Discrete(6)


def test_rainy_taxi_differs_from_dry_taxi():
    # The parameter reaches Gymnasium: rain makes moves stochastic.
    dry = pg.make("Taxi-v4", seed=0).mdp
    rainy = pg.make("Taxi-v4", seed=0, is_rainy=True).mdp
    assert dry is not None
    assert rainy is not None
    assert set(np.unique(dry.P)) == {0.0, 1.0}
    assert (rainy.P[:, :4] == 0.8).any()


def test_every_toy_text_id_whose_tables_convert_is_registered():
    """Gymnasium's toy-text ids: those whose tables convert are pgfast ids (pgfast's own
    C++ tables, or converted ones); the others stay on the Gymnasium path. A Gymnasium
    upgrade adding a toy-text env fails here until the registry learns it."""
    toy_text = [
        env_id
        for env_id, spec in gym.registry.items()
        if isinstance(spec.entry_point, str)
        and spec.entry_point.startswith("gymnasium.envs.toy_text.")
    ]
    assert {"Taxi-v4", "FrozenLake-v1", "CliffWalking-v1"} <= set(toy_text)
    for env_id in toy_text:
        gym_env = gym.make(env_id)
        try:
            pg.TabularMDP.from_gymnasium(gym_env)
        except (TypeError, ValueError):
            converts = False
        else:
            converts = True
        finally:
            gym_env.close()
        assert (env_id in pg.list_envs()) == converts, env_id
        if converts:
            assert pg.make(env_id, seed=0).backend in ("native", "native-table"), env_id
    # Why these two stay out: no P (Blackjack); two rewards for one (s, a, s') (slippery cliff).
    assert "Blackjack-v1" not in pg.list_envs()
    assert "CliffWalkingSlippery-v1" not in pg.list_envs()


def test_tables_are_converted_once_per_process_and_shared():
    first = pg.make("Taxi-v4", num_envs=2, seed=0)
    before = registry._toy_text_mdp.cache_info()
    second = pg.make("Taxi-v4", num_envs=3, seed=1)
    after = registry._toy_text_mdp.cache_info()
    assert after.hits == before.hits + 1
    assert after.misses == before.misses
    assert first.mdp is not None
    assert second.mdp is not None
    assert np.shares_memory(first.mdp.P, second.mdp.P)
    assert not first.mdp.P.flags.writeable  # sharing is safe
    # is_rainy=False ignores rainy_probability, so it shares the dry tables.
    dry = pg.make("Taxi-v4", seed=0, rainy_probability=0.3)
    assert dry.mdp is not None
    assert np.shares_memory(dry.mdp.P, first.mdp.P)


def test_import_converts_nothing():
    out = run_isolated(
        """
        import sys
        import pgfast as pg
        from pgfast import registry
        assert "Taxi-v4" in pg.list_envs()
        print(registry._toy_text_mdp.cache_info().currsize,
              "gymnasium.envs.toy_text.taxi" in sys.modules)
        pg.make("Taxi-v4", seed=0)
        print(registry._toy_text_mdp.cache_info().currsize)
        """
    )
    assert out.split() == ["0", "False", "1"]


def test_time_limit_and_parameters():
    env = pg.make("Taxi-v4", num_envs=2, seed=0, max_episode_steps=7)
    assert env.max_episode_steps == 7
    assert env.mdp is not None
    assert env.mdp.max_episode_steps == 7
    env.reset(seed=0)
    truncated = np.zeros(2, dtype=bool)
    for _ in range(7):
        *_, term, truncated, _ = env.step(np.zeros(2, dtype=np.int64))  # south: never done
        assert not term.any()
    assert truncated.all()
    assert registry.lookup("Taxi-v4").param_names == ["is_rainy", "rainy_probability"]
    with pytest.raises(TypeError, match="is_rainy must be a bool"):
        pg.make("Taxi-v4", is_rainy=1)
    with pytest.raises(ValueError, match="rainy_probability must be <= 1"):
        pg.make("Taxi-v4", is_rainy=True, rainy_probability=1.5)
    with pytest.raises(ValueError, match="rainy_probability must be >= 0"):
        pg.make("Taxi-v4", is_rainy=True, rainy_probability=-0.1)
    # Not a table: the fickle passenger changes destination inside Gymnasium's step.
    with pytest.raises(TypeError, match=r"\['fickle_passenger'\] for Taxi-v4"):
        pg.make("Taxi-v4", fickle_passenger=True)


# ------------------------------------------------------------------------ the backend


def test_each_door_reports_its_backend():
    assert pg.make("Taxi-v4", seed=0).backend == "native-table"
    for env_id in ("CartPole-v1", "Pendulum-v1", "FrozenLake-v1", "CliffWalking-v1"):
        assert pg.make(env_id, seed=0).backend == "native", env_id
    assert pg.make("LQR", seed=0, **registry.lookup("LQR").example).backend == "native"
    # A TabularMDP made by pgfast is native, even one read from Gymnasium by hand.
    mdp = pg.TabularMDP.from_gymnasium(gym.make("Taxi-v4"))
    assert pg.make(mdp, seed=0).backend == "native"
    # The Python-stepped door: by object or by id, even for a toy-text env.
    assert pg.GymnasiumEnv(gym.make("Taxi-v4"), seed=0).backend == "gymnasium-callback"
    assert pg.GymnasiumEnv("CartPole-v1", seed=0).backend == "gymnasium-callback"
    assert pg.envs.as_vector_env("Taxi-v4").backend == "native-table"
    assert pg.envs.as_vector_env(gym.make("Taxi-v4")).backend == "gymnasium-callback"


def test_backend_is_read_only_and_settable_by_a_builder():
    env = pg.make("CartPole-v1", seed=0)
    with pytest.raises(AttributeError):
        env.backend = "numba"  # type: ignore[misc]
    built = VectorEnv(_core.make_classic("CartPole-v1", 1, 0, 1), backend="numba")
    assert built.backend == "numba"
    assert VectorEnv(_core.make_classic("CartPole-v1", 1, 0, 1)).backend == "native"
    with pytest.raises(ValueError, match="backend must be one of"):
        VectorEnv(_core.make_classic("CartPole-v1", 1, 0, 1), backend="fast")  # type: ignore[arg-type]
    assert set(BACKEND_NOTES) == {
        "native",
        "native-table",
        "numba",
        "gymnasium-vector",
        "gymnasium-callback",
    }
    doc = VectorEnv.backend.__doc__ or ""
    for name in BACKEND_NOTES:
        assert f'``"{name}"``' in doc, name


def test_describe_backend():
    describe = pg.envs.describe_backend
    assert describe(pg.make("Taxi-v4", seed=0)) == f"Taxi-v4: native-table ({TAXI_NOTE})"
    assert describe(pg.make("CartPole-v1", seed=0)) == (
        "CartPole-v1: native (stepped in C++ by pgfast)"
    )
    assert describe(pg.GymnasiumEnv("CartPole-v1", seed=0)) == (
        "CartPole-v1: gymnasium-callback (one Python call per step; slow)"
    )


# -------------------------------------------------------------------------- training


def test_reinforce_trains_taxi_without_stepping_gymnasium(monkeypatch):
    from gymnasium.envs.toy_text.taxi import TaxiEnv

    pg.make("Taxi-v4", seed=0)  # converted (or cached) before Gymnasium's step is disabled

    def no_python_steps(self: object, action: object) -> None:
        raise AssertionError("Gymnasium's Taxi was stepped: the callback door was taken")

    monkeypatch.setattr(TaxiEnv, "step", no_python_steps)
    policy = pg.LinearSoftmax(pg.features.OneHot(500), n_actions=6)
    algo = pg.Reinforce("Taxi-v4", policy, episodes_per_update=16, lr=0.1, seed=0)
    assert algo.env.backend == "native-table"
    history = algo.train(3)
    assert len(history["return_mean"]) == 3
    assert (np.asarray(history["length_mean"]) <= 200).all()
    assert not np.allclose(policy.theta, 0.0)  # it learned something


def test_random_policy_returns_match_gymnasium():
    """Episode return and length of uniformly random actions, pgfast's Taxi against
    Gymnasium's, 3000 episodes each. Random Taxi returns have std ~87 and lengths std
    ~13; the tolerance is 4 standard errors of the difference of the means (~9 for the
    return, ~1.4 for the length), so a false failure has probability ~6e-5 (and the
    seeds are fixed, so the outcome is the same every run). Wrong tables land outside
    it: an illegal pickup paying -9 instead of -10 moves the mean return by ~32, a
    missing terminal state by ~14 (and every episode lasts 200 steps)."""
    n = 3000
    # pgfast: 3000 envs, the first episode of each (stopping at a fixed count of finished
    # episodes instead would favour short ones).
    env = pg.make("Taxi-v4", num_envs=n, seed=11)
    rng = np.random.default_rng(12)
    env.reset(seed=11)
    ret, length = np.zeros(n), np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    while not done.all():
        _, reward, term, trunc, _ = env.step(rng.integers(0, 6, size=n))
        ret += np.where(done, 0.0, reward)
        length += ~done
        done |= term | trunc
    ours_ret, ours_len = ret, length

    gym_env = gym.make("Taxi-v4")
    gym_env.action_space.seed(13)
    theirs_ret, theirs_len = np.zeros(n), np.zeros(n)
    for ep in range(n):
        gym_env.reset(seed=14 if ep == 0 else None)
        total, steps, over = 0.0, 0, False
        while not over:
            _, r, term, trunc, _ = gym_env.step(gym_env.action_space.sample())
            total, steps, over = total + float(r), steps + 1, term or trunc
        theirs_ret[ep], theirs_len[ep] = total, steps
    gym_env.close()

    for ours, theirs in ((ours_ret, theirs_ret), (ours_len, theirs_len)):
        se = np.sqrt(ours.var(ddof=1) / n + theirs.var(ddof=1) / n)
        assert abs(ours.mean() - theirs.mean()) < 4 * se, (ours.mean(), theirs.mean(), se)
    assert ours_len.max() == 200  # most random episodes run into the time limit
    assert ours_len.min() < 200  # some end by delivering the passenger


# ------------------------------------------------------------------------------- CLI


def test_cli_trains_taxi_through_the_native_door(tmp_path: Path):
    out = tmp_path / "taxi"
    result = run_cli(
        "train",
        "Taxi-v4",
        "--iterations",
        "2",
        "--episodes-per-update",
        "4",
        "--eval-episodes",
        "2",
        "--no-plot",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"env Taxi-v4: native-table ({TAXI_NOTE})"
    config = json.loads((out / "config.json").read_text())
    assert config["env_backend"] == "native-table"
    assert config["features"] == {"kind": "one_hot", "n": 500}
    result = run_cli("evaluate", str(out), "--episodes", "2")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"env Taxi-v4: native-table ({TAXI_NOTE})"
    assert result.stdout.startswith("Taxi-v4: 2 episodes")
    # Parameters pass through --env-params.
    result = run_cli(
        "train",
        "Taxi-v4",
        "--iterations",
        "1",
        "--episodes-per-update",
        "2",
        "--eval-episodes",
        "0",
        "--no-plot",
        "--env-params",
        '{"is_rainy": true}',
        "--out",
        str(tmp_path / "rainy"),
    )
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "rainy" / "config.json").read_text())
    assert config["settings"]["env_params"] == {"is_rainy": True}
    assert config["env_backend"] == "native-table"


def test_rainy_probability_is_checked_even_when_it_changes_nothing():
    with pytest.raises(ValueError, match="rainy_probability must be <= 1"):
        pg.make("Taxi-v4", rainy_probability=5.0)
