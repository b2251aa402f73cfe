"""The classic-control envs reproduce Gymnasium's, bit for bit.

Gymnasium is the oracle. Its RNG streams cannot be matched, so, as envpool's
align tests do, each check injects one state into both simulators and steps
both with the same action. Every comparison here is exact equality: pgfast
replays Gymnasium's float64 (and, where Gymnasium mixes them in, float32)
operations in the same order, with libm's own pow() where Python's ** calls it.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pgfast as pg

CLASSIC = ["CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1", "Acrobot-v1"]
TIME_LIMITS = {
    "CartPole-v1": 500,
    "MountainCar-v0": 200,
    "MountainCarContinuous-v0": 999,
    "Pendulum-v1": 200,
    "Acrobot-v1": 500,
}


def gym_env(env_id: str) -> gym.Env:
    # The passive checker warns about states we inject on purpose.
    return gym.make(env_id, disable_env_checker=True)


def random_states(env_id: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """States inside and beyond the observation bounds, plus edge cases."""
    if env_id == "CartPole-v1":
        s = rng.uniform([-5, -5, -0.6, -5], [5, 5, 0.6, 5], size=(n, 4))
        s[:8] = [
            [2.4, 0, 0, 0],
            [-2.4, 0, 0, 0],
            [0, 0, 0.20943951023931953, 0],
            [0, 0, -0.20943951023931953, 0],
            [2.4, 1e-3, 0, 0],
            [0, 0, 0, 0],
            [1e-300, -1e-300, 1e-300, -1e-300],
            [0, 0, 0.2, 30],
        ]
    elif env_id in ("MountainCar-v0", "MountainCarContinuous-v0"):
        s = rng.uniform([-1.5, -0.1], [0.8, 0.1], size=(n, 2))
        s[:8] = [
            [-1.2, -0.07],
            [-1.2, 0.0],
            [0.6, 0.07],
            [0.5, 0.0],
            [0.45, 0.0],
            [0.4999, 0.0005],
            [-1.1999, -0.001],
            [-0.5, 0.0],
        ]
        if env_id == "MountainCarContinuous-v0":
            # Half the states as float32 values: Gymnasium's state after a step.
            s[n // 2 :] = s[n // 2 :].astype(np.float32)
    elif env_id == "Pendulum-v1":
        s = rng.uniform([-10, -10], [10, 10], size=(n, 2))
        s[:6] = [[np.pi, 0], [-np.pi, 0], [0, 8], [0, -8], [3 * np.pi, 7.99], [0, 0]]
    elif env_id == "Acrobot-v1":
        s = rng.uniform([-4, -4, -15, -30], [4, 4, 15, 30], size=(n, 4))
        s[:4] = [
            [np.pi, 0, 0, 0],
            [0, np.pi, 4 * np.pi, 9 * np.pi],
            [10.0, -10.0, 1, 1],
            [0, 0, 0, 0],
        ]
    else:  # pragma: no cover
        raise AssertionError(env_id)
    return s


def actions_for(env: pg.VectorEnv, n_states: int, rng: np.random.Generator) -> np.ndarray:
    """Every discrete action for each state, or 4 continuous ones (in and out of bounds)."""
    space = env.single_action_space
    if isinstance(space, gym.spaces.Discrete):
        return np.tile(np.arange(space.n, dtype=np.int64), n_states)
    high = float(space.high[0])
    a = rng.uniform(-1.5 * high, 1.5 * high, size=(n_states * 4, 1)).astype(np.float32)
    a[:6, 0] = [high, -high, 0.0, 2 * high, -2 * high, np.float32(high) + np.float32(1e-6)]
    return a


def inject(genv: gym.Env, env_id: str, state: np.ndarray) -> None:
    u = genv.unwrapped
    if env_id == "MountainCarContinuous-v0" and np.array_equal(state.astype(np.float32), state):
        u.state = state.astype(np.float32)
    elif env_id == "MountainCar-v0":
        u.state = (np.float64(state[0]), np.float64(state[1]))
    else:
        u.state = np.array(state, dtype=np.float64)
    if env_id == "CartPole-v1":
        u.steps_beyond_terminated = None


def gym_state(genv: gym.Env) -> np.ndarray:
    return np.asarray(genv.unwrapped.state, dtype=np.float64)


def gym_observation(genv: gym.Env, env_id: str) -> np.ndarray:
    u = genv.unwrapped
    if env_id == "Pendulum-v1":
        return u._get_obs()
    if env_id == "Acrobot-v1":
        return u._get_ob()
    return np.array(u.state, dtype=np.float32)


@pytest.mark.parametrize("env_id", CLASSIC)
def test_spaces_equal_gymnasium(env_id):
    env = pg.make(env_id, num_envs=3, seed=0)
    genv = gym_env(env_id)
    for ours, theirs in (
        (env.single_observation_space, genv.observation_space),
        (env.single_action_space, genv.action_space),
    ):
        assert type(ours) is type(theirs)
        if isinstance(theirs, gym.spaces.Box):
            assert ours.shape == theirs.shape
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours.low, theirs.low)
            np.testing.assert_array_equal(ours.high, theirs.high)
        else:
            assert ours == theirs
    assert env.max_episode_steps == genv.spec.max_episode_steps == TIME_LIMITS[env_id]
    assert env.observation_space.shape == (3, *genv.observation_space.shape)


@pytest.mark.parametrize("env_id", CLASSIC)
def test_one_step_from_injected_states_matches_gymnasium(env_id):
    rng = np.random.default_rng(sum(map(ord, env_id)))
    n_states = 1500
    probe = pg.make(env_id, seed=0)
    states = random_states(env_id, n_states, rng)
    actions = actions_for(probe, n_states, rng)
    per_state = len(actions) // n_states
    states = np.repeat(states, per_state, axis=0)

    env = pg.make(env_id, num_envs=len(actions), seed=0)
    env.set_state(states)
    obs, reward, terminated, truncated, _ = env.step(actions)
    next_states = env.get_state()

    genv = gym_env(env_id)
    genv.reset(seed=0)
    for i in range(len(actions)):
        inject(genv, env_id, states[i])
        action = actions[i] if actions.ndim == 2 else int(actions[i])
        g_obs, g_reward, g_term, g_trunc, _ = genv.unwrapped.step(action)
        context = f"{env_id}: state {states[i].tolist()} action {actions[i]}"
        np.testing.assert_array_equal(next_states[i], gym_state(genv), err_msg=context)
        assert obs[i].dtype == np.asarray(g_obs).dtype, context
        np.testing.assert_array_equal(obs[i], g_obs, err_msg=context)
        assert reward[i] == g_reward, context
        assert terminated[i] == g_term, context
        assert not truncated[i], context
        assert not g_trunc, context


def heuristic_action(env_id: str, obs: np.ndarray, rng: np.random.Generator, explore: float):
    """A policy that reaches both the goal and the time limit, with random actions mixed in."""
    if env_id == "CartPole-v1":
        a = int(obs[2] + 0.5 * obs[3] > 0)
    elif env_id == "MountainCar-v0":
        a = 2 if obs[1] > 0 else 0
    elif env_id == "MountainCarContinuous-v0":
        a = np.array([1.3 if obs[1] > 0 else -1.3], dtype=np.float32)
    elif env_id == "Pendulum-v1":
        a = np.array([np.clip(-2.0 * obs[2], -2.5, 2.5)], dtype=np.float32)
    else:
        a = 2 if obs[5] > 0 else 0
    if rng.random() < explore:
        if isinstance(a, np.ndarray):
            return rng.uniform(-2.5, 2.5, size=1).astype(np.float32)
        return int(rng.integers(0, 3 if env_id != "CartPole-v1" else 2))
    return a


@pytest.mark.parametrize("env_id", CLASSIC)
def test_whole_episodes_in_lockstep_with_gymnasium(env_id):
    """Episodes across the time limit and the autoreset, compared step by step.

    After each pgfast reset its initial state is injected into Gymnasium
    (the RNG streams differ); from then on both run freely. This covers
    MountainCarContinuous's float32 state after the first step, which state
    injection alone does not reach.
    """
    rng = np.random.default_rng(1)
    env = pg.make(env_id, num_envs=1, seed=123)
    genv = gym_env(env_id)
    obs, _ = env.reset(seed=123)
    genv.reset(seed=0)
    inject(genv, env_id, env.get_state()[0])
    # Alternate a mostly-heuristic episode (reaches the goal or the time
    # limit) with a random one (falls, or times out).
    explore_schedule = [0.05, 1.0]
    explore = explore_schedule[0]
    ends = {"terminated": 0, "truncated": 0}
    budget = 3 * TIME_LIMITS[env_id] + 10
    for t in range(budget):
        action = heuristic_action(env_id, obs[0], rng, explore)
        batch = np.array([action]) if isinstance(action, int) else action[None, :]
        obs, reward, terminated, truncated, _ = env.step(batch)
        g_obs, g_reward, g_term, g_trunc, _ = genv.step(action)
        context = f"{env_id} step {t}"
        np.testing.assert_array_equal(obs[0], g_obs, err_msg=context)
        np.testing.assert_array_equal(env.get_state()[0], gym_state(genv), err_msg=context)
        assert (reward[0], terminated[0], truncated[0]) == (g_reward, g_term, g_trunc), context
        if terminated[0] or truncated[0]:
            ends["terminated"] += bool(terminated[0])
            ends["truncated"] += bool(truncated[0])
            explore = explore_schedule[(ends["terminated"] + ends["truncated"]) % 2]
            # Next-step autoreset: the next call resets and ignores the action.
            obs, reward, terminated, truncated, _ = env.step(batch)
            assert (reward[0], terminated[0], truncated[0]) == (0.0, False, False)
            genv.reset()
            inject(genv, env_id, env.get_state()[0])
            np.testing.assert_array_equal(obs[0], gym_observation(genv, env_id))
    if env_id != "Pendulum-v1":
        assert ends["terminated"] >= 1, ends
    if env_id in ("Pendulum-v1", "CartPole-v1", "Acrobot-v1"):
        assert ends["truncated"] >= 1, ends


@pytest.mark.parametrize(
    "env_id", ["CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Acrobot-v1"]
)
def test_termination_on_last_allowed_step_sets_both_flags(env_id):
    """As Gymnasium's TimeLimit: a natural end on step max_episode_steps is also truncated.

    (Pendulum-v1 never terminates.)
    """
    state, action = {
        "CartPole-v1": ([2.39, 3.0, 0.0, 0.0], 1),
        "MountainCar-v0": ([0.49, 0.05], 2),
        "MountainCarContinuous-v0": ([0.449, 0.05], np.array([1.0], dtype=np.float32)),
        "Acrobot-v1": ([np.pi - 0.01, 0.0, 0.0, 0.0], 1),
    }[env_id]
    env = pg.make(env_id, num_envs=1, seed=0, max_episode_steps=1)
    genv = gym.make(env_id, disable_env_checker=True, max_episode_steps=1)
    genv.reset(seed=0)
    env.reset(seed=0)
    env.set_state(np.array([state]))
    inject(genv, env_id, np.array(state))
    batch = np.array([action]) if isinstance(action, int) else action[None, :]
    _, reward, terminated, truncated, _ = env.step(batch)
    _, g_reward, g_term, g_trunc, _ = genv.step(action)
    assert (terminated[0], truncated[0]) == (True, True) == (g_term, g_trunc)
    assert reward[0] == g_reward


@pytest.mark.parametrize(
    ("env_id", "params"),
    [
        (
            "CartPole-v1",
            {
                "gravity": [9.8, 3.7, 24.8],
                "masspole": [0.1, 0.5, 0.05],
                "length": [0.5, 1.0, 0.25],
                "force_mag": [10.0, 5.0, 20.0],
            },
        ),
        ("MountainCar-v0", {"force": [0.001, 0.002, 0.0015], "gravity": [0.0025, 0.002, 0.003]}),
        ("MountainCarContinuous-v0", {"power": [0.0015, 0.003, 0.001]}),
        ("Pendulum-v1", {"g": [10.0, 9.81, 1.62], "m": [1.0, 2.0, 0.5], "l": [1.0, 0.7, 1.3]}),
        (
            "Acrobot-v1",
            {
                "link_mass_1": [1.0, 2.0, 0.5],
                "link_com_pos_2": [0.5, 0.4, 0.6],
                "link_moi": [1.0, 0.8, 1.5],
            },
        ),
    ],
)
def test_per_env_parameters_match_gymnasium_with_the_same_constants(env_id, params):
    n = 3
    env = pg.make(env_id, num_envs=n, seed=0, **params)
    rng = np.random.default_rng(7)
    states = random_states(env_id, n + 8, rng)[8:]
    env.set_state(states)
    actions = actions_for(env, n, rng)[:n]
    obs, reward, terminated, _, _ = env.step(actions)
    attribute = {  # Gymnasium attribute names where they differ from pgfast's parameter names
        "link_mass_1": "LINK_MASS_1",
        "link_com_pos_2": "LINK_COM_POS_2",
        "link_moi": "LINK_MOI",
    }
    for i in range(n):
        genv = gym_env(env_id)
        genv.reset(seed=0)
        u = genv.unwrapped
        for name, values in params.items():
            setattr(u, attribute.get(name, name), values[i])
        if env_id == "CartPole-v1":  # derived in Gymnasium's __init__
            u.total_mass = u.masspole + u.masscart
            u.polemass_length = u.masspole * u.length
        inject(genv, env_id, states[i])
        action = actions[i] if actions.ndim == 2 else int(actions[i])
        g_obs, g_reward, g_term, _, _ = u.step(action)
        np.testing.assert_array_equal(obs[i], g_obs)
        assert (reward[i], terminated[i]) == (g_reward, g_term)
        for name, values in params.items():
            assert env.get_param(name)[i] == values[i]
