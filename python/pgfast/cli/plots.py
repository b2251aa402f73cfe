"""The figures the CLI draws (matplotlib, optional): ``train``'s learning curve and
``sweep``'s summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _draw(path: Path, xlabel: str, title: str, draw: Callable[[Any], None]) -> str | None:
    """A 7 x 4.2 inch PNG of returns, its axes filled by ``draw(ax)``. Returns a
    reason if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    try:
        draw(ax)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("episode return")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return None


def plot_learning_curve(
    path: Path, rows: list[dict[str, float]], title: str, target: float | None = None
) -> str | None:
    """Mean return vs env steps with a min-max band, as a PNG. Returns a
    reason if the plot was skipped (matplotlib missing, nothing to plot)."""
    if not rows:
        return "no iterations to plot"
    steps = np.cumsum([r["env_steps"] for r in rows])
    mean = np.array([r["return_mean"] for r in rows])
    low = np.array([r["return_min"] for r in rows])
    high = np.array([r["return_max"] for r in rows])

    def draw(ax: Any) -> None:
        ax.fill_between(
            steps, low, high, alpha=0.25, color="C0", linewidth=0, label="min-max of batch"
        )
        ax.plot(steps, mean, color="C0", linewidth=1.5, label="mean return")
        if target is not None:
            ax.axhline(target, color="C3", linestyle="--", linewidth=1, label=f"target {target:g}")

    return _draw(path, "environment steps", title, draw)


def plot_sweep(path: Path, curves: dict[float, list[list[float]]], env_id: str) -> str | None:
    """Per step size, the mean over seeds of each iteration's mean return and its
    min-max band. A run that stopped early (target reached) holds its last value."""
    if not any(curves.values()):
        return "no iterations to plot"

    def draw(ax: Any) -> None:
        for k, (lr, runs) in enumerate(sorted(curves.items())):
            n = max(len(c) for c in runs)
            padded = np.array([c + [c[-1]] * (n - len(c)) for c in runs if c])
            x = np.arange(1, n + 1)
            ax.fill_between(x, padded.min(0), padded.max(0), color=f"C{k}", alpha=0.2, linewidth=0)
            ax.plot(x, padded.mean(0), color=f"C{k}", label=f"lr {lr:g} ({len(runs)} seeds)")

    return _draw(path, "iteration", f"{env_id}: mean over seeds, min-max band", draw)
