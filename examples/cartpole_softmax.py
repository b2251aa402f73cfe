"""CartPole-v1 with a linear softmax policy on Identity features.

    python examples/cartpole_softmax.py

REINFORCE with reward-to-go, a mean baseline and Adam solves CartPole in a
few dozen updates (tens of milliseconds of training).
"""

from __future__ import annotations

import argparse

import numpy as np

import pgfast as pg


def main(iterations: int = 300, seed: int = 0) -> float:
    env = pg.make("CartPole-v1", num_envs=16, seed=seed)
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    algo = pg.Reinforce(
        env,
        policy,
        lr=0.05,
        gamma=0.99,
        episodes_per_update=16,
        returns="reward_to_go",
        baseline="mean",
        optimizer="adam",
        seed=seed,
    )
    history = algo.train(iterations, target_return=475)
    returns = pg.evaluate(env, policy, episodes=100, seed=seed)
    print(
        f"{history.iterations} updates, {int(history['env_steps'].sum())} env steps, "
        f"{history['wall_time'][-1] * 1000:.1f} ms; evaluation: mean return "
        f"{np.mean(returns):.1f} over 100 episodes"
    )
    return float(np.mean(returns))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.iterations, args.seed)
