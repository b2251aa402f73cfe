"""The engine's whole batch gradient against its slow, obvious twin
(``reference.ref_batch_gradient``), fed the engine's own rollout.

Each case runs ``Reinforce.gradient`` and reads back the batch it used
(``_engine.last_batch()``: the stored feature rows, actions, rewards and the
episode flags). The twin recomputes from those arrays alone, with plain
Python loops: pi_t or mu_t from theta, Psi (total, reward-to-go, discounted
reward-to-go, GAE) with the truncation bootstrap, the baseline (none, mean,
time, value, optimal per parameter), the normalisation, the score of each
policy type (softmax over state features, softmax over phi(s) x psi_a,
state-action table, Gaussian with and without a learned log_std), the
per-episode contributions, their mean and their standard errors. Compared:

* ``policy_out`` (pi_t or mu_t) with the twin's, from theta;
* ``psi`` and ``baseline`` of every step with the twin's;
* the gradient and its standard errors with the twin's.

Tolerance: 1e-12 relative. The two compute the same sums in different
orders (the engine sums backwards and in blocks of 16 episodes, leaves an
episode out of a baseline by subtracting it from the total, takes the
variance in one pass), so they agree to a few ulps of the magnitudes
summed, not of the result: the mean gradient is a difference of
per-episode contributions of either sign and may be far smaller than they
are. Gradients and standard errors are therefore compared with
``atol = 1e-12 * max(1, mean_j |g_j|_inf)`` (g_j the twin's per-episode
contributions) besides ``rtol = 1e-12``; per-step arrays with
``atol = 1e-12 * max(1, max |array|)``. Any error in a formula (a missing
gamma^t, a wrong sign, the episode's own Psi in its baseline, a wrong
bootstrap) moves results by far more than that, since theta and log_std are
random and moderate so that every term is of order one.

The value baseline and GAE use the value fitted by the previous call, so
they are run twice: the first call with no value (baseline 0, no bootstrap),
the second with the weights ``last_batch()`` reported after the first.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import ref_batch_gradient, ref_policy_out

import pgfast as pg

GAMMA = 0.9
GAE_LAMBDA = 0.8
REL = 1e-12

POLICIES = ["softmax", "gaussian_learn_std", "gaussian_fixed_std", "state_action", "table"]

# Every valid (returns, baseline): the optimal baseline only with total
# returns, GAE only without a baseline.
COMBOS = (
    [("total", b) for b in ("none", "mean", "time", "value", "optimal")]
    + [
        (r, b)
        for r in ("reward_to_go", "discounted_reward_to_go")
        for b in ("none", "mean", "time", "value")
    ]
    + [("gae", "none")]
)


def random_tabular_mdp(
    seed: int = 0, n_states: int = 6, n_actions: int = 3, max_episode_steps: int = 5
) -> pg.TabularMDP:
    """Dirichlet transitions, the last state terminal (absorbing), rewards
    R[s, a] ~ N(0, 1), starts spread over the other states, and a short time
    limit so that episodes both terminate and get truncated."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(n_states, 0.5), size=(n_states, n_actions))
    terminal = np.zeros(n_states, dtype=bool)
    terminal[-1] = True
    P[-1] = 0.0
    P[-1, :, -1] = 1.0
    R = rng.normal(size=(n_states, n_actions))
    initial = np.zeros(n_states)
    initial[:-1] = 1.0 / (n_states - 1)
    return pg.TabularMDP(P, R, initial, terminal, max_episode_steps, name="random")


def make_env_policy(kind: str, num_threads: int = 1):
    """The env and the policy of a case, theta (and log_std) random, scale 0.1."""
    rng = np.random.default_rng(POLICIES.index(kind))
    if kind == "softmax":
        env = pg.make(
            "CartPole-v1", num_envs=4, seed=0, max_episode_steps=20, num_threads=num_threads
        )
        policy = pg.LinearSoftmax(pg.features.Identity(4), 2)
    elif kind.startswith("gaussian"):
        env = pg.make(
            "Pendulum-v1", num_envs=4, seed=0, max_episode_steps=20, num_threads=num_threads
        )
        policy = pg.LinearGaussian(
            pg.features.Identity(3), 1, log_std=-0.5, learn_std=kind == "gaussian_learn_std"
        )
        policy.log_std = -0.5 + rng.normal(scale=0.1, size=1)
    elif kind == "state_action":
        env = pg.make(
            "CartPole-v1", num_envs=4, seed=0, max_episode_steps=20, num_threads=num_threads
        )
        psi = rng.normal(size=(2, 3))
        policy = pg.LinearSoftmax(
            pg.features.StateAction(pg.features.Identity(4), action_features=psi), 2
        )
    elif kind == "table":
        mdp = random_tabular_mdp()
        env = pg.make(mdp, num_envs=4, seed=0, num_threads=num_threads)
        table = rng.normal(size=(mdp.P.shape[0], mdp.P.shape[1], 4))
        policy = pg.LinearSoftmax(pg.features.StateActionTable(table), mdp.P.shape[1])
    else:
        raise ValueError(kind)
    policy.theta = rng.normal(scale=0.1, size=policy.theta.shape)
    return env, policy


def flat(x) -> np.ndarray:
    """The engine's gradient (or stderr) as the flat parameter vector."""
    if isinstance(x, tuple):
        return np.concatenate([np.ravel(p) for p in x])
    return np.ravel(x)


def assert_close(actual, expected, scale, what):
    np.testing.assert_allclose(actual, expected, rtol=REL, atol=REL * max(1.0, scale), err_msg=what)


def compare_call(algo, episodes, value_weights, value_fitted, label):
    """One gradient call against the twin; returns the batch it used."""
    g, se = algo.gradient(episodes, return_stderr=True)
    batch = algo._engine.last_batch()
    assert len(batch["terminated"]) == episodes
    assert np.array_equal(np.unique(batch["episode_ids"]), np.arange(episodes))
    policy = algo.policy

    out = np.array([ref_policy_out(policy, x) for x in batch["features"]])
    assert_close(batch["policy_out"], out, np.abs(out).max(), f"{label}: policy_out")

    g_ref, se_ref, psi_ref, base_ref, contrib = ref_batch_gradient(
        batch, algo.settings, policy, value_weights, value_fitted
    )
    scale = max(np.abs(psi_ref).max(), np.abs(base_ref).max())
    assert_close(batch["psi"], psi_ref, scale, f"{label}: psi")
    assert_close(batch["baseline"], base_ref, scale, f"{label}: baseline")

    g_scale = np.abs(contrib).max(axis=1).mean()
    assert flat(g).shape == g_ref.shape
    assert_close(flat(g), g_ref, g_scale, f"{label}: gradient")
    assert_close(flat(se), se_ref, g_scale, f"{label}: stderr")
    return batch


def run_case(
    kind, returns, baseline, normalize, *, episodes=12, num_threads=1, bootstrap_truncated=True
):
    env, policy = make_env_policy(kind, num_threads)
    algo = pg.Reinforce(
        env,
        policy,
        gamma=GAMMA,
        gae_lambda=GAE_LAMBDA,
        episodes_per_update=episodes,
        returns=returns,
        baseline=baseline,
        normalize_advantages=normalize,
        bootstrap_truncated=bootstrap_truncated,
        seed=7,
        num_threads=num_threads,
    )
    label = f"{kind} {returns}/{baseline} normalize={normalize} m={episodes} threads={num_threads}"
    batch = compare_call(algo, episodes, None, False, label + " call 1")
    if baseline == "value" or returns == "gae":
        # The second call uses the value fitted on the first call's batch.
        assert batch["value_fitted"]
        weights = np.array(batch["value_weights"])
        assert np.any(weights != 0)
        batch = compare_call(algo, episodes, weights, True, label + " call 2")
        # Truncations happen, so the bootstrap (or its absence) is exercised.
        assert batch["truncated"].any()
    env.close()


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize(("returns", "baseline"), COMBOS)
@pytest.mark.parametrize("kind", POLICIES)
def test_gradient_equals_twin(kind, returns, baseline, normalize):
    """Every valid returns x baseline x normalisation, for each policy type,
    12 episodes (a single, partial block of 16), one thread."""
    run_case(kind, returns, baseline, normalize)


@pytest.mark.parametrize("num_threads", [1, 2])
@pytest.mark.parametrize(
    ("returns", "baseline", "normalize"),
    [
        ("total", "optimal", False),
        ("total", "optimal", True),
        ("reward_to_go", "time", True),
        ("discounted_reward_to_go", "value", False),
        ("gae", "none", False),
    ],
)
@pytest.mark.parametrize("kind", POLICIES)
def test_gradient_equals_twin_over_several_blocks(kind, returns, baseline, normalize, num_threads):
    """40 episodes: three blocks of 16 summed (the last partial), shared
    between two threads when num_threads=2 (env and engine)."""
    run_case(kind, returns, baseline, normalize, episodes=40, num_threads=num_threads)


@pytest.mark.parametrize(
    ("returns", "baseline"),
    [
        ("total", "value"),
        ("reward_to_go", "value"),
        ("discounted_reward_to_go", "value"),
        ("gae", "none"),
    ],
)
@pytest.mark.parametrize("kind", POLICIES)
def test_gradient_equals_twin_without_bootstrap(kind, returns, baseline):
    """bootstrap_truncated=False: a fitted value is the baseline (or GAE's V)
    but truncated episodes end with 0, not V(s_T)."""
    run_case(kind, returns, baseline, False, bootstrap_truncated=False)


def chain_mdp(n_states: int = 5) -> pg.TabularMDP:
    """s -> s + 1 whatever the action, the last state terminal and the time
    limit exactly the steps to reach it: every episode terminates on the
    time limit's last step (terminated and truncated both set)."""
    rng = np.random.default_rng(3)
    P = np.zeros((n_states, 2, n_states))
    for s in range(n_states - 1):
        P[s, :, s + 1] = 1.0
    P[-1, :, -1] = 1.0
    terminal = np.zeros(n_states, dtype=bool)
    terminal[-1] = True
    initial = np.zeros(n_states)
    initial[0] = 1.0
    return pg.TabularMDP(
        P,
        rng.normal(size=(n_states, 2)),
        initial,
        terminal,
        max_episode_steps=n_states - 1,
        name="chain",
    )


@pytest.mark.parametrize(("returns", "baseline"), [("reward_to_go", "value"), ("gae", "none")])
def test_terminated_on_the_time_limit_does_not_bootstrap(returns, baseline):
    """An episode that enters a terminal state on the last step the time limit
    allows is terminated (its final state is terminal: nothing follows), so
    it must not continue with V(s_T), although the limit was also reached
    ("Truncated episodes bootstrap ...; terminated ones never do",
    Reinforce's docstring). The table's features are shared between states,
    so V of the terminal state is not 0 and a bootstrap would show."""
    mdp = chain_mdp()
    table = np.random.default_rng(4).normal(size=(5, 2, 3))
    policy = pg.LinearSoftmax(pg.features.StateActionTable(table), 2)
    policy.theta = np.random.default_rng(5).normal(scale=0.1, size=3)
    env = pg.make(mdp, num_envs=4, seed=0)
    algo = pg.Reinforce(
        env,
        policy,
        gamma=GAMMA,
        gae_lambda=GAE_LAMBDA,
        returns=returns,
        baseline=baseline,
        seed=7,
        num_threads=1,
    )
    batch = compare_call(algo, 12, None, False, "chain call 1")
    assert batch["terminated"].all()
    assert batch["truncated"].all()
    weights = np.array(batch["value_weights"])
    assert abs(float(weights @ batch["final_features"][0])) > 1e-3  # V(terminal) != 0
    compare_call(algo, 12, weights, True, "chain call 2")
    env.close()
