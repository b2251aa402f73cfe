"""benchmarks/run.py --quick as a smoke test: it completes and writes both reports.

Never checks a time or a ratio: the numbers of a shared machine are noise.
(The subprocess timeout only stops a hung run from hanging the test suite.)
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"

MD_SECTIONS = (
    "# pgfast benchmarks",
    "## Machine",
    "## Peers",
    "## Targets",
    "## 1. Env stepping from Python",
    "### CartPole-v1",
    "### Pendulum-v1",
    "## 2. Fused training throughput",
    "## 3. Time to solve CartPole-v1",
    "## 4. Scaling",
    "### Threads",
    "### num_envs",
    "### Episode length",
    "## 5. Memory",
    "## 6. Your own env",
    "### Compile time",
    "## Settings",
)
OWN_ENV_DOORS = (
    "builtin",
    "native",
    "vector_256",
    "vector_16",
    "callback",
    "fourier_builtin",
    "fourier_tree",
    "fourier_direct",
)
PEERS = (
    "pgfast",
    "Gymnasium vector-entry-point env",
    "Gymnasium SyncVectorEnv",
    "EnvPool",
    "NumPy + Gymnasium reference",
    "JAX + gymnax",
    "C++ ceiling",
)


@pytest.fixture(scope="module")
def quick_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess, pathlib.Path]:
    if not RUN.exists():
        pytest.skip("benchmarks/ is not beside the tests (installed package only)")
    out = tmp_path_factory.mktemp("bench")
    result = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=ROOT,
    )
    return result, out


def test_quick_run_completes_and_writes_both_files(quick_run):
    result, out = quick_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "latest.md").is_file()
    assert (out / "latest.json").is_file()
    assert "Traceback" not in result.stderr


def test_markdown_has_every_section_and_peer(quick_run):
    _, out = quick_run
    md = (out / "latest.md").read_text()
    for heading in MD_SECTIONS:
        assert f"\n{heading}" in f"\n{md}", heading
    peers = md.split("## Peers", 1)[1].split("\n## ", 1)[0]
    for peer in PEERS:
        row = next((line for line in peers.splitlines() if line.startswith(f"| {peer} |")), None)
        assert row is not None, peer
        status = row.split("|")[2].strip()
        assert status.startswith(("ok", "missing")), row  # a missing peer says so, with why
        if status == "missing":
            assert row.split("|")[3].strip(), row


def test_json_has_machine_settings_and_every_section(quick_run):
    _, out = quick_run
    data = json.loads((out / "latest.json").read_text())
    for key in ("cpu_model", "logical_cpus", "memory_gib", "os", "python"):
        assert key in data["machine"], key
    for key in ("pgfast", "numpy", "gymnasium"):
        assert data["packages"][key], key
    assert data["settings"]["quick"] is True
    for name in ("stepping", "training", "scaling", "memory", "own_env"):
        assert isinstance(data["sections"][name], dict), (name, data["sections"][name])
    stepping = data["sections"]["stepping"]["tables"]
    assert [r["num_envs"] for r in stepping["CartPole-v1"]] == [1, 16, 256, 4096]
    assert set(stepping) == {"CartPole-v1", "Pendulum-v1"}
    training = data["sections"]["training"]["peers"]
    for key in ("pgfast", "numpy", "pgfast_fourier", "numpy_fourier"):
        assert set(training[key]["steps_per_second"]) >= {"median", "min", "max"}
    for key in ("jax", "ceiling"):  # measured, or a string that says it is missing and why
        assert isinstance(training[key], dict) or training[key].startswith("missing: "), key
    assert {t["status"] for t in data["targets"]} <= {"met", "missed", "not measurable"}
    memory = data["sections"]["memory"]["step"]
    assert memory["iterations"] == 1000
    own = data["sections"]["own_env"]
    assert set(own["doors"]) == set(OWN_ENV_DOORS)
    for key, door in own["doors"].items():  # measured, or missing (numba) with why
        if isinstance(door, str):
            assert door.startswith("missing: "), (key, door)
        else:
            assert set(door["steps_per_second"]) >= {"median", "min", "max"}, key
    for key, diff in own["fourier_check"]["max_abs_diff"].items():
        assert diff <= 1e-12, key  # the Custom maps compute the built-in features
    if isinstance(own["compile"], dict):
        for case in ("no_cache", "cache_cold", "cache_warm"):
            assert set(own["compile"][case]["total_s"]) >= {"median", "min", "max"}, case
    graded = {t["target"] for t in data["targets"]}
    assert any("NativeEnv" in t for t in graded)
