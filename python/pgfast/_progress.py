"""The progress line of training, shared by ``Reinforce.train(progress=True)``
and ``pgfast train``."""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, otherwise a
    line every ~10% of the iterations.

    Call it with each iteration's statistics (it can serve as a
    ``Reinforce.train`` callback: it never asks to stop); it keeps them in
    ``rows``. Call :meth:`close` when training ends.
    """

    def __init__(
        self, iterations: int, enabled: bool = True, stream: IO[str] | None = None
    ) -> None:
        self.iterations = iterations
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.rows: list[dict[str, float]] = []
        self.steps = 0
        self.start = time.perf_counter()
        self.last = -1.0
        self.every = max(1, iterations // 10)
        self.open_line = False
        self.width = 0

    def __call__(self, stats: dict[str, float]) -> bool:
        self.update(stats)
        return False

    def update(self, stats: dict[str, float], final: bool = False) -> None:
        """Record an iteration; print if it is time to (always if ``final``)."""
        self.rows.append(dict(stats))
        self.steps += int(stats.get("env_steps", 0))
        if not self.enabled:
            return
        k = len(self.rows)
        now = time.perf_counter() - self.start
        if self.tty:
            if now - self.last >= 0.1 or k == self.iterations or final:
                self.last = now
                self._print(k, stats, now, end="")
        elif k % self.every == 0 or k == 1 or final:
            self._print(k, stats, now, end="\n")

    def _print(self, k: int, stats: dict[str, float], now: float, end: str) -> None:
        width = 24
        filled = int(width * k / max(self.iterations, 1))
        bar = "#" * filled + "-" * (width - filled)
        recent = [r["return_mean"] for r in self.rows[-10:]]
        running = sum(recent) / len(recent)
        line = (
            f"[{bar}] {k}/{self.iterations}  return {stats['return_mean']:.4g} "
            f"(last 10: {running:.4g})  {self.steps} steps  {now:.1f}s"
        )
        if self.tty:  # overwrite the previous line, padding over what it had beyond ours
            line, self.width = "\r" + line.ljust(self.width), len(line)
        print(line, end=end, file=self.stream, flush=True)
        self.open_line = self.tty

    def close(self) -> None:
        """End the line a terminal's bar was drawn on."""
        if self.enabled and self.open_line:
            print(file=self.stream, flush=True)
            self.open_line = False
