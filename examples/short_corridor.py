"""Sutton & Barto's short corridor with switched actions (Example 13.1 and Figure 13.1).

Three non-terminal states look the same to the agent (its only feature is a
constant), so the policy is one probability p of going right, in every state.
In the second state the actions are switched. The best deterministic policies
never reach the goal, the best stochastic one does: the exact objective J(p),
computed by ``pg.exact``, peaks at about -11.6 for p about 0.59. REINFORCE
(one episode per update, no baseline, gamma = 1) climbs to it; the figure shows
both, as the book's Example 13.1 and Figure 13.1 do.

    python examples/short_corridor.py          # writes short_corridor.png
"""

from __future__ import annotations

import math

import numpy as np

import pgfast as pg

LEFT, RIGHT = 0, 1
#: The step sizes of the book's Figure 13.1.
STEP_SIZES = (2.0**-12, 2.0**-13, 2.0**-14)


def corridor() -> pg.TabularMDP:
    """States 0, 1 (switched), 2 and the goal 3; -1 per step."""
    P = np.zeros((4, 2, 4))
    P[0, LEFT, 0] = P[0, RIGHT, 1] = 1.0
    P[1, LEFT, 2] = P[1, RIGHT, 0] = 1.0  # switched
    P[2, LEFT, 1] = P[2, RIGHT, 3] = 1.0
    P[3, :, 3] = 1.0
    terminal = np.array([False, False, False, True])
    return pg.TabularMDP(P, np.full((4, 2), -1.0), [1.0, 0, 0, 0], terminal, name="ShortCorridor")


def policy(p_right: float) -> pg.LinearSoftmax:
    """The same probability of going right in every state: one constant feature."""
    theta = [[math.log(1 - p_right), math.log(p_right)]]
    return pg.LinearSoftmax(pg.features.Table(np.ones((4, 1))), 2, theta=theta)


def p_right(pol: pg.LinearSoftmax) -> float:
    t = pol.theta[0]
    return float(1.0 / (1.0 + math.exp(t[LEFT] - t[RIGHT])))


def exact_curve(points: int = 999) -> tuple[np.ndarray, np.ndarray]:
    """J(p) = v(start) for p in (0, 1), exactly (a linear solve per p)."""
    mdp = corridor()
    ps = np.linspace(0.01, 0.99, points)
    return ps, np.array([pg.exact.objective(mdp, policy(p), 1.0) for p in ps])


def learning_curves(
    runs: int = 100, episodes: int = 1000, p0: float = 0.05, step_sizes: tuple = STEP_SIZES
) -> dict[float, np.ndarray]:
    """Each step size's return per episode, averaged over runs (seeds 0..runs-1)."""
    env = pg.make(corridor(), seed=0)
    curves = {}
    for alpha in step_sizes:
        total = np.zeros(episodes)
        for seed in range(runs):
            pol = policy(p0)
            algo = pg.Reinforce(
                env,
                pol,
                lr=alpha,
                gamma=1.0,
                episodes_per_update=1,
                returns="reward_to_go",
                baseline="none",
                optimizer="sgd",
                seed=seed,
            )
            total += algo.train(episodes)["return_mean"]
        curves[alpha] = total / runs
    return curves


def main(
    runs: int = 100, episodes: int = 1000, out: str | None = "short_corridor.png"
) -> tuple[float, float, dict[float, np.ndarray]]:
    """The best p and J exactly, and the learning curves; draws both if ``out``."""
    ps, J = exact_curve()
    best = int(np.argmax(J))
    curves = learning_curves(runs, episodes)
    print(f"exact optimum: J = {J[best]:.3f} at p(right) = {ps[best]:.3f}")
    for alpha, curve in curves.items():
        print(
            f"alpha = 2^{math.log2(alpha):.0f}: mean return over the last 100 episodes "
            f"{curve[-100:].mean():.2f}"
        )
    if out:
        draw(out, ps, J, curves)
    return float(ps[best]), float(J[best]), curves


def draw(out: str, ps: np.ndarray, J: np.ndarray, curves: dict[float, np.ndarray]) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100)
    best = int(np.argmax(J))
    left.plot(ps, J, color="C0")
    left.plot(ps[best], J[best], "o", color="C3", label=f"max {J[best]:.2f} at p = {ps[best]:.2f}")
    left.set_ylim(-100, 0)
    left.set(
        xlabel="probability of right",
        ylabel="J(p) = v(start)",
        title="Example 13.1: the exact objective",
    )
    left.legend(loc="lower center", fontsize="small")
    for k, (alpha, curve) in enumerate(curves.items()):
        right.plot(
            np.arange(1, len(curve) + 1),
            curve,
            color=f"C{k}",
            label=f"alpha = 2^{math.log2(alpha):.0f}",
        )
    right.axhline(J[best], color="0.3", linestyle="--", linewidth=1, label="v*(start)")
    right.set_ylim(-90, -10)
    right.set(
        xlabel="episode",
        ylabel="total reward on episode",
        title="Figure 13.1: REINFORCE, mean of the runs",
    )
    right.legend(loc="lower right", fontsize="small")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


if __name__ == "__main__":
    main()
