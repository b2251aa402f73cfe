"""FrozenLake-v1: the sampled policy gradient converges to the exact one.

    python examples/frozenlake_gradient.py [--out frozenlake_gradient.png]

For a fixed random softmax policy, estimate grad J from m episodes for
growing m and compare with the policy gradient theorem's exact value
(pg.exact.gradient). The relative error falls like 1/sqrt(m); the plot shows
it for the plain estimator and for reward-to-go with the gamma^t factor and a
mean baseline (lower variance, same mean).
"""

from __future__ import annotations

import argparse

import numpy as np

import pgfast as pg
from pgfast import exact


def main(
    sizes: tuple[int, ...] = (100, 1_000, 10_000, 100_000), out: str | None = None, seed: int = 0
) -> dict[str, list[float]]:
    env = pg.make("FrozenLake-v1", num_envs=16, seed=seed)
    rng = np.random.default_rng(seed)
    policy = pg.LinearSoftmax(
        pg.features.OneHot(16), n_actions=4, theta=rng.normal(scale=0.5, size=(16, 4))
    )
    gamma = 0.95
    truth = exact.gradient(env.mdp, policy, gamma)
    errors: dict[str, list[float]] = {}
    for returns, baseline in (("total", "none"), ("discounted_reward_to_go", "mean")):
        algo = pg.Reinforce(env, policy, gamma=gamma, returns=returns, baseline=baseline, seed=seed)
        label = f"{returns}, baseline {baseline}"
        errors[label] = [
            float(np.linalg.norm(algo.gradient(m) - truth) / np.linalg.norm(truth)) for m in sizes
        ]
        print(
            f"{label:40s} "
            + "  ".join(f"m={m}: {e:.3f}" for m, e in zip(sizes, errors[label], strict=False))
        )
    if out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        for label, errs in errors.items():
            ax.loglog(sizes, errs, "o-", label=label)
        ax.loglog(
            sizes,
            errors[next(iter(errors))][0] * np.sqrt(sizes[0] / np.array(sizes)),
            "k:",
            label="1/sqrt(m)",
        )
        ax.set_xlabel("episodes m")
        ax.set_ylabel("relative error of the estimate")
        ax.set_title("FrozenLake-v1: sampled vs exact gradient")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out, dpi=120)
        print(f"wrote {out}")
    return errors


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="frozenlake_gradient.png")
    args = parser.parse_args()
    main(out=args.out)
