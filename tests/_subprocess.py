"""Helpers for tests that run code in a fresh interpreter, so that a crash
(segfault, abort, OOM kill) or a hang fails one test instead of killing the
test session, plus the harness the fuzz children use.

Only the standard library is imported at module level: a child imports this
module by putting ``tests/`` on ``sys.path``; hypothesis is imported there.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

#: Virtual memory a child may add to what it had after importing pgfast.
#: A safety net for the machine: an absurd allocation fails with
#: MemoryError instead of waking the OOM killer. It does not hide leaks or
#: slow growth (the leak tests read RSS, far below this).
CHILD_EXTRA_ADDRESS_SPACE = 4 * 1024**3

PRELUDE = f"""
import os, sys, resource
sys.path.insert(0, {TESTS_DIR!r})
"""


def under_asan() -> bool:
    """Whether this process runs with AddressSanitizer's runtime loaded
    (``.ci/sanitize`` preloads it); children inherit it."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return False
    return "libasan" in maps or "libclang_rt.asan" in maps


def describe_returncode(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def run_python(
    code: str,
    *,
    timeout: float,
    args: tuple[str, ...] = (),
    cwd: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) with this interpreter; never raises on a
    non-zero exit (a timeout is reported as returncode -9, SIGKILL)."""
    env = dict(os.environ)
    env.setdefault("PYTHONFAULTHANDLER", "1")  # a crash prints the Python stack
    if under_asan():
        # A huge malloc (numpy's, for a huge array) fails with NULL, hence
        # MemoryError, instead of an ASan report that aborts.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":allocator_may_return_null=1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra_env or {})
    try:
        return subprocess.run(
            [sys.executable, "-c", PRELUDE + textwrap.dedent(code), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return subprocess.CompletedProcess(
            exc.cmd, -signal.SIGKILL, out, err + f"\n[timed out after {timeout} s]"
        )


def run_isolated(code: str, *, timeout: float = 120, args: tuple[str, ...] = ()) -> str:
    """Run ``code`` in a fresh interpreter and return its stdout; fail the
    test, with the tail of both streams, unless it exits 0."""
    result = run_python(code, timeout=timeout, args=args)
    assert result.returncode == 0, (
        f"child process failed ({describe_returncode(result.returncode)})\n"
        f"--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-5000:]}"
    )
    return result.stdout


def run_cli(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 300,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m pgfast ARGS`` in a fresh interpreter; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "pgfast", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env={**os.environ, **(extra_env or {})},
    )


def last_json_line(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"the child printed no JSON summary:\n{stdout[-3000:]}")


# --------------------------------------------------------------------- fuzzing
# Runs in the child. Every call the fuzz body makes goes through
# Fuzzer.call, which classifies its outcome. The body never raises, so
# hypothesis runs all max_examples; every distinct problem is collected (with
# the shortest input that showed it) and printed in the summary, instead of
# stopping at the first one. Before each call its input is written to a
# file, so that a crash (which ends the child) names the input that caused it.

ALLOWED = (ValueError, TypeError, IndexError)


def limit_address_space(extra: int = CHILD_EXTRA_ADDRESS_SPACE) -> None:
    """Cap the address space (not under AddressSanitizer, which reserves
    terabytes of shadow memory and dies when an mmap fails)."""
    import resource

    if under_asan():
        return
    with open("/proc/self/status") as f:
        size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (size + extra, size + extra))


def short_repr(value: Any, limit: int = 300) -> str:
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            head = np.array2string(np.asarray(value.flat[:6]), threshold=6) if value.size else "[]"
            return (
                f"ndarray(shape={value.shape}, dtype={value.dtype.str}, "
                f"strides={value.strides}, C={value.flags.c_contiguous}, "
                f"writeable={value.flags.writeable}, head={head})"
            )
        if isinstance(value, (list, tuple)):
            inner = ", ".join(short_repr(v, 80) for v in value[:8])
            text = f"[{inner}{', ...' if len(value) > 8 else ''}]"
            return text if isinstance(value, list) else f"({text})"
        if isinstance(value, dict):
            return (
                "{"
                + ", ".join(f"{k!r}: {short_repr(v, 80)}" for k, v in list(value.items())[:12])
                + "}"
            )
        text = repr(value)
    except Exception as exc:  # a hostile __repr__
        text = f"<unrepresentable {type(value).__name__}: {exc}>"
    return text if len(text) <= limit else text[:limit] + "..."


def _signature(label: str, exc: BaseException | str) -> str:
    if isinstance(exc, str):
        return f"{label}: {exc}"
    message = re.sub(r"\d[\d.]*", "N", str(exc).splitlines()[0] if str(exc) else "")
    message = re.sub(r"\b[KMGTPE]iB\b", "B", message)[:70]
    return f"{label}: {type(exc).__name__}: {message}"


class Fuzzer:
    """Classifies the outcome of each call made by a fuzz body.

    Allowed outcomes: a result; ValueError, TypeError or IndexError;
    MemoryError (a huge size; the child runs under an address-space limit,
    see CHILD_EXTRA_ADDRESS_SPACE); RuntimeError only where the body says it
    is legitimate (``runtime_ok``: training divergence, ``"iteration N:
    ..."``). Anything else, including a warning, is a failure. (The quality
    of messages is tested in test_errors.py and by the targeted tests of
    test_fuzz.py.)
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.cases = 0
        self.calls = 0
        self.outcomes: dict[str, int] = {}
        self.failures: dict[str, str] = {}
        self.slowest: list[tuple[float, str]] = []
        #: Warnings raised by code in this package directory are not counted.
        self.ignore_warnings_from: str | None = None
        self._input_path = os.environ.get("PGFAST_FUZZ_LAST_INPUT")
        self._fd = (
            os.open(self._input_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            if self._input_path
            else None
        )
        self._context: list[str] = []

    # -- recording ------------------------------------------------------------
    def _note_input(self, text: str) -> None:
        if self._fd is not None:
            data = text.encode("utf-8", "replace")
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)

    def fail(self, label: str, problem: BaseException | str, detail: str) -> None:
        sig = _signature(label, problem)
        kept = self.failures.get(sig)
        if kept is None or len(detail) < len(kept):
            self.failures[sig] = detail

    def context(self, text: str) -> None:
        """Describe the objects of the current example (shown with failures)."""
        self._context.append(text)

    # -- calls ----------------------------------------------------------------
    def call(
        self,
        label: str,
        fn: Callable[..., Any],
        *args: Any,
        runtime_ok: Callable[[str], bool] | None = None,
        allowed: tuple[type[BaseException], ...] = (*ALLOWED, MemoryError),
        **kwargs: Any,
    ) -> Any:
        """``fn(*args, **kwargs)``; returns its result, or None if it raised.

        ``allowed``: the exception types that are a correct refusal;
        ``runtime_ok(message)``: whether a RuntimeError is legitimate here.
        """
        import warnings

        self.calls += 1
        shown = ", ".join(
            [short_repr(a) for a in args] + [f"{k}={short_repr(v)}" for k, v in kwargs.items()]
        )
        detail = f"{label}({shown})"
        if self._context:
            detail = " | ".join(self._context) + " | " + detail
        self._note_input(f"{self.name}, case {self.cases}: {detail}")
        result = None
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fn(*args, **kwargs)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                self._count(type(exc).__name__)
                text = str(exc)
                if not isinstance(exc, allowed) and not (
                    isinstance(exc, RuntimeError) and runtime_ok is not None and runtime_ok(text)
                ):
                    self.fail(label, exc, detail)
            else:
                self._count("ok")
        for w in caught:
            if self.ignore_warnings_from and f"/{self.ignore_warnings_from}/" in w.filename:
                continue
            self.fail(label, f"emitted {w.category.__name__}: {w.message}", detail)
        elapsed = time.perf_counter() - start
        if len(self.slowest) < 5 or elapsed > self.slowest[-1][0]:
            self.slowest = sorted([*self.slowest, (round(elapsed, 3), detail[:200])], reverse=True)[
                :5
            ]
        return result

    def _count(self, key: str) -> None:
        self.outcomes[key] = self.outcomes.get(key, 0) + 1

    # -- running ----------------------------------------------------------------
    def run(self, body: Callable[[Any], None], *, max_examples: int) -> None:
        """Run ``body(data)`` on ``max_examples`` derandomized hypothesis examples
        and print the JSON summary; exit 1 if anything failed."""
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import strategies as st

        @settings(
            max_examples=max_examples,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def test(data: Any) -> None:
            self.cases += 1
            self._context = []
            body(data)

        start = time.perf_counter()
        test()
        summary = {
            "name": self.name,
            "max_examples": max_examples,
            "cases": self.cases,
            "calls": self.calls,
            "outcomes": self.outcomes,
            "seconds": round(time.perf_counter() - start, 2),
            "slowest": self.slowest,
            "failures": self.failures,
        }
        print(json.dumps(summary), flush=True)
        sys.exit(1 if self.failures else 0)


def run_fuzz_child(name: str, code: str, *, timeout: float, tmp_path: Any) -> dict[str, Any]:
    """Run a fuzz body in a child; fail with the problems it found, or with
    the input it was running when it crashed or hung. Returns the summary."""
    last_input = os.path.join(str(tmp_path), f"{name}.last_input")
    # cwd: hypothesis keeps a cache in ./.hypothesis, which must not land in the checkout.
    result = run_python(
        code, timeout=timeout, cwd=str(tmp_path), extra_env={"PGFAST_FUZZ_LAST_INPUT": last_input}
    )
    summary = None
    try:
        summary = last_json_line(result.stdout)
    except (AssertionError, ValueError):
        pass
    if summary is not None and summary.get("failures"):
        problems = "\n".join(
            f"- {sig}\n    input: {example}" for sig, example in summary["failures"].items()
        )
        import pytest

        pytest.fail(
            f"{name}: {len(summary['failures'])} kind(s) of bad outcome in "
            f"{summary['cases']} cases ({summary['outcomes']}):\n{problems}",
            pytrace=False,
        )
    if result.returncode != 0 or summary is None:
        crashed_on = "(no call yet: setting up, or hypothesis is missing)"
        if os.path.exists(last_input):
            with open(last_input, encoding="utf-8", errors="replace") as f:
                crashed_on = f.read() or crashed_on
        import pytest

        err = result.stderr
        starts = [i for i in (err.find("Fatal Python error"), err.find("Traceback")) if i >= 0]
        err = err[min(starts) :][:4000] if starts else err[-4000:]
        pytest.fail(
            f"{name}: the fuzz child died ({describe_returncode(result.returncode)}) while "
            f"running:\n  {crashed_on}\n--- stdout ---\n{result.stdout[-2000:]}\n"
            f"--- stderr ---\n{err}",
            pytrace=False,
        )
    return summary
