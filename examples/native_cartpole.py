"""CartPole written in plain Python, compiled by numba, stepped by pgfast's C++ engine.

The same dynamics as Gymnasium's CartPole-v1, operation for operation, so that the
two agree bit for bit (tests/test_native_env.py checks it). Run it:

    pip install "pgfast-rl[numba]"
    python examples/native_cartpole.py
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

import pgfast as pg

GRAVITY, MASSCART, MASSPOLE, LENGTH, FORCE_MAG, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TOTAL_MASS = MASSPOLE + MASSCART
POLEMASS_LENGTH = MASSPOLE * LENGTH
X_THRESHOLD = 2.4
THETA_THRESHOLD = 12 * 2 * math.pi / 360


def reset(state, u):
    # Gymnasium draws the initial state uniformly in [-0.05, 0.05).
    for k in range(4):
        state[k] = -0.05 + 0.1 * u[k]


def step(state, action, u):
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    force = FORCE_MAG if action[0] == 1 else -FORCE_MAG
    costheta, sintheta = math.cos(theta), math.sin(theta)
    temp = (force + POLEMASS_LENGTH * theta_dot**2 * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * costheta**2 / TOTAL_MASS)
    )
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    state[0] = x + TAU * x_dot
    state[1] = x_dot + TAU * xacc
    state[2] = theta + TAU * theta_dot
    state[3] = theta_dot + TAU * thetaacc
    terminated = (
        state[0] < -X_THRESHOLD
        or state[0] > X_THRESHOLD
        or state[2] < -THETA_THRESHOLD
        or state[2] > THETA_THRESHOLD
    )
    return 1.0, terminated


def observe(state, obs):
    for k in range(4):
        obs[k] = state[k]  # float64 -> float32, as Gymnasium's observation


HIGH = np.array([X_THRESHOLD * 2, np.inf, THETA_THRESHOLD * 2, np.inf], dtype=np.float32)

CARTPOLE = pg.NativeEnv(
    "NativeCartPole-v1",
    reset=reset,
    step=step,
    observe=observe,
    state_dim=4,
    observation_space=gym.spaces.Box(-HIGH, HIGH, dtype=np.float32),
    action_space=gym.spaces.Discrete(2),
    max_episode_steps=500,
    reset_uniforms=4,
)


def main(iterations: int = 100) -> float:
    """Train on the native CartPole; returns the mean return of the last 10 updates."""
    env = pg.make(CARTPOLE, num_envs=16, seed=0)
    print(pg.envs.describe_backend(env))
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    algo = pg.Reinforce(env, policy, lr=0.05, episodes_per_update=32, seed=0)
    history = algo.train(iterations=iterations)
    mean = float(np.mean(history["return_mean"][-10:]))
    print(f"mean return, last 10 updates: {mean:.1f}")
    return mean


if __name__ == "__main__":
    main()
