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


def smooth(values: Any, window: int) -> np.ndarray:
    """The trailing mean of the last ``window`` values at each point (fewer at the start)."""
    v = np.asarray(values, dtype=float)
    sums = np.concatenate([[0.0], np.cumsum(v)])
    idx = np.arange(1, len(v) + 1)
    start = np.maximum(idx - window, 0)
    return (sums[idx] - sums[start]) / (idx - start)


def plot_learning_curve(
    path: Path,
    rows: list[dict[str, float]],
    title: str,
    target: float | None = None,
    evaluation: float | None = None,
    interrupted: bool = False,
) -> str | None:
    """Each update's mean return (faint) and its trailing mean over ~1/25 of the
    run (bold) against env steps, the target, the greedy evaluation after
    training, and a mark where an interrupted run stopped; a PNG. Returns a
    reason if the plot was skipped (matplotlib missing, nothing to plot)."""
    if not rows:
        return "no iterations to plot"
    steps = np.cumsum([r["env_steps"] for r in rows])
    mean = np.array([r["return_mean"] for r in rows])
    window = max(1, len(rows) // 25)

    def draw(ax: Any) -> None:
        ax.plot(steps, mean, color="C0", linewidth=0.8, alpha=0.35, label="each update's mean")
        if window > 1:
            label = f"mean of the last {window} updates"
            ax.plot(steps, smooth(mean, window), color="C0", linewidth=1.8, label=label)
        if target is not None:
            ax.axhline(target, color="C3", linestyle="--", linewidth=1, label=f"target {target:g}")
        if evaluation is not None:
            ax.scatter([steps[-1]], [evaluation], color="C2", marker="*", s=120, zorder=3,
                       label=f"greedy evaluation {evaluation:.4g}")  # fmt: skip
        if interrupted:
            ax.axvline(steps[-1], color="0.4", linestyle=":", linewidth=1.2, label="interrupted")

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
