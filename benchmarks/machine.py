"""The machine a benchmark runs on: what it is, what it runs, pinning, waiting for idle CPUs.

Import this module before NumPy: importing it sets one BLAS thread (see below).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import pathlib
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

# One BLAS thread, set before NumPy loads OpenBLAS: every peer is measured on one
# pinned core, but OpenBLAS starts its worker threads at import (before the pinning)
# and they spin after each call, taking the core from whatever runs next (the C++
# ceiling, run right after the NumPy reference, measured at about half its speed).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = pathlib.Path(__file__).resolve().parent


def version_of(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


@contextlib.contextmanager
def affinity(cpus: set[int] | None) -> Iterator[None]:
    """Run the block (and the subprocesses and engine threads it starts) on ``cpus``.
    Linux applies the mask to the calling thread, which the others inherit."""
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        cpuinfo = pathlib.Path("/proc/cpuinfo").read_text()
        models = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ]
        info["cpu_model"] = models[0] if models else platform.processor() or "?"
        flags = next(
            (
                line.split(":", 1)[1].split()
                for line in cpuinfo.splitlines()
                if line.startswith("flags")
            ),
            [],
        )
        info["cpu_simd"] = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in flags]
        info["virtualised"] = "hypervisor" in flags
        mhz = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("cpu MHz")
        ]
        info["cpu_mhz"] = float(mhz[0]) if mhz else None
    except OSError:
        info["cpu_model"] = platform.processor() or "?"
    info["logical_cpus"] = os.cpu_count()
    if hasattr(os, "sched_getaffinity"):
        info["cpus_available"] = sorted(os.sched_getaffinity(0))
    try:
        meminfo = pathlib.Path("/proc/meminfo").read_text()
        kib = int(
            next(line.split()[1] for line in meminfo.splitlines() if line.startswith("MemTotal"))
        )
        info["memory_gib"] = round(kib / 2**20, 2)
    except (OSError, StopIteration, ValueError):
        info["memory_gib"] = None
    os_name = platform.system()
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    info["os"] = os_name
    info["kernel"] = platform.release()
    info["platform"] = platform.platform()
    info["machine"] = platform.machine()
    info["python"] = f"{platform.python_implementation()} {platform.python_version()}"
    info["python_executable"] = sys.executable
    try:
        cxx = os.environ.get("CXX", "g++")
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
        info["cxx"] = out.stdout.splitlines()[0] if out.stdout else None
    except OSError:
        info["cxx"] = None
    repo = HERE.parent
    if (repo / ".git").exists():
        git = ["git", "-C", str(repo)]
        with contextlib.suppress(OSError):
            head = subprocess.run(
                [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
            ).stdout.strip()
            dirty = subprocess.run(
                [*git, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            info["git_commit"] = head or None
            info["git_dirty"] = bool(dirty)
    info["load_average_at_start"] = load_average()
    return info


def package_versions() -> dict[str, str | None]:
    import pgfast

    ext = getattr(pgfast._core, "__file__", None)
    out = {
        "pgfast": pgfast.__version__,
        "pgfast_extension": ext,
        "pgfast_extension_built": datetime.datetime.fromtimestamp(
            os.path.getmtime(ext), datetime.timezone.utc
        ).isoformat(timespec="seconds")
        if ext
        else None,
    }
    for dist in ("numpy", "gymnasium", "scipy"):
        out[dist] = version_of(dist)
    return out


def busy_cpus(seconds: float = 0.5) -> float | None:
    """CPUs' worth of work done by *other* processes over ``seconds`` while this one
    sleeps (from /proc/stat), or None where /proc/stat is missing."""

    def sample() -> tuple[int, int]:
        fields = [
            int(x) for x in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
        ]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError):
        return None
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return (1.0 - (i1 - i0) / max(t1 - t0, 1)) * n


def wait_for_free_cores(max_wait: float, threshold: float = 0.25) -> dict:
    """Wait up to ``max_wait`` s for other processes to use less than ``threshold`` CPUs
    (the thread-scaling figures need the second core); returns what was seen."""
    start = time.perf_counter()
    load = busy_cpus()
    while load is not None and load > threshold and time.perf_counter() - start < max_wait:
        time.sleep(2.0)
        load = busy_cpus()
    return {"other_busy_cpus": load, "waited_s": time.perf_counter() - start}


def cpu_seconds() -> float:
    """CPU time of this process, every thread (user + system), in fine resolution."""
    return time.process_time()


def resolve_pin(cpu: int | None, error: Callable[[str], Any]) -> tuple[int, set[int] | None]:
    """The CPU that one-core figures are pinned to (``--cpu``; None: the lowest this process
    may use, -1: none) and the set to pin to; ``error`` reports an impossible choice."""
    can_pin = hasattr(os, "sched_setaffinity")
    if cpu is None:
        cpu = min(os.sched_getaffinity(0)) if can_pin else -1
    if cpu < 0:
        return cpu, None
    if not can_pin:
        error("--cpu needs Linux (sched_setaffinity); pass --cpu -1")
    if cpu not in os.sched_getaffinity(0):
        error(f"--cpu {cpu} is not one of this process's CPUs {sorted(os.sched_getaffinity(0))}")
    return cpu, {cpu}
