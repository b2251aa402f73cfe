"""Door 2: any gymnasium.vector.VectorEnv, stepped once per batch step by the engine.

The reference is a slow, obvious Python twin of the lockstep collection: the same
vector env stepped by hand with the same greedy policy and the same rule for which
episodes count (env i's first ceil((episodes - i) / N) episodes).
"""

from __future__ import annotations

import importlib.util

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import pgfast as pg


def sync_cartpoles(n: int, mode: AutoresetMode) -> gym.vector.VectorEnv:
    return gym.vector.SyncVectorEnv(
        [lambda: gym.make("CartPole-v1") for _ in range(n)], autoreset_mode=mode
    )


VENVS = {
    "vector_entry_point": lambda: gym.make_vec(
        "CartPole-v1", num_envs=5, vectorization_mode="vector_entry_point"
    ),
    "sync_next_step": lambda: sync_cartpoles(5, AutoresetMode.NEXT_STEP),
    "sync_same_step": lambda: sync_cartpoles(5, AutoresetMode.SAME_STEP),
    "sync_disabled": lambda: sync_cartpoles(5, AutoresetMode.DISABLED),
    "wrapped_pgfast": lambda: gym.wrappers.vector.RecordEpisodeStatistics(
        pg.make("CartPole-v1", num_envs=5, seed=0)
    ),
}


def twin_episodes(venv, policy, episodes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns and lengths of the counted episodes, in the engine's batch order."""
    n = venv.num_envs
    used = min(n, episodes)
    quota = [len(range(i, episodes, used)) if i < used else 0 for i in range(n)]
    mode = venv.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    done_eps: list[list[tuple[float, int]]] = [[] for _ in range(n)]
    counting = [quota[i] > 0 for i in range(n)]
    total = [0.0] * n
    length = [0] * n
    awaiting = [False] * n

    def start(i: int) -> None:
        counting[i] = len(done_eps[i]) < quota[i]
        total[i], length[i] = 0.0, 0

    obs, _ = venv.reset(seed=seed)
    while any(
        c or (a and len(d) < q)
        for c, a, d, q in zip(counting, awaiting, done_eps, quota, strict=True)
    ):
        greedy = policy.act(np.asarray(obs, dtype=np.float64), deterministic=True)
        actions = np.where(counting, greedy, 0).astype(np.int64)
        obs, reward, terminated, truncated, _ = venv.step(actions)
        ended = np.logical_or(terminated, truncated)
        for i in range(n):
            if awaiting[i]:
                awaiting[i] = False
                start(i)
                continue
            if counting[i]:
                total[i] += float(reward[i])
                length[i] += 1
                if ended[i]:
                    done_eps[i].append((total[i], length[i]))
                    counting[i] = False
            if ended[i]:
                if mode == AutoresetMode.NEXT_STEP:
                    awaiting[i] = True
                else:
                    start(i)
        if mode == AutoresetMode.DISABLED and ended.any():
            fresh, _ = venv.reset(options={"reset_mask": ended})
            obs = np.where(ended[:, None], fresh, obs)
    ordered = [done_eps[i][k] for k in range(max(quota)) for i in range(n) if k < quota[i]]
    return np.array([r for r, _ in ordered]), np.array([t for _, t in ordered])


def policy_for_test() -> pg.LinearSoftmax:
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    # A mediocre controller: episodes of very different lengths, some hitting 500.
    policy.theta[:] = [[0.0, 0.3], [0.0, 0.0], [0.0, 0.6], [0.0, 0.0], [0.0, 0.0]]
    return policy


@pytest.mark.parametrize("name", sorted(VENVS))
@pytest.mark.parametrize("episodes", [3, 12])
def test_lockstep_batches_equal_the_python_twin(name, episodes):
    policy = policy_for_test()
    env = pg.GymnasiumVectorEnv(VENVS[name](), seed=7)
    assert env.backend == "gymnasium-vector"
    returns, lengths = pg.evaluate(env, policy, episodes=episodes, seed=0, return_lengths=True)
    ref_returns, ref_lengths = twin_episodes(VENVS[name](), policy, episodes, seed=7)
    np.testing.assert_array_equal(lengths, ref_lengths)
    np.testing.assert_array_equal(returns, ref_returns)
    assert len(set(lengths.tolist())) > 1 or episodes < 5  # the test needs uneven episodes


def test_same_episodes_whatever_the_autoreset_mode():
    """SyncVectorEnv with the same seeds runs the same episodes in every mode; only the
    bookkeeping differs, which the engine must undo."""
    policy = policy_for_test()
    results = [
        pg.evaluate(pg.GymnasiumVectorEnv(sync_cartpoles(4, mode), seed=3), policy, 10, seed=0)
        for mode in AutoresetMode
    ]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.parametrize(
    "make_venv",
    [
        lambda: gym.make_vec("CartPole-v1", num_envs=8, vectorization_mode="vector_entry_point"),
        lambda: sync_cartpoles(8, AutoresetMode.NEXT_STEP),
    ],
    ids=["vector_entry_point", "sync"],
)
def test_learns_cartpole(make_venv):
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    # Reinforce takes the gymnasium vector env itself (door 2).
    algo = pg.Reinforce(make_venv(), policy, lr=0.05, episodes_per_update=16, seed=0)
    assert algo.env.backend == "gymnasium-vector"
    history = algo.train(60)
    assert history["return_mean"][:5].mean() < 60
    assert history["return_mean"][-10:].mean() > 300


def test_a_wrapped_pgfast_env_is_stepped_through_its_wrapper():
    venv = gym.wrappers.vector.RecordEpisodeStatistics(pg.make("CartPole-v1", num_envs=4, seed=0))
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    algo = pg.Reinforce(venv, policy, episodes_per_update=8, seed=0)
    history = algo.train(2)
    assert history["episodes"].sum() == 16
    assert venv.episode_count >= 16  # the wrapper saw every episode


def test_episode_ends_are_recorded_from_the_final_observation_in_every_mode():
    """With a 5-step limit every episode is truncated, and GAE bootstraps from
    V(final observation). Same-step autoreset gives that observation only in
    info["final_obs"], disabled autoreset before pgfast's reset; next-step autoreset in
    the step's own result. The first batch (the same episodes in every mode) must
    record the same final features, and the same update."""
    finals, thetas = [], []
    for mode in AutoresetMode:
        venv = gym.vector.SyncVectorEnv(
            [lambda: gym.make("CartPole-v1", max_episode_steps=5) for _ in range(3)],
            autoreset_mode=mode,
        )
        policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
        algo = pg.Reinforce(
            pg.GymnasiumVectorEnv(venv, seed=1),
            policy,
            returns="gae",
            baseline="none",
            episodes_per_update=9,
            seed=0,
        )
        algo.train(1)
        finals.append(algo._engine.last_batch()["final_features"])
        thetas.append(policy.theta.copy())
    for final, theta in zip(finals[1:], thetas[1:], strict=True):
        np.testing.assert_array_equal(final, finals[0])
        np.testing.assert_array_equal(theta, thetas[0])
    assert np.all(np.abs(finals[0][:, 2]) > 0)  # pole angles after 5 steps: not a reset state


def test_online_updates_are_refused_with_a_clear_error():
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    venv = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point")
    algo = pg.Reinforce(venv, policy, update="online", seed=0)
    with pytest.raises(ValueError, match="step one at a time"):
        algo.train(1)


class NanObservations(gym.vector.VectorWrapper):
    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        return obs * np.nan, reward, terminated, truncated, info


def test_a_non_finite_observation_is_a_clear_error():
    venv = NanObservations(
        gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point")
    )
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    with pytest.raises(RuntimeError, match="observation value nan for env 0"):
        pg.Reinforce(venv, policy, episodes_per_update=4, seed=0).train(1)


class NanRewards(gym.vector.VectorWrapper):
    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        return obs, reward * np.nan, terminated, truncated, info


def test_a_non_finite_reward_is_a_clear_error_and_nothing_is_updated():
    venv = NanRewards(
        gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point")
    )
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    before = policy.theta.copy()
    with pytest.raises(RuntimeError, match="reward nan for env 0"):
        pg.Reinforce(venv, policy, episodes_per_update=4, seed=0).train(1)
    np.testing.assert_array_equal(policy.theta, before)


def test_unsupported_spaces_are_refused():
    venv = gym.make_vec("Blackjack-v1", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="Box and Discrete observation"):
        pg.GymnasiumVectorEnv(venv)


@pytest.mark.filterwarnings("ignore:.*CartPole-v0 is out of date")
def test_ids_with_a_vector_entry_point_take_door_two():
    env = pg.envs.as_vector_env("CartPole-v0")  # Gymnasium's, not a pgfast id
    assert env.backend == "gymnasium-vector"
    assert env.max_episode_steps == 200


def test_train_with_progress_names_the_door_first(capsys):
    venv = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point")
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    pg.Reinforce(venv, policy, episodes_per_update=2, seed=0).train(1, progress=True)
    first = capsys.readouterr().err.splitlines()[0]
    assert first == (
        "env CartPole-v1: gymnasium-vector (a Gymnasium vector env; one Python call per batch step)"
    )


@pytest.mark.filterwarnings("ignore:.*CartPole-v0 is out of date")
def test_make_gives_gymnasiums_vector_env_for_ids_pgfast_does_not_have():
    env = pg.make("CartPole-v0", num_envs=6, seed=1, max_episode_steps=30)
    assert isinstance(env, pg.GymnasiumVectorEnv)
    assert env.num_envs == 6
    assert env.backend == "gymnasium-vector"
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    lengths = pg.evaluate(env, policy, episodes=12, seed=0, return_lengths=True)[1]
    assert lengths.max() <= 30


def test_a_vector_env_that_cannot_be_built_says_why():
    # Gymnasium's JAX CartPole has a vector entry point; jax is not a dependency.
    assert pg.gym_adapters.has_vector_entry_point("phys2d/CartPole-v1")
    if importlib.util.find_spec("jax") is None:
        with pytest.raises(ValueError, match=r"cannot make Gymnasium's vectorised phys2d.*jax"):
            pg.make("phys2d/CartPole-v1", num_envs=2)
    else:  # a machine with jax builds it
        assert pg.make("phys2d/CartPole-v1", num_envs=2).backend == "gymnasium-vector"


def test_discrete_spaces_that_do_not_start_at_zero_are_refused():
    venv = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")] * 2)
    venv.single_action_space = gym.spaces.Discrete(2, start=1)
    with pytest.raises(ValueError, match="must start at 0"):
        pg.GymnasiumVectorEnv(venv)


def test_reinforce_seeds_an_env_it_makes_so_runs_repeat():
    results = []
    for _ in range(2):
        venv = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="vector_entry_point")
        policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
        pg.Reinforce(venv, policy, episodes_per_update=8, seed=5).train(2)
        results.append(policy.theta.copy())
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("door", ["vector", "single"])
def test_python_driven_envs_are_garbage_collected(door):
    import gc
    import weakref

    if door == "vector":
        inner = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point")
        env = pg.GymnasiumVectorEnv(inner, seed=0)
    else:
        inner = gym.make("CartPole-v1")
        env = pg.GymnasiumEnv(inner, seed=0)
    pg.evaluate(env, pg.LinearSoftmax(pg.features.Identity(4), n_actions=2), episodes=2, seed=0)
    refs = [weakref.ref(env), weakref.ref(inner)]
    del env, inner
    gc.collect()
    assert [r() for r in refs] == [None, None]
