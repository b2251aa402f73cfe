"""CliffWalking: the vanilla policy gradient keeps to the safe path, the natural
gradient finds the optimal one.

A tabular softmax policy trained two ways on the same batches' worth of data:
REINFORCE with Adam (the stochastic policy pays for every slip into the cliff,
so it learns the path along the top row, -17) and the natural gradient with the
exact Fisher matrix and a trust region (the optimal path along the cliff, -13).
Softmax policy gradients can linger for a long time on plateaus that the natural
gradient crosses quickly (Agarwal, Kakade, Lee and Mahajan 2021). The returns
printed are the greedy policies', computed exactly by ``pg.exact``.

    python examples/cliff_natural_gradient.py     # writes cliff_natural_gradient.png
"""

from __future__ import annotations

import numpy as np

import pgfast as pg

SETTINGS = {
    "vanilla (Adam)": {"lr": 0.2, "episodes_per_update": 16, "baseline": "value"},
    "natural (exact Fisher, max_kl 0.05)": {
        "episodes_per_update": 32,
        "optimizer": "natural",
        "fisher": "exact",
        "max_kl": 0.05,
        "baseline": "time",
    },
}


def greedy_return(mdp: pg.TabularMDP, policy: pg.LinearSoftmax) -> float:
    """The exact return of the policy that always takes its most probable action."""
    theta = np.zeros_like(policy.theta)
    theta[np.arange(theta.shape[0]), policy.theta.argmax(axis=1)] = 50.0
    return pg.exact.objective(mdp, policy, 1.0, theta=theta)


def main(
    iterations: int = 400, seed: int = 0, out: str | None = "cliff_natural_gradient.png"
) -> dict[str, float]:
    """Each method's greedy return after ``iterations`` updates (and the figure)."""
    results, curves = {}, {}
    for name, settings in SETTINGS.items():
        env = pg.make("CliffWalking-v1", num_envs=16, seed=seed)
        policy = pg.LinearSoftmax(pg.features.OneHot(48), n_actions=4)
        algo = pg.Reinforce(env, policy, gamma=1.0, seed=seed, **settings)
        history = algo.train(iterations)
        results[name] = greedy_return(env.mdp, policy)
        curves[name] = (np.cumsum(history["env_steps"]), history["return_mean"])
        print(f"{name}: greedy return {results[name]:.0f}")
    if out:
        draw(out, curves, results)
    return results


def draw(out: str, curves: dict, results: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for k, (name, (steps, returns)) in enumerate(curves.items()):
        ax.plot(
            steps, returns, color=f"C{k}", linewidth=1, label=f"{name}: greedy {results[name]:.0f}"
        )
    ax.axhline(-13, color="0.3", linestyle="--", linewidth=1, label="optimal path (-13)")
    ax.axhline(-17, color="0.6", linestyle=":", linewidth=1, label="safe path (-17)")
    ax.set_ylim(-120, 0)
    ax.set(
        xlabel="environment steps",
        ylabel="mean return of the batch",
        title="CliffWalking-v1: vanilla vs natural policy gradient",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


if __name__ == "__main__":
    main()
