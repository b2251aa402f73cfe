"""Slow, obvious Python twins of the engine's arithmetic (ref_*), for the tests."""

from __future__ import annotations

import numpy as np


def ref_reward_to_go(rewards, gamma, bootstrap=0.0):
    """G_t = sum_{k>=t} gamma^(k-t) r_k + gamma^(T-t) bootstrap, term by term."""
    T = len(rewards)
    return np.array([
        sum(gamma ** (k - t) * rewards[k] for k in range(t, T)) + gamma ** (T - t) * bootstrap
        for t in range(T)
    ])


def ref_discounted_return(rewards, gamma, bootstrap=0.0):
    T = len(rewards)
    return sum(gamma**k * rewards[k] for k in range(T)) + gamma**T * bootstrap


def ref_gae(rewards, values, gamma, lam, bootstrap=0.0):
    """A_t = sum_l (gamma lam)^l delta_{t+l}, with V(s_T) = bootstrap."""
    T = len(rewards)
    v = list(values) + [bootstrap]
    delta = [rewards[t] + gamma * v[t + 1] - v[t] for t in range(T)]
    return np.array([sum((gamma * lam) ** (k - t) * delta[k] for k in range(t, T))
                     for t in range(T)])


def ref_softmax_log_prob(phi, theta, action):
    z = phi @ theta
    return z[action] - np.log(np.sum(np.exp(z)))


def ref_gaussian_log_prob(phi, theta, log_std, action):
    mu = phi @ theta
    sigma = np.exp(log_std)
    return float(np.sum(-0.5 * ((action - mu) / sigma) ** 2 - np.log(sigma)
                        - 0.5 * np.log(2 * np.pi)))
