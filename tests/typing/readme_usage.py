"""What the README shows, type-checked with ``mypy --strict`` by .ci/typecheck:
every line here must pass, and each ``type: ignore`` must be needed (strict
mode reports an unused one), so that a typo in a string choice stays a type error.
Not run (it would train); see tests/test_docs.py for the README's examples running."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pgfast as pg


def readme_usage() -> float:
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    algo = pg.Reinforce(
        gym.make("CartPole-v1"), policy, returns="reward_to_go", baseline="mean", optimizer="adam"
    )
    pg.Reinforce("CartPole-v1", policy, optimizer="natural", fisher="exact", update="batch")
    pg.Reinforce(pg.make("CartPole-v1", num_envs=16, seed=0), policy, seed=0)
    history: pg.History = algo.train(iterations=3, target_return=475)
    returns: np.ndarray = pg.evaluate(gym.make("CartPole-v1"), policy, episodes=10)
    lengths: np.ndarray = pg.evaluate("CartPole-v1", policy, episodes=10, return_lengths=True)[1]
    pg.Reinforce("CartPole-v1", policy, optimizer="adamm")  # type: ignore[arg-type]
    pg.Reinforce("CartPole-v1", policy, baseline="average")  # type: ignore[arg-type]
    return float(history["return_mean"][-1] + returns.mean() + lengths.mean())
