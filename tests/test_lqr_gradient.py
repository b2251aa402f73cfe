"""The engine's LinearGaussian gradient, log_std included, against the exact
LQR gradient of pg.exact.lqr_gradient (a mean/covariance recursion,
independent of the sampler)."""

from __future__ import annotations

import numpy as np
import pytest

import pgfast as pg
from pgfast import exact


@pytest.mark.parametrize(
    ("returns", "baseline"),
    [("discounted_reward_to_go", "time"), ("total", "none"), ("total", "optimal")],
)
@pytest.mark.parametrize("learn_std", [True, False])
def test_sampled_gaussian_gradient_matches_the_exact_lqr_gradient(returns, baseline, learn_std):
    """10^5 episodes, every coordinate within 4 standard errors (an unbiased
    estimator passes each with probability > 0.9999). The action space is
    unbounded, so no clipping biases the score."""
    A = np.array([[1.0, 0.1], [0.0, 0.9]])
    B = np.array([[0.0], [0.2]])
    Q, R = np.eye(2), np.array([[0.5]])
    env = pg.make(
        "LQR",
        A=A,
        B=B,
        Q=Q,
        R=R,
        init_std=1.0,
        noise_std=0.1,
        max_episode_steps=20,
        num_envs=16,
        seed=0,
    )
    assert np.isinf(env.single_action_space.high).all()
    policy = pg.LinearGaussian(
        pg.features.Identity(2),
        1,
        log_std=np.log(0.5),
        learn_std=learn_std,
        theta=[[-0.3], [-0.8], [0.1]],
    )
    algo = pg.Reinforce(env, policy, gamma=0.95, returns=returns, baseline=baseline, seed=1)
    estimate, stderr = algo.gradient(100_000, return_stderr=True)
    truth_theta, truth_log_std = exact.lqr_gradient(env, policy, 0.95)
    if learn_std:
        (g_theta, g_log_std), (se_theta, se_log_std) = estimate, stderr
        z = np.abs(g_log_std - truth_log_std) / se_log_std
        assert (z < 4).all(), f"log_std: z {z}, estimate {g_log_std}, exact {truth_log_std}"
    else:
        g_theta, se_theta = estimate, stderr
    z = np.abs(g_theta - truth_theta) / se_theta
    assert (z < 4).all(), f"theta: z {z}, estimate {g_theta}, exact {truth_theta}"
