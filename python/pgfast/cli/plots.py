"""The learning curve ``pgfast train`` draws (matplotlib, optional)."""

from __future__ import annotations

from pathlib import Path


def plot_learning_curve(
    path: Path, rows: list[dict[str, float]], title: str, target: float | None = None
) -> str | None:
    """Mean return vs env steps with a min-max band, as a PNG. Returns a
    reason if the plot was skipped (matplotlib missing, nothing to plot)."""
    if not rows:
        return "no iterations to plot"
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    steps = np.cumsum([r["env_steps"] for r in rows])
    mean = np.array([r["return_mean"] for r in rows])
    low = np.array([r["return_min"] for r in rows])
    high = np.array([r["return_max"] for r in rows])
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    try:
        ax.fill_between(
            steps, low, high, alpha=0.25, color="C0", linewidth=0, label="min-max of batch"
        )
        ax.plot(steps, mean, color="C0", linewidth=1.5, label="mean return")
        if target is not None:
            ax.axhline(target, color="C3", linestyle="--", linewidth=1, label=f"target {target:g}")
        ax.set_xlabel("environment steps")
        ax.set_ylabel("episode return")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return None
