"""Tabular MDPs: pgfast's toy-text tables against Gymnasium's, and sampled
transitions against the tables (exact consistency and chi-square tests)."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest
import scipy.stats

import pgfast as pg

# Chi-square goodness of fit: under a correct sampler the p-value is uniform
# on [0, 1], so a threshold of 1e-4 fails a correct implementation with
# probability 1e-4 per test for a random seed (and never for the fixed
# seeds used here), while with 100,000 samples 0.01 of probability moved
# between two 1/3 cells adds ~60 to the statistic (p ~ 1e-13): detected.
P_THRESHOLD = 1e-4


def gym_make(env_id: str, **kwargs):
    return gym.make(env_id, disable_env_checker=True, **kwargs)


def random_mdp(
    seed: int,
    n_states: int = 7,
    n_actions: int = 3,
    n_terminal: int = 2,
    max_episode_steps: int | None = None,
) -> pg.TabularMDP:
    """Dirichlet transition rows, absorbing terminal states (the last
    ``n_terminal``), rewards R[s, a, s'] ~ N(0, 1), initial mass on the
    non-terminal states only (one of them with probability 0)."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(n_states, 0.7), size=(n_states, n_actions))
    terminal = np.zeros(n_states, dtype=bool)
    terminal[n_states - n_terminal :] = True
    for t in np.flatnonzero(terminal):
        P[t] = 0.0
        P[t, :, t] = 1.0
    R = rng.normal(size=(n_states, n_actions, n_states))
    initial = np.zeros(n_states)
    initial[1 : n_states - n_terminal] = rng.dirichlet(np.ones(n_states - n_terminal - 1))
    return pg.TabularMDP(P, R, initial, terminal, max_episode_steps, name="random")


def check_rollout_against_tables(
    env: pg.VectorEnv, mdp: pg.TabularMDP, steps: int, seed: int, limit: int | None = None
) -> int:
    """Step ``env`` with random actions and check every transition against
    ``mdp``: for each (s, a, s', r, terminated) with s read by get_state()
    before the step, P[s, a, s'] > 0, r == R[s, a, s'] and terminated ==
    terminal[s']. Autoreset steps must return a state of the initial
    support with reward 0; episodes truncate after ``limit`` steps (default
    the MDP's time limit). Returns the number of transitions checked."""
    if limit is None:
        limit = mdp.max_episode_steps
    assert env.max_episode_steps == limit
    rng = np.random.default_rng(seed)
    n = env.num_envs
    obs, _ = env.reset(seed=seed)
    assert (mdp.initial[obs] > 0).all()
    pending_reset = np.zeros(n, dtype=bool)
    elapsed = np.zeros(n, dtype=np.int64)
    checked = 0
    for _ in range(steps):
        state = env.get_state()
        assert state.shape == (n, 1)
        s = state[:, 0].astype(np.int64)
        assert np.array_equal(s, state[:, 0])
        assert np.array_equal(s, obs)
        a = rng.integers(0, mdp.n_actions, size=n)
        obs, reward, terminated, truncated, _ = env.step(a)
        assert obs.dtype == np.int64
        assert reward.dtype == np.float64
        np.testing.assert_array_equal(env.get_state()[:, 0], obs)
        # Autoreset rows: a fresh start, reward 0, no flags.
        r = pending_reset
        assert (mdp.initial[obs[r]] > 0).all()
        assert (reward[r] == 0).all()
        assert not terminated[r].any()
        assert not truncated[r].any()
        elapsed[r] = 0
        # Real transitions: exact agreement with the tables.
        m = ~pending_reset
        assert (mdp.P[s[m], a[m], obs[m]] > 0).all()
        np.testing.assert_array_equal(reward[m], mdp.R[s[m], a[m], obs[m]])
        np.testing.assert_array_equal(terminated[m], mdp.terminal[obs[m]])
        elapsed[m] += 1
        expected_trunc = (elapsed == limit) if limit else np.zeros(n, dtype=bool)
        np.testing.assert_array_equal(truncated[m], expected_trunc[m])
        np.testing.assert_array_equal(env.elapsed_steps(), elapsed)
        checked += int(m.sum())
        pending_reset = terminated | truncated
    return checked


# ------------------------------------------------- tables equal Gymnasium's

BUILTIN = [
    ("FrozenLake-v1", {"is_slippery": True}, lambda: pg.TabularMDP.frozen_lake("4x4", True)),
    ("FrozenLake-v1", {"is_slippery": False}, lambda: pg.TabularMDP.frozen_lake("4x4", False)),
    ("FrozenLake8x8-v1", {"is_slippery": True}, lambda: pg.TabularMDP.frozen_lake("8x8", True)),
    ("FrozenLake8x8-v1", {"is_slippery": False}, lambda: pg.TabularMDP.frozen_lake("8x8", False)),
    ("CliffWalking-v1", {}, pg.TabularMDP.cliff_walking),
]


@pytest.mark.parametrize(("env_id", "kwargs", "build"), BUILTIN)
def test_builtin_tables_equal_gymnasium_tables_exactly(env_id, kwargs, build):
    gym_env = gym_make(env_id, **kwargs)
    reference = pg.TabularMDP.from_gymnasium(gym_env)
    gym_env.close()
    for mdp in (build(), pg.make(env_id, **kwargs).mdp):
        # Bit-for-bit: the probabilities are summed in Gymnasium's order.
        for name in ("P", "R", "initial", "terminal"):
            assert np.array_equal(getattr(mdp, name), getattr(reference, name)), name
        assert mdp.name == env_id
    if env_id.startswith("FrozenLake"):
        assert build().max_episode_steps == reference.max_episode_steps  # 100 / 200
    else:
        # Gymnasium sets no limit for CliffWalking; pgfast documents 200.
        assert reference.max_episode_steps is None
        assert build().max_episode_steps == 200


def test_frozen_lake_tables_have_the_expected_structure():
    # A few facts read off the map, independent of both implementations.
    mdp = pg.TabularMDP.frozen_lake("4x4", True)
    assert mdp.P.shape == (16, 4, 16)
    assert np.flatnonzero(mdp.terminal).tolist() == [5, 7, 11, 12, 15]
    assert mdp.initial.tolist() == [1.0] + [0.0] * 15
    # From state 14 moving right: 1/3 each to 10 (up), 15 (goal, reward 1), 14 (down, wall).
    assert np.flatnonzero(mdp.P[14, 2]).tolist() == [10, 14, 15]
    assert mdp.R[14, 2, 15] == 1.0
    assert mdp.R[14, 2, 10] == 0.0
    np.testing.assert_allclose(mdp.P[14, 2, [10, 14, 15]], 1 / 3, rtol=1e-15)


def test_from_gymnasium_reads_taxi_and_round_trips():
    assert "Taxi-v4" in gym.registry  # Gymnasium 1.4's Taxi id
    gym_env = gym_make("Taxi-v4")
    mdp = pg.TabularMDP.from_gymnasium(gym_env)
    table, initial = gym_env.unwrapped.P, gym_env.unwrapped.initial_state_distrib
    gym_env.close()
    assert (mdp.n_states, mdp.n_actions) == (500, 6)
    assert mdp.name == "Taxi-v4"
    assert mdp.max_episode_steps == 200
    np.testing.assert_array_equal(mdp.initial, initial)
    # Deterministic: one outcome per (s, a), copied exactly.
    for s in range(500):
        for a in range(6):
            ((p, s_next, r, _),) = table[s][a]
            assert p == 1.0
            assert mdp.P[s, a, s_next] == 1.0
            assert mdp.R[s, a, s_next] == r
    # Terminal: taxi at the destination with the passenger dropped there.
    assert mdp.terminal.sum() == 4
    env = pg.make(mdp, num_envs=64, seed=0)
    assert env.mdp is mdp
    assert env.id == "Taxi-v4"
    assert env.max_episode_steps == 200
    assert env.single_observation_space == gym.spaces.Discrete(500)
    assert env.single_action_space == gym.spaces.Discrete(6)
    assert check_rollout_against_tables(env, mdp, steps=300, seed=1) > 15_000


def reachable_states(table: dict, initial: np.ndarray) -> set[int]:
    """States an episode can visit: BFS over Gymnasium's table from the
    initial support, not expanding past a terminating transition."""
    seen = {int(s) for s in np.flatnonzero(initial)}
    queue = deque(seen)
    while queue:
        s = queue.popleft()
        for outcomes in table[s].values():
            for p, s_next, _, terminated in outcomes:
                s_next = int(s_next)
                if p > 0 and s_next not in seen:
                    seen.add(s_next)
                    if not terminated:
                        queue.append(s_next)
    return seen


@pytest.mark.parametrize(
    "env_id", ["FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "Taxi-v4"]
)
def test_from_gymnasium_preserves_every_reachable_outcome(env_id):
    """Independent of pgfast's own tables: every outcome (p, s', r,
    terminated) Gymnasium lists for a reachable state is represented."""
    gym_env = gym_make(env_id)
    table, initial = gym_env.unwrapped.P, gym_env.unwrapped.initial_state_distrib
    gym_env.close()
    mdp = pg.TabularMDP.from_gymnasium(gym_make(env_id))
    for s in reachable_states(table, initial):
        if mdp.terminal[s]:
            continue  # an episode never acts from a terminal state
        for a, outcomes in table[s].items():
            total = {}
            for p, s_next, r, terminated in outcomes:
                total[int(s_next)] = total.get(int(s_next), 0.0) + p
                assert mdp.R[s, a, s_next] == r
                assert mdp.terminal[s_next] == terminated
            for s_next, p in total.items():
                assert mdp.P[s, a, s_next] == p  # same summation order: exact


def test_from_gymnasium_refuses_slippery_cliff_walking_because_of_rewards():
    gym_env = gym_make("CliffWalkingSlippery-v1")
    table = gym_env.unwrapped.P
    # Why: from the start (36), "up" slips left into the wall (back to 36,
    # reward -1) or right into the cliff (back to 36, reward -100). R[s, a, s']
    # cannot hold two rewards for the same (36, up, 36).
    outcomes = table[36][0]
    to_start = sorted(r for p, s_next, r, _ in outcomes if s_next == 36 and p > 0)
    assert to_start == [-100, -1]
    with pytest.raises(ValueError, match=r"\(s=36, a=0\) reach state 36 with different rewards"):
        pg.TabularMDP.from_gymnasium(gym_env)
    gym_env.close()


class FakeToyText:
    """The two attributes from_gymnasium reads, for hand-made tables."""

    def __init__(self, P: dict, initial: list[float]) -> None:
        self.P = P
        self.initial_state_distrib = np.asarray(initial)
        self.unwrapped = self


def test_from_gymnasium_refuses_a_state_entered_with_and_without_termination():
    # State 2 terminates when entered from 0 but not from 1; both reachable.
    table = {
        0: {0: [(1.0, 2, 1.0, True)], 1: [(1.0, 1, 0.0, False)]},
        1: {0: [(1.0, 2, 0.0, False)], 1: [(1.0, 0, 0.0, False)]},
        2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]},
    }
    with pytest.raises(ValueError, match="state 2 is entered from state 1 without termination"):
        pg.TabularMDP.from_gymnasium(FakeToyText(table, [1.0, 0.0, 0.0]))
    # The same conflict from an unreachable state (1 is never entered) is harmless.
    table[0][1] = [(1.0, 0, 0.0, False)]
    mdp = pg.TabularMDP.from_gymnasium(FakeToyText(table, [1.0, 0.0, 0.0]))
    assert mdp.terminal.tolist() == [False, False, True]
    assert mdp.max_episode_steps is None
    assert mdp.name == "FakeToyText"


# ------------------------------------------- sampled transitions vs tables


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1"])
def test_builtin_sampled_transitions_agree_with_the_tables(env_id):
    env = pg.make(env_id, num_envs=128, seed=0)
    assert check_rollout_against_tables(env, env.mdp, steps=400, seed=0) > 40_000


def test_random_mdp_runs_through_make_and_agrees_with_its_tables():
    mdp = random_mdp(0, max_episode_steps=25)
    env = pg.make(mdp, num_envs=256, seed=0)
    assert env.single_observation_space == gym.spaces.Discrete(7)
    assert env.single_action_space == gym.spaces.Discrete(3)
    assert env.id == "random"
    assert env.max_episode_steps == 25
    assert check_rollout_against_tables(env, mdp, steps=300, seed=2) > 50_000
    # The time limit of make() overrides the MDP's.
    env = pg.make(mdp, num_envs=64, seed=1, max_episode_steps=9)
    assert env.max_episode_steps == 9
    check_rollout_against_tables(env, mdp, steps=100, seed=3, limit=9)


def test_two_dimensional_rewards_are_paid_whatever_the_next_state():
    mdp3 = random_mdp(4)
    R2 = np.random.default_rng(5).normal(size=(7, 3))
    mdp = pg.TabularMDP(mdp3.P, R2, mdp3.initial, mdp3.terminal)
    assert mdp.R.shape == (7, 3, 7)
    assert (mdp.R == R2[:, :, None]).all()
    env = pg.make(mdp, num_envs=128, seed=0)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    seen = 0
    for _ in range(100):
        s = env.get_state()[:, 0].astype(np.int64)
        a = rng.integers(0, 3, size=128)
        _, reward, terminated, truncated, _ = env.step(a)
        # Rows that were autoresetting pay exactly 0 and have no flags.
        moved = ~((reward == 0) & ~terminated & ~truncated)
        np.testing.assert_array_equal(reward[moved], R2[s[moved], a[moved]])
        seen += int(moved.sum())
    assert seen > 5_000


def next_state_counts(mdp: pg.TabularMDP, s: int, a: int, num_envs: int, seed: int) -> np.ndarray:
    env = pg.make(mdp, num_envs=num_envs, seed=seed)
    env.reset(seed=seed)
    env.set_state(np.full((num_envs, 1), float(s)))
    obs, *_ = env.step(np.full(num_envs, a, dtype=np.int64))
    return np.bincount(obs, minlength=mdp.n_states)


@pytest.mark.parametrize(
    ("name", "s", "a", "seed"),
    [
        ("frozen4", 9, 1, 101),  # 1/3 each to 8, 13, 10
        ("frozen8", 27, 2, 102),  # 8x8 row with three outcomes
        ("cliff", 25, 2, 103),  # deterministic: straight into the cliff, back to 36
        ("random", 0, 0, 104),
        ("random", 3, 2, 105),
        ("random", 4, 1, 106),
    ],
)
def test_next_state_frequencies_pass_a_chi_square_test(name, s, a, seed):
    mdp = {
        "frozen4": lambda: pg.TabularMDP.frozen_lake("4x4", True),
        "frozen8": lambda: pg.TabularMDP.frozen_lake("8x8", True),
        "cliff": pg.TabularMDP.cliff_walking,
        "random": lambda: random_mdp(0),
    }[name]()
    num_envs = 100_000
    counts = next_state_counts(mdp, s, a, num_envs, seed=seed)
    p = mdp.P[s, a]
    support = p > 0
    assert counts[~support].sum() == 0  # never a zero-probability state
    assert counts.sum() == num_envs
    if support.sum() == 1:
        return
    expected = num_envs * p[support]
    result = scipy.stats.chisquare(counts[support], expected)
    assert result.pvalue > P_THRESHOLD, (counts[support], expected)
    # The test has power: the same counts against rows shifted by 0.02 of
    # probability mass (from the largest cell to the smallest) are rejected.
    shifted = p[support].copy()
    order = np.argsort(shifted, kind="stable")  # distinct indices even for ties
    shifted[order[-1]] -= 0.02
    shifted[order[0]] += 0.02
    assert scipy.stats.chisquare(counts[support], num_envs * shifted).pvalue < P_THRESHOLD


def test_each_env_index_draws_its_own_stream():
    # Two halves of the batch are not copies of each other (a stream shared
    # by env indices would make the chi-square test above meaningless).
    mdp = pg.TabularMDP.frozen_lake("4x4", True)
    env = pg.make(mdp, num_envs=2000, seed=0)
    env.reset(seed=0)
    env.set_state(np.full((2000, 1), 9.0))
    obs, *_ = env.step(np.ones(2000, dtype=np.int64))
    assert not np.array_equal(obs[:1000], obs[1000:])
    assert len(set(obs.tolist())) == 3


def test_initial_distribution_is_sampled_correctly():
    mdp = random_mdp(1, n_states=8, n_terminal=2)
    assert mdp.initial[0] == 0
    assert mdp.initial[6:].sum() == 0
    num_envs = 100_000
    env = pg.make(mdp, num_envs=num_envs, seed=7)
    obs, _ = env.reset(seed=7)
    counts = np.bincount(obs, minlength=8)
    support = mdp.initial > 0
    assert counts[~support].sum() == 0
    result = scipy.stats.chisquare(counts[support], num_envs * mdp.initial[support])
    assert result.pvalue > P_THRESHOLD, (counts, mdp.initial)
    # Autoresets draw from the same distribution: episodes that end after
    # one step (every transition into a terminal state) restart from it.
    P = np.zeros((3, 1, 3))
    P[0, 0, 2] = P[1, 0, 2] = P[2, 0, 2] = 1.0
    one_step = pg.TabularMDP(P, np.zeros((3, 1)), [0.25, 0.75, 0.0], [False, False, True])
    env = pg.make(one_step, num_envs=num_envs, seed=8)
    env.reset(seed=8)
    _, _, terminated, *_ = env.step(np.zeros(num_envs, dtype=np.int64))
    assert terminated.all()
    obs, reward, terminated, truncated, _ = env.step(np.zeros(num_envs, dtype=np.int64))
    assert (reward == 0).all()
    assert not terminated.any()
    assert not truncated.any()
    counts = np.bincount(obs, minlength=3)
    assert counts[2] == 0
    result = scipy.stats.chisquare(counts[:2], num_envs * np.array([0.25, 0.75]))
    assert result.pvalue > P_THRESHOLD


# ----------------------------------------------------------------- time limit


def test_max_episode_steps_truncates_then_autoresets():
    # Non-slippery FrozenLake: "left" from the start stays there forever.
    env = pg.make("FrozenLake-v1", num_envs=2, seed=0, is_slippery=False, max_episode_steps=5)
    assert env.max_episode_steps == 5
    env.reset(seed=0)
    left = np.zeros(2, dtype=np.int64)
    for t in range(1, 6):
        obs, reward, terminated, truncated, _ = env.step(left)
        assert obs.tolist() == [0, 0]
        assert reward.tolist() == [0.0, 0.0]
        assert not terminated.any()
        assert truncated.tolist() == [t == 5] * 2
        assert env.elapsed_steps().tolist() == [t, t]
    obs, reward, terminated, truncated, _ = env.step(left)  # the autoreset step
    assert obs.tolist() == [0, 0]
    assert not terminated.any()
    assert not truncated.any()
    assert env.elapsed_steps().tolist() == [0, 0]


def test_termination_on_the_last_allowed_step_sets_both_flags():
    # 0 -R-> 1 -R-> 2 -D-> 6 -D-> 10 -D-> 14 -R-> 15 (goal) in exactly 6 steps.
    path = [2, 2, 1, 1, 1, 2]
    for limit, both in ((6, True), (7, False)):
        env = pg.make(
            "FrozenLake-v1", num_envs=1, seed=0, is_slippery=False, max_episode_steps=limit
        )
        env.reset(seed=0)
        for a in path:
            obs, reward, terminated, truncated, _ = env.step(np.array([a]))
        assert obs[0] == 15
        assert reward[0] == 1.0
        assert terminated[0]
        assert truncated[0] == both


def test_without_a_time_limit_episodes_never_truncate():
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 0] = 1.0  # a two-state cycle, no terminal state
    mdp = pg.TabularMDP(P, [[1.0], [2.0]], [1.0, 0.0])
    env = pg.make(mdp, num_envs=3, seed=0)
    assert env.max_episode_steps is None
    env.reset(seed=0)
    for t in range(1000):
        obs, reward, terminated, truncated, _ = env.step(np.zeros(3, dtype=np.int64))
        assert not terminated.any()
        assert not truncated.any()
        assert obs.tolist() == [(t + 1) % 2] * 3
        assert reward.tolist() == [1.0 + t % 2] * 3
    assert env.elapsed_steps().tolist() == [1000] * 3
