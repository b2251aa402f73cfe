"""Every bad input raises ValueError or TypeError naming what was wrong, a
failed call changes nothing, and the compiled module survives garbage."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pgfast as pg
from pgfast import _core


def tabular_arrays():
    """A valid 3-state, 2-action MDP: P, R (S, A, S), initial, terminal."""
    P = np.zeros((3, 2, 3))
    P[:, :, 1] = P[:, :, 2] = 0.5
    return P, np.zeros((3, 2, 3)), np.array([1.0, 0.0, 0.0]), np.array([False, False, True])


def lqr_matrices():
    return np.eye(2), np.array([[0.0], [1.0]]), np.eye(2), np.eye(1)


def snapshot(env: pg.VectorEnv) -> tuple[np.ndarray, np.ndarray]:
    return env.get_state(), env.elapsed_steps()


def assert_unchanged(env: pg.VectorEnv, before: tuple[np.ndarray, np.ndarray]) -> None:
    state, elapsed = snapshot(env)
    np.testing.assert_array_equal(state, before[0])
    np.testing.assert_array_equal(elapsed, before[1])


# ------------------------------------------------------------ discrete actions

OBJECT_ACTIONS = np.array([0, 1, None], dtype=object)

DISCRETE_BAD_ACTIONS = [
    (np.zeros((3, 1), dtype=np.int64), ValueError, r"actions must have shape \(3,\), got \(3, 1\)"),
    (np.zeros(2, dtype=np.int64), ValueError, r"actions must have shape \(3,\), got \(2,\)"),
    (np.int64(0), ValueError, r"actions must have shape \(3,\), got \(\)"),
    (np.zeros(3), TypeError, "actions must be an integer array, got dtype float64"),
    ([0.0, 1.0, 2.0], TypeError, "actions must be an integer array, got dtype float64"),
    (np.zeros(3, dtype=np.float32), TypeError, "actions must be an integer array"),
    (OBJECT_ACTIONS, TypeError, "actions must be an integer array, got dtype object"),
    (np.array(["0", "1", "2"]), TypeError, "actions must be an integer array, got dtype <U1"),
    (np.zeros(3, dtype=complex), TypeError, "actions must be an integer array, got dtype complex"),
    (np.zeros(3, dtype=bool), TypeError, "actions must be an integer array, got dtype bool"),
    ([[0], [1, 2], 3], TypeError, "actions must be array-like"),
    (np.array([0, -1, 0]), ValueError, r"actions\[1\] must be in \[0, 4\), got -1"),
    (np.array([0, 4, 0]), ValueError, r"actions\[1\] must be in \[0, 4\), got 4"),
    (np.array([0, 2**40, 0]), ValueError, r"actions\[1\] must be in \[0, 4\)"),
    (
        np.array([0, 2**64 - 1, 0], dtype=np.uint64),
        ValueError,
        "actions has an entry out of the int64",
    ),
]


@pytest.mark.parametrize(("actions", "exc", "match"), DISCRETE_BAD_ACTIONS)
def test_bad_discrete_actions_raise_and_change_nothing(actions, exc, match):
    env = pg.make("FrozenLake-v1", num_envs=3, seed=0)
    env.reset(seed=0)
    env.step(np.array([1, 2, 1]))
    before = snapshot(env)
    with pytest.raises(exc, match=match):
        env.step(actions)
    assert_unchanged(env, before)


def test_float_actions_to_cartpole_are_refused():
    env = pg.make("CartPole-v1", num_envs=2, seed=0)
    env.reset(seed=0)
    with pytest.raises(TypeError, match="actions must be an integer array"):
        env.step(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"actions\[0\] must be in \[0, 2\), got 2"):
        env.step(np.array([2, 1]))


def test_valid_integer_variants_are_accepted():
    # The checks above are not refusing everything: other integer dtypes,
    # lists and non-contiguous arrays are fine.
    env = pg.make("FrozenLake-v1", num_envs=3, seed=0)
    env.reset(seed=0)
    for actions in (
        np.array([0, 1, 3], dtype=np.int32),
        [0, 1, 3],
        np.array([0, 1, 3], np.uint8),
        np.arange(6, dtype=np.int64)[::2] % 4,
    ):
        env.step(actions)


def test_a_failed_step_leaves_the_random_streams_untouched():
    # Twin slippery envs with the same seed; one also receives a bad call.
    # If the bad call had consumed random numbers or stepped any env, the
    # twins would drift apart.
    a, b = (pg.make("FrozenLake-v1", num_envs=16, seed=3) for _ in range(2))
    a.reset(seed=3)
    b.reset(seed=3)
    rng = np.random.default_rng(0)
    for t in range(50):
        actions = rng.integers(0, 4, size=16)
        if t % 10 == 5:
            bad = actions.copy()
            bad[-1] = 9  # only the last one is out of range
            with pytest.raises(ValueError, match=r"actions\[15\]"):
                a.step(bad)
        out_a, out_b = a.step(actions), b.step(actions)
        for x, y in zip(out_a[:4], out_b[:4], strict=False):
            np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------- continuous actions


def continuous_envs():
    A, B, Q, R = lqr_matrices()
    return [
        pg.make("Pendulum-v1", num_envs=3, seed=0),
        pg.make("MountainCarContinuous-v0", num_envs=3, seed=0),
        pg.make("LQR", num_envs=3, seed=0, A=A, B=B, Q=Q, R=R),
        pg.make("ContinuousBandit", num_envs=3, seed=0, a_star=[0.5]),
    ]


@pytest.mark.parametrize("env", continuous_envs(), ids=lambda e: e.id)
def test_bad_continuous_actions_raise_and_change_nothing(env):
    env.reset(seed=0)
    env.step(np.full((3, 1), 0.1))
    before = snapshot(env)
    bad_nan = np.zeros((3, 1))
    bad_nan[2, 0] = np.nan
    cases = [
        (bad_nan, ValueError, r"actions\[2, 0\] must be finite, got nan"),
        (np.zeros(3), ValueError, r"actions must have shape \(3, 1\), got \(3,\)"),
        (np.zeros((3, 2)), ValueError, r"actions must have shape \(3, 1\), got \(3, 2\)"),
        (
            np.zeros((3, 1), dtype=bool),
            TypeError,
            "actions must be a real-valued array, got dtype bool",
        ),
        (np.zeros((3, 1), dtype=complex), TypeError, "actions must be a real-valued array"),
        (np.full((3, 1), "x"), TypeError, "actions must be a real-valued array"),
        (np.full((3, 1), None, dtype=object), TypeError, "actions must be a real-valued array"),
    ]
    for actions, exc, match in cases:
        with pytest.raises(exc, match=match):
            env.step(actions)
        assert_unchanged(env, before)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_lqr_refuses_infinite_actions(value):
    """LQR does not clip (its action space is unbounded), so an infinite
    action puts 0 * inf = NaN (and +-inf) into the state and -inf into the
    reward, poisoning every later step; it must be refused like NaN."""
    A, B, Q, R = lqr_matrices()
    env = pg.make("LQR", num_envs=2, seed=0, A=A, B=B, Q=Q, R=R)
    env.reset(seed=0)
    before = snapshot(env)
    with pytest.raises(ValueError, match=r"actions\[1, 0\]"):
        env.step(np.array([[0.0], [value]]))
    assert_unchanged(env, before)
    assert np.isfinite(env.get_state()).all()


# ------------------------------------------------------------------- make()


def test_unknown_env_id_lists_the_known_ids():
    with pytest.raises(ValueError, match="unknown environment id 'Foo-v0'; known ids: ") as info:
        pg.make("Foo-v0")
    for env_id in pg.list_envs():
        assert env_id in str(info.value)
    with pytest.raises(
        TypeError, match="id must be an environment id, a TabularMDP or a NativeEnv"
    ):
        pg.make(3)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"num_envs": 0}, ValueError, "num_envs must be >= 1, got 0"),
        ({"num_envs": -4}, ValueError, "num_envs must be >= 1, got -4"),
        ({"num_envs": 2**31 + 1}, ValueError, "num_envs must be <= "),
        ({"num_envs": 2.0}, TypeError, r"num_envs must be an integer, got 2.0 \(float\)"),
        ({"num_envs": "4"}, TypeError, "num_envs must be an integer"),
        ({"num_envs": True}, TypeError, r"num_envs must be an integer, got True \(bool\)"),
        ({"num_threads": 0}, ValueError, "num_threads must be >= 1, got 0"),
        ({"num_threads": 100_000}, ValueError, "num_threads must be <= "),
        ({"num_threads": 1.5}, TypeError, "num_threads must be an integer"),
        ({"seed": -1}, ValueError, r"seed must be in \[0, 2\*\*64\), got -1"),
        ({"seed": 2**64}, ValueError, r"seed must be in \[0, 2\*\*64\), got 18446744073709551616"),
        ({"seed": True}, TypeError, r"seed must be an integer, got True \(bool\)"),
        ({"seed": np.True_}, TypeError, "seed must be an integer"),
        ({"seed": 1.0}, TypeError, r"seed must be an integer, got 1.0 \(float\)"),
        ({"max_episode_steps": 0}, ValueError, "max_episode_steps must be >= 1, got 0"),
        ({"max_episode_steps": 2.5}, TypeError, "max_episode_steps must be an integer"),
    ],
)
def test_make_refuses_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pg.make("CartPole-v1", **kwargs)


def test_make_accepts_the_boundaries():
    env = pg.make("CartPole-v1", num_envs=1, seed=2**64 - 1, num_threads=1)
    env.reset(seed=0)
    env.reset(seed=2**64 - 1)
    pg.make("CartPole-v1", seed=np.uint64(7), num_envs=np.int64(2))


# ------------------------------------------------------------------ reset()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"seed": -1}, ValueError, r"seed must be in \[0, 2\*\*64\), got -1"),
        ({"seed": 2**64}, ValueError, r"seed must be in \[0, 2\*\*64\)"),
        ({"seed": True}, TypeError, "seed must be an integer"),
        ({"seed": 0.5}, TypeError, "seed must be an integer"),
        ({"seed": [1, 2]}, ValueError, r"seed must have one entry per env \(3\), got 2"),
        ({"seed": [1, 2, -3]}, ValueError, r"seed\[2\] must be in \[0, 2\*\*64\), got -3"),
        ({"seed": [1, 2.5, 3]}, TypeError, r"seed\[1\] must be an integer"),
        ({"options": {"foo": 1}}, ValueError, r"unsupported reset option\(s\) \['foo'\]"),
        (
            {"options": {"reset_mask": np.array([1, 0, 1])}},
            TypeError,
            "reset_mask must be a boolean array, got dtype int64",
        ),
        (
            {"options": {"reset_mask": np.array([True, False])}},
            ValueError,
            r"reset_mask must have shape \(3,\), got \(2,\)",
        ),
    ],
)
def test_reset_refuses_bad_arguments_and_changes_nothing(kwargs, exc, match):
    env = pg.make("FrozenLake-v1", num_envs=3, seed=0)
    env.reset(seed=0)
    for _ in range(3):
        env.step(np.array([1, 2, 1]))
    before = snapshot(env)
    with pytest.raises(exc, match=match):
        env.reset(**kwargs)
    assert_unchanged(env, before)


# --------------------------------------------------------------- set_state()


@pytest.mark.parametrize(
    ("states", "exc", "match"),
    [
        (np.zeros(3), ValueError, r"states must have shape \(3, 1\), got \(3,\)"),
        (np.zeros((3, 2)), ValueError, r"states must have shape \(3, 1\), got \(3, 2\)"),
        (np.zeros((2, 1)), ValueError, r"states must have shape \(3, 1\), got \(2, 1\)"),
        (np.array([[0.0], [np.nan], [1.0]]), ValueError, r"states\[1, 0\] must be finite, got nan"),
        (np.array([[0.0], [np.inf], [1.0]]), ValueError, r"states\[1, 0\] must be finite"),
        (
            np.zeros((3, 1), dtype=bool),
            TypeError,
            "states must be a real-valued array, got dtype bool",
        ),
        (np.full((3, 1), "1"), TypeError, "states must be a real-valued array"),
        (np.zeros((3, 1), dtype=complex), TypeError, "states must be a real-valued array"),
    ],
)
def test_tabular_set_state_refuses_bad_arrays(states, exc, match):
    env = pg.make("FrozenLake-v1", num_envs=3, seed=0)
    env.reset(seed=0)
    env.set_state(np.array([[4.0], [8.0], [9.0]]))
    before = snapshot(env)
    with pytest.raises(exc, match=match):
        env.set_state(states)
    assert_unchanged(env, before)


def test_tabular_set_state_refuses_non_indices_and_changes_nothing():
    env = pg.make("FrozenLake-v1", num_envs=3, seed=0)
    env.reset(seed=0)
    before = snapshot(env)
    for bad in (1.5, -1.0, 16.0, 1e300):
        with pytest.raises(ValueError, match=r"must be a state index in \[0, 16\)"):
            env.set_state(np.array([[4.0], [bad], [9.0]]))
        assert_unchanged(env, before)  # the valid rows were not written either


def test_tabular_set_state_index_errors_name_the_argument_and_row():
    """With 100,000 envs "a tabular state must be a state index" does not
    say which row is wrong; the finiteness check of the same call does
    ("states[1, 0] must be finite"), and so should this one."""
    env = pg.make("FrozenLake-v1", num_envs=3, seed=0)
    for bad in (1.5, 16.0):
        with pytest.raises(ValueError, match=r"states\[1, 0\]"):
            env.set_state(np.array([[4.0], [bad], [9.0]]))


def test_bandit_set_state_refuses_other_states_and_names_the_argument():
    env = pg.make("Bandit", num_envs=2, seed=0, means=[0.0, 1.0])
    with pytest.raises(ValueError, match="single state 0"):
        env.set_state(np.array([[0.0], [1.0]]))
    with pytest.raises(ValueError, match=r"states\[1, 0\]"):
        env.set_state(np.array([[0.0], [1.0]]))


def test_continuous_set_state_refuses_bad_rows_and_changes_nothing():
    env = pg.make("CartPole-v1", num_envs=3, seed=0)
    env.reset(seed=0)
    before = snapshot(env)
    states = np.zeros((3, 4))
    states[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"states\[2, 3\] must be finite, got nan"):
        env.set_state(states)
    assert_unchanged(env, before)
    with pytest.raises(ValueError, match=r"states must have shape \(3, 4\), got \(3, 3\)"):
        env.set_state(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"states must have shape \(3, 4\), got \(12,\)"):
        env.set_state(np.zeros(12))
    assert_unchanged(env, before)


def test_a_failed_set_state_keeps_a_pending_autoreset():
    # Non-slippery FrozenLake: 14 --right--> 15 is the goal.
    env = pg.make("FrozenLake-v1", num_envs=2, seed=0, is_slippery=False)
    env.reset(seed=0)
    env.set_state(np.array([[14.0], [14.0]]))
    _, reward, terminated, *_ = env.step(np.array([2, 2]))
    assert terminated.all()
    assert reward.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="must be finite"):
        env.set_state(np.array([[14.0], [np.nan]]))
    obs, reward, terminated, truncated, _ = env.step(np.array([2, 2]))
    # Still the autoreset step: back at the start, reward 0.
    assert obs.tolist() == [0, 0]
    assert reward.tolist() == [0.0, 0.0]
    assert not terminated.any()
    assert not truncated.any()


# ---------------------------------------------------------- TabularMDP(...)


def test_tabular_mdp_refuses_inconsistent_models():
    P, R, initial, terminal = tabular_arrays()
    TM = pg.TabularMDP
    TM(P, R, initial, terminal)  # the valid model is accepted

    bad = P.copy()
    bad[1, 1, 1] = 0.4
    with pytest.raises(ValueError, match=r"P\[1, 1, :\] must sum to 1"):
        TM(bad, R, initial)
    bad = P.copy()
    bad[1, 1, 1], bad[1, 1, 2] = -0.5, 1.5
    with pytest.raises(
        ValueError, match=r"P\[1, 1, 1\] must be a probability in \[0, 1\], got -0\.5"
    ):
        TM(bad, R, initial)
    bad = P.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"P must be finite; P\[0, 0, 0\] is nan"):
        TM(bad, R, initial)
    with pytest.raises(ValueError, match=r"P must be 3-D, got shape \(2, 3\)"):
        TM(P[0], R, initial)
    with pytest.raises(ValueError, match=r"P must have shape \(n_states, n_actions, n_states\)"):
        TM(P[:2], R, initial)
    with pytest.raises(ValueError, match=r"P must have shape \(n_states, n_actions, n_states\)"):
        TM(np.zeros((3, 0, 3)), np.zeros((3, 0)), initial)
    with pytest.raises(TypeError, match="P must hold real numbers, got dtype bool"):
        TM(np.ones((1, 1, 1), dtype=bool), [[0.0]], [1.0])
    with pytest.raises(TypeError, match="P must hold real numbers"):
        TM(np.full((3, 2, 3), "a"), R, initial)

    bad = R.copy()
    bad[1, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"R must be finite; R\[1, 1, 0\] is nan"):
        TM(P, bad, initial)
    with pytest.raises(ValueError, match=r"R must be finite"):
        TM(P, np.full((3, 2), np.inf), initial)
    with pytest.raises(ValueError, match=r"R must have shape \(n_states, n_actions\) = \(3, 2\)"):
        TM(P, np.zeros((3, 3)), initial)
    with pytest.raises(TypeError, match="R must hold real numbers"):
        TM(P, np.zeros((3, 2), dtype=complex), initial)

    with pytest.raises(ValueError, match="initial must sum to 1"):
        TM(P, R, [0.5, 0.4, 0.0])
    with pytest.raises(ValueError, match=r"initial must be non-negative, got -0\.5"):
        TM(P, R, [1.5, -0.5, 0.0])
    with pytest.raises(ValueError, match=r"initial must have shape \(3,\), got \(2,\)"):
        TM(P, R, [1.0, 0.0])
    with pytest.raises(ValueError, match=r"initial must be finite"):
        TM(P, R, [np.nan, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"probability 0\.5 on terminal state 2"):
        TM(P, R, [0.5, 0.0, 0.5], terminal)

    with pytest.raises(TypeError, match="terminal must be a boolean mask, got dtype int64"):
        TM(P, R, initial, [0, 0, 1])
    with pytest.raises(TypeError, match="terminal must be a boolean mask"):
        TM(P, R, initial, [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"terminal must have shape \(3,\), got \(2,\)"):
        TM(P, R, initial, [False, True])

    with pytest.raises(ValueError, match="max_episode_steps must be >= 1, got 0"):
        TM(P, R, initial, max_episode_steps=0)
    with pytest.raises(TypeError, match="max_episode_steps must be an integer"):
        TM(P, R, initial, max_episode_steps=2.5)
    with pytest.raises(TypeError, match="name must be a string"):
        TM(P, R, initial, name=3)


def test_tabular_constructors_refuse_bad_arguments():
    mdp = pg.TabularMDP(*tabular_arrays())
    with pytest.raises(TypeError, match=r"unexpected parameter\(s\) \['foo'\] for TabularMDP"):
        pg.make(mdp, foo=1)
    with pytest.raises(ValueError, match="map_name must be '4x4' or '8x8', got '5x5'"):
        pg.TabularMDP.frozen_lake("5x5")
    with pytest.raises(ValueError, match="max_episode_steps must be >= 1"):
        pg.TabularMDP.cliff_walking(max_episode_steps=0)
    with pytest.raises(TypeError, match="from_gymnasium needs a toy-text env"):
        pg.TabularMDP.from_gymnasium(object())
    with pytest.raises(TypeError, match="is_slippery must be a bool, got 1"):
        pg.make("FrozenLake-v1", is_slippery=1)
    with pytest.raises(TypeError, match=r"unexpected parameter\(s\) \['foo'\] for FrozenLake-v1"):
        pg.make("FrozenLake-v1", foo=True)
    with pytest.raises(TypeError, match=r"for CliffWalking-v1; it accepts: none"):
        pg.make("CliffWalking-v1", is_slippery=True)


def test_tabular_mdp_arrays_are_read_only():
    mdp = pg.TabularMDP(*tabular_arrays())
    with pytest.raises(ValueError, match="read-only"):
        mdp.P[0, 0, 0] = 1.0


# ------------------------------------------------------- per-env parameters


def test_unknown_parameter_names_are_refused_with_the_known_ones():
    with pytest.raises(
        TypeError,
        match=r"unexpected parameter\(s\) \['foo'\] for CartPole-v1; "
        r"it accepts: gravity, masscart",
    ):
        pg.make("CartPole-v1", foo=1.0)
    env = pg.make("CartPole-v1", num_envs=4, seed=0)
    with pytest.raises(ValueError, match="unknown parameter 'foo'; this environment has: gravity"):
        env.set_param("foo", 1.0)
    with pytest.raises(ValueError, match="unknown parameter 'foo'"):
        env.get_param("foo")
    tabular = pg.make("FrozenLake-v1", num_envs=2)
    with pytest.raises(ValueError, match="unknown parameter 'gravity'; this environment has: none"):
        tabular.set_param("gravity", 1.0)


@pytest.mark.parametrize(
    ("env_id", "name", "value", "exc", "match"),
    [
        ("CartPole-v1", "masscart", 0.0, ValueError, r"masscart\[0\] must be > 0, got 0"),
        (
            "CartPole-v1",
            "masscart",
            [1.0, 1.0, -1.0, 1.0],
            ValueError,
            r"masscart\[2\] must be > 0, got -1",
        ),
        ("CartPole-v1", "gravity", np.nan, ValueError, r"gravity\[0\] must be finite, got nan"),
        (
            "CartPole-v1",
            "gravity",
            [9.8, 9.8, 9.8, np.inf],
            ValueError,
            r"gravity\[3\] must be finite",
        ),
        (
            "CartPole-v1",
            "gravity",
            [1.0, 2.0, 3.0],
            ValueError,
            r"gravity must have shape \(4,\), got \(3,\)",
        ),
        (
            "CartPole-v1",
            "gravity",
            np.ones((4, 1)),
            ValueError,
            r"gravity must have shape \(4,\), got \(4, 1\)",
        ),
        ("CartPole-v1", "gravity", "abc", TypeError, "gravity must hold real numbers"),
        ("CartPole-v1", "tau", True, TypeError, "tau must hold real numbers, got dtype bool"),
        ("Pendulum-v1", "m", -1.0, ValueError, r"m\[0\] must be > 0"),
        ("Acrobot-v1", "torque_noise_max", -0.1, ValueError, r"torque_noise_max\[0\] must be >= 0"),
    ],
)
def test_parameters_out_of_their_domain_are_refused_and_change_nothing(
    env_id, name, value, exc, match
):
    with pytest.raises(exc, match=match):
        pg.make(env_id, num_envs=4, seed=0, **{name: value})
    env = pg.make(env_id, num_envs=4, seed=0)
    before = env.get_param(name)
    with pytest.raises(exc, match=match):
        env.set_param(name, value)
    np.testing.assert_array_equal(env.get_param(name), before)


# -------------------------------------------------------------- closed envs


def test_closed_envs_refuse_every_call():
    env = pg.make("CartPole-v1", num_envs=2, seed=0)
    env.close()
    for call in (
        lambda: env.step(np.array([0, 1])),
        env.reset,
        env.get_state,
        lambda: env.set_state(np.zeros((2, 4))),
        env.elapsed_steps,
        lambda: env.set_param("gravity", 9.8),
        lambda: env.get_param("gravity"),
    ):
        with pytest.raises(ValueError, match="this environment is closed"):
            call()


def test_repr_of_a_closed_env_does_not_raise():
    # repr() is called by debuggers, loggers and pytest's own reports; it
    # must not raise on a closed object (Python's data model convention).
    env = pg.make("CartPole-v1", num_envs=2, seed=0)
    env.close()
    assert "CartPole-v1" in repr(env)


# --------------------------------------------------------------------- LQR


def test_lqr_refuses_bad_matrices():
    A, B, Q, R = lqr_matrices()
    cases = [
        (
            {"A": np.ones((2, 3))},
            ValueError,
            r"A must be a non-empty square matrix, got shape \(2, 3\)",
        ),
        ({"A": np.ones(2)}, ValueError, r"A must be 2-D, got shape \(2,\)"),
        ({"A": np.array([[np.nan, 0.0], [0.0, 1.0]])}, ValueError, "A must be finite"),
        ({"A": A.astype(complex)}, TypeError, "A must hold real numbers, got dtype complex128"),
        ({"B": np.ones((3, 1))}, ValueError, r"B must have shape \(2, 1\), got \(3, 1\)"),
        ({"B": np.ones((2, 2))}, ValueError, r"B must have shape \(2, 1\), got \(2, 2\)"),
        ({"Q": np.array([[1.0, 1.0], [0.0, 1.0]])}, ValueError, "Q must be symmetric"),
        ({"Q": np.diag([1.0, -1.0])}, ValueError, "Q must be positive semi-definite"),
        ({"Q": np.eye(3)}, ValueError, r"Q must have shape \(2, 2\), got \(3, 3\)"),
        (
            {"R": -np.eye(1)},
            ValueError,
            "R must be positive definite, its smallest eigenvalue is -1",
        ),
        ({"R": np.zeros((1, 1))}, ValueError, "R must be positive definite"),
        (
            {"B": np.ones((2, 2)), "R": np.array([[1.0, 2.0], [0.0, 1.0]])},
            ValueError,
            "R must be symmetric",
        ),
        ({"R": np.eye(2)}, ValueError, r"B must have shape \(2, 2\), got \(2, 1\)"),
        ({"init_std": -1.0}, ValueError, "init_std must be >= 0"),
        ({"noise_std": np.nan}, ValueError, "noise_std must be finite"),
        ({"noise_std": True}, TypeError, "noise_std must be a real number"),
        ({"foo": 1}, TypeError, r"unexpected parameter\(s\) \['foo'\] for LQR"),
    ]
    for change, exc, match in cases:
        kwargs = {"A": A, "B": B, "Q": Q, "R": R, **change}
        with pytest.raises(exc, match=match):
            pg.make("LQR", **kwargs)
    with pytest.raises(TypeError, match="LQR needs the parameter 'B'"):
        pg.make("LQR", A=A, Q=Q, R=R)


def test_lqr_riccati_refuses_non_stabilisable_systems_and_bad_gamma():
    one = np.eye(1)
    # Unstable and uncontrollable.
    env = pg.make("LQR", A=2.0 * one, B=0.0 * one, Q=one, R=one)
    with pytest.raises(ValueError, match="not stabilisable"):
        env.optimal_gain()
    with pytest.raises(ValueError, match="not stabilisable"):
        env.riccati(0.9)
    with pytest.raises(ValueError, match="stabilisable"):
        env.optimal_cost()
    # Marginally stable and uncontrollable: no stabilising solution at
    # gamma = 1, but the discounted problem (sqrt(0.9) < 1) is fine.
    env = pg.make("LQR", A=one, B=0.0 * one, Q=one, R=one)
    with pytest.raises(ValueError, match="stabilisable"):
        env.optimal_gain()
    np.testing.assert_array_equal(env.optimal_gain(0.9), [[0.0]])
    np.testing.assert_allclose(env.riccati(0.9), [[10.0]], rtol=1e-12)  # sum 0.9^t, round-off
    # Unstable, uncontrollable and unobserved: the iteration converges to a
    # non-stabilising P, which is refused too.
    env = pg.make("LQR", A=2.0 * one, B=0.0 * one, Q=0.0 * one, R=one)
    with pytest.raises(ValueError, match="does not stabilise"):
        env.optimal_gain()

    A, B, Q, R = lqr_matrices()
    env = pg.make("LQR", A=0.5 * A, B=B, Q=Q, R=R, noise_std=0.1)
    for gamma, exc, match in [
        (0.0, ValueError, r"gamma must be in \(0, 1\], got 0.0"),
        (1.5, ValueError, r"gamma must be in \(0, 1\], got 1.5"),
        (np.nan, ValueError, "gamma must be finite"),
        (True, TypeError, "gamma must be a real number"),
        ("0.9", TypeError, "gamma must be a real number"),
    ]:
        with pytest.raises(exc, match=match):
            env.optimal_gain(gamma)
    with pytest.raises(ValueError, match="undiscounted cost is infinite; pass gamma < 1"):
        env.optimal_cost()


# ------------------------------------------------------------------ bandits


def test_bandit_refuses_bad_arms():
    cases = [
        ({}, TypeError, "Bandit needs the parameter 'means'"),
        ({"means": [0.0, 1.0], "stds": [1.0, -1.0]}, ValueError, r"stds\[1\] must be >= 0, got -1"),
        ({"means": [0.0, 1.0], "stds": -0.5}, ValueError, r"stds\[0\] must be >= 0"),
        ({"means": [0.0, 1.0], "stds": np.nan}, ValueError, r"stds\[0\] must be >= 0, got nan"),
        ({"means": [0.0, np.nan]}, ValueError, r"means\[1\] must be finite, got nan"),
        ({"means": []}, ValueError, r"means is empty"),
        ({"means": [[0.0, 1.0]]}, ValueError, r"means must be 1-D, got shape \(1, 2\)"),
        (
            {"means": [0.0, 1.0], "stds": [1.0, 1.0, 1.0]},
            ValueError,
            r"stds must have shape \(2,\), got \(3,\)",
        ),
        ({"means": ["a"]}, TypeError, "means must hold real numbers"),
        ({"means": [0.0], "foo": 1}, TypeError, r"unexpected parameter\(s\) \['foo'\] for Bandit"),
    ]
    for kwargs, exc, match in cases:
        with pytest.raises(exc, match=match):
            pg.make("Bandit", **kwargs)
    env = pg.make("Bandit", num_envs=2, seed=0, means=[0.0, 1.0])
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions\[1\] must be in \[0, 2\), got 2"):
        env.step(np.array([0, 2]))


def test_continuous_bandit_refuses_bad_arguments():
    cases = [
        ({}, TypeError, "ContinuousBandit needs the parameter 'a_star'"),
        ({"a_star": [0.0], "noise_std": -1.0}, ValueError, "noise_std must be >= 0"),
        (
            {"a_star": [0.0], "low": 1.0, "high": -1.0},
            ValueError,
            r"low\[0\] must be < high\[0\], got 1 and -1",
        ),
        ({"a_star": [np.nan]}, ValueError, r"a_star\[0\] must be finite"),
        ({"a_star": [[0.0]]}, ValueError, r"a_star must be 1-D"),
        ({"a_star": [0.0], "low": np.nan}, ValueError, r"low\[0\] must be < high\[0\]"),
        ({"a_star": [0.0], "high": "x"}, TypeError, "high must hold real numbers"),
    ]
    for kwargs, exc, match in cases:
        with pytest.raises(exc, match=match):
            pg.make("ContinuousBandit", **kwargs)


def test_continuous_bandit_bounds_of_the_wrong_length_name_the_argument():
    with pytest.raises(ValueError, match="low"):
        pg.make("ContinuousBandit", a_star=[0.0, 1.0], low=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="high"):
        pg.make("ContinuousBandit", a_star=[0.0, 1.0], high=[[5.0, 5.0], [5.0, 5.0]])


# ------------------------------------------------------------ pgfast._core


def make_core_tabular(**override):
    P, R, initial, terminal = tabular_arrays()
    args = {
        "P": P,
        "R": R,
        "initial": initial,
        "terminal": terminal,
        "max_episode_steps": 0,
        "id": "core",
        "num_envs": 3,
        "seed": 0,
        "num_threads": 1,
        **override,
    }
    return _core.make_tabular(**args)


P0, R0, INIT0, TERM0 = tabular_arrays()


@pytest.mark.parametrize(
    ("override", "exc", "match"),
    [
        (
            {"P": P0[0]},
            ValueError,
            r"P must have shape \(n_states, n_actions, n_states\), got \(2, 3\)",
        ),
        ({"P": P0[None]}, ValueError, r"P must have shape \(n_states, n_actions, n_states\)"),
        ({"P": P0[:2]}, ValueError, r"P must have shape \(n_states, n_actions, n_states\)"),
        ({"P": None}, TypeError, "P must be a real-valued array, got dtype object"),
        ({"P": np.full((3, 2, 3), "a")}, TypeError, "P must be a real-valued array"),
        ({"P": P0.astype(bool)}, TypeError, "P must be a real-valued array, got dtype bool"),
        ({"P": P0 + 0.1}, ValueError, r"P\[0, 0, :\] must sum to 1"),
        ({"P": np.where(P0 == 0.5, np.nan, P0)}, ValueError, r"P\[0, 0, 1\] must be a probability"),
        (
            {
                "P": np.zeros((0, 2, 0)),
                "R": np.zeros((0, 2, 0)),
                "initial": np.zeros(0),
                "terminal": np.zeros(0, dtype=bool),
            },
            ValueError,
            "at least one state",
        ),
        ({"R": np.zeros((3, 2))}, ValueError, r"R must have shape \(3, 2, 3\), got \(3, 2\)"),
        ({"R": np.full((3, 2, 3), np.nan)}, ValueError, r"R\[0, 0, 0\] must be finite"),
        ({"R": np.zeros((3, 2, 3), dtype=complex)}, TypeError, "R must be a real-valued array"),
        ({"initial": np.ones(2) / 2}, ValueError, r"initial must have shape \(3,\), got \(2,\)"),
        ({"initial": np.array([0.5, 0.4, 0.0])}, ValueError, "initial must sum to 1"),
        (
            {"initial": np.array([1.5, -0.5, 0.0])},
            ValueError,
            r"initial\[1\] must be a probability",
        ),
        ({"initial": np.array([0.5, 0.0, 0.5])}, ValueError, "on terminal state 2"),
        (
            {"terminal": np.array([0, 0, 1])},
            TypeError,
            "terminal must be a boolean array, got dtype int64",
        ),
        (
            {"terminal": np.zeros((3, 1), dtype=bool)},
            ValueError,
            r"terminal must have shape \(3,\)",
        ),
        ({"terminal": None}, TypeError, "terminal must be a boolean array"),
        ({"max_episode_steps": -1}, ValueError, "max_episode_steps must be >= 0, got -1"),
        ({"num_envs": 0}, ValueError, "num_envs must be in"),
        ({"num_envs": -5}, ValueError, "num_envs must be in"),
        ({"num_envs": 2**62}, ValueError, "num_envs must be in"),
        ({"num_threads": 0}, ValueError, "num_threads must be"),
        ({"num_threads": 10**6}, ValueError, "num_threads must be"),
        ({"seed": -1}, TypeError, "incompatible function arguments"),
    ],
)
def test_core_make_tabular_validates_everything(override, exc, match):
    with pytest.raises(exc, match=match):
        make_core_tabular(**override)


def test_core_vec_env_methods_validate_their_arrays():
    core = make_core_tabular()
    core.reset()
    before = core.get_state()
    cases = [
        (lambda: core.step(np.zeros(3)), TypeError, "actions must be an integer array"),
        (lambda: core.step(None), TypeError, "actions must be an integer array"),
        (lambda: core.step("abc"), TypeError, "actions must be an integer array"),
        (
            lambda: core.step(np.zeros(2, dtype=np.int64)),
            ValueError,
            r"actions must have shape \(3,\)",
        ),
        (
            lambda: core.step(np.zeros((3, 3), dtype=np.int64)),
            ValueError,
            "actions must have shape",
        ),
        (lambda: core.step(np.array([0, 0, 7])), ValueError, r"actions\[2\] must be in \[0, 2\)"),
        (lambda: core.set_state(np.zeros((3, 2))), ValueError, r"states must have shape \(3, 1\)"),
        (lambda: core.set_state(np.zeros(3)), ValueError, r"states must have shape \(3, 1\)"),
        (lambda: core.set_state(None), TypeError, "states must be a real-valued array"),
        (lambda: core.set_state(np.full((3, 1), np.nan)), ValueError, "must be finite"),
        (lambda: core.set_state(np.array([[0.0], [1.0], [3.0]])), ValueError, r"\[0, 3\)"),
        (lambda: core.reset(np.array([1, 0, 1])), TypeError, "reset_mask must be a boolean array"),
        (lambda: core.reset(np.array([True])), ValueError, r"reset_mask must have shape \(3,\)"),
        (
            lambda: core.seed_each(np.zeros(2, np.uint64), np.ones(3, bool)),
            ValueError,
            r"seeds must have shape \(3,\)",
        ),
        (
            lambda: core.seed_each(None, None),
            TypeError,
            "seeds must be an integer array, got dtype object",
        ),
        (lambda: core.set_param("x", np.zeros(3)), ValueError, "unknown parameter 'x'"),
        (
            lambda: setattr(core, "max_episode_steps", -1),
            ValueError,
            "max_episode_steps must be >= 0",
        ),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()
        np.testing.assert_array_equal(core.get_state(), before)


def test_core_seed_each_refuses_seeds_that_are_not_unsigned_integers():
    """``VecEnv.seed(-1)`` raises (pybind11 refuses a negative uint64), but
    ``seed_each`` force-casts: -1 would silently become 2**64 - 1 and 0.7
    would become 0, so two different seeds give the same stream."""
    core = make_core_tabular()
    with pytest.raises(TypeError, match="incompatible function arguments"):
        core.seed(-1)
    with pytest.raises((TypeError, ValueError), match="seeds"):
        core.seed_each(np.array([-1, 0, 0]), np.ones(3, dtype=bool))
    with pytest.raises((TypeError, ValueError), match="seeds"):
        core.seed_each(np.array([0.7, 0.0, 0.0]), np.ones(3, dtype=bool))


def test_core_other_factories_validate():
    A, B, Q, R = lqr_matrices()
    cases = [
        (lambda: _core.make_classic("Foo", 1, 0, 1), ValueError, "unknown environment id 'Foo'"),
        (lambda: _core.make_classic("CartPole-v1", 0, 0, 1), ValueError, "num_envs must be in"),
        (lambda: _core.make_classic("CartPole-v1", 1, 0, 0), ValueError, "num_threads must be"),
        (
            lambda: _core.make_bandit(np.zeros(2), np.zeros(3), 1, 0, 1),
            ValueError,
            "stds must have shape",
        ),
        (
            lambda: _core.make_bandit(np.zeros((2, 2)), np.zeros(2), 1, 0, 1),
            ValueError,
            "means must be 1-D",
        ),
        (
            lambda: _core.make_bandit(np.zeros(0), np.zeros(0), 1, 0, 1),
            ValueError,
            "means is empty",
        ),
        (
            lambda: _core.make_continuous_bandit(
                np.zeros(2), -1.0, np.zeros(2), np.ones(2), 1, 0, 1
            ),
            ValueError,
            "noise_std must be >= 0",
        ),
        (
            lambda: _core.make_continuous_bandit(
                np.zeros(2), float("nan"), np.zeros(2), np.ones(2), 1, 0, 1
            ),
            ValueError,
            "noise_std must be >= 0",
        ),
        (
            lambda: _core.make_continuous_bandit(
                np.zeros(2), 0.0, np.zeros(3), np.ones(2), 1, 0, 1
            ),
            ValueError,
            r"low must have shape \(2,\)",
        ),
        (
            lambda: _core.make_lqr(np.zeros(2), B, Q, R, 1.0, 0.0, 10, 1, 0, 1),
            ValueError,
            "A must be a non-empty square matrix",
        ),
        (
            lambda: _core.make_lqr(np.zeros((0, 0)), B, Q, R, 1.0, 0.0, 10, 1, 0, 1),
            ValueError,
            "A must be a non-empty square matrix",
        ),
        (
            lambda: _core.make_lqr(A, np.zeros((2, 0)), Q, np.zeros((0, 0)), 1.0, 0.0, 10, 1, 0, 1),
            ValueError,
            "R must be a non-empty square matrix",
        ),
        (
            lambda: _core.make_lqr(A, "ab", Q, R, 1.0, 0.0, 10, 1, 0, 1),
            TypeError,
            "B must be a real-valued array",
        ),
        (
            lambda: _core.make_lqr(A, B, Q, R, float("nan"), 0.0, 10, 1, 0, 1),
            ValueError,
            "init_std",
        ),
        (
            lambda: _core.make_lqr(A, B, Q, R, 1.0, 0.0, -1, 1, 0, 1),
            ValueError,
            "max_episode_steps",
        ),
        (lambda: _core.lqr_riccati(A, B, Q, R, 2.0), ValueError, r"gamma must be in \(0, 1\]"),
        (lambda: _core.lqr_riccati(A, B, Q, R, float("nan")), ValueError, "gamma must be in"),
        (
            lambda: _core.lqr_riccati(A, B, np.array([[1.0, 1.0], [0.0, 1.0]]), R, 1.0),
            ValueError,
            "Q must be symmetric",
        ),
        (lambda: _core.frozen_lake_tables("5x5", True, 10), ValueError, "map_name must be"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()


def run_isolated(code: str) -> str:
    """Run ``code`` in a fresh interpreter, so that a crash (segfault,
    abort, hang) fails this test instead of killing the test session."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    return result.stdout


def test_core_survives_a_barrage_of_garbage():
    out = run_isolated("""
        import itertools
        import numpy as np
        from pgfast import _core

        garbage = [None, 0, -1, 2**70, 1.5, float("nan"), "x", b"x", [], [[]], [1, [2]],
                   np.zeros(0), np.zeros((0, 3)), np.zeros((3, 0)), np.zeros((2, 2, 2, 2)),
                   np.full(3, np.nan), np.full((3, 1), np.inf), np.zeros(3, dtype=complex),
                   np.zeros(3, dtype=object), np.zeros(3, dtype="M8[s]"), np.arange(6)[::2],
                   np.zeros((3, 4), order="F")[:, ::2], np.zeros(3, dtype=np.float16),
                   np.array([2**63], dtype=np.uint64), np.zeros((3, 1), dtype=bool), {"a": 1}]
        P = np.zeros((3, 2, 3)); P[:, :, 1] = 1.0
        good = dict(P=P, R=np.zeros((3, 2, 3)), initial=np.array([1.0, 0, 0]),
                    terminal=np.zeros(3, dtype=bool), max_episode_steps=0, id="x",
                    num_envs=3, seed=0, num_threads=1)
        envs = [_core.make_tabular(**good),
                _core.make_classic("CartPole-v1", 3, 0, 1),
                _core.make_classic("Pendulum-v1", 3, 0, 2),
                _core.make_lqr(np.eye(2), np.ones((2, 1)), np.eye(2), np.eye(1), 1.0, 0.0, 5,
                               3, 0, 1),
                _core.make_bandit(np.zeros(2), np.ones(2), 3, 0, 1),
                _core.make_continuous_bandit(np.zeros(2), 0.0, -np.ones(2), np.ones(2), 3, 0, 1)]
        raised = 0
        for g in garbage:
            for key in ("P", "R", "initial", "terminal"):
                try:
                    _core.make_tabular(**{**good, key: g})
                except Exception:
                    raised += 1
            for env in envs:
                for call in (env.step, env.set_state, env.reset,
                             lambda v: env.seed_each(v, v), lambda v: env.set_param("gravity", v)):
                    try:
                        call(g)
                    except Exception:
                        raised += 1
            for args in itertools.permutations([g, np.eye(2), np.ones((2, 1)), np.eye(1)]):
                try:
                    _core.lqr_riccati(*args, 1.0)
                except Exception:
                    raised += 1
        for env in envs:  # still usable afterwards
            env.reset()
            env.get_state()
        print("survived", raised)
    """)
    assert "survived" in out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")
def test_a_thread_the_os_refuses_raises_instead_of_crashing():
    # Cap the address space 64 MiB above its current size, so that the OS
    # refuses most of 256 threads (glibc reserves 2-8 MiB per thread stack):
    # the pool must join the threads it started and raise, not terminate.
    out = run_isolated("""
        import resource
        import numpy as np
        from pgfast import _core

        def vm_size():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmSize"):
                        return int(line.split()[1]) * 1024
        limit = vm_size() + 64 * 1024**2
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            _core.make_classic("CartPole-v1", 4, 0, 256)
        except Exception as exc:
            print("raised", type(exc).__name__)
        env = _core.make_classic("CartPole-v1", 4, 0, 1)  # the process is still healthy
        env.step(np.zeros(4, dtype=np.int64))
        print("alive")
    """)
    assert "alive" in out
    if "raised" not in out:
        pytest.skip("the OS granted every thread (small thread stacks); nothing was exercised")
