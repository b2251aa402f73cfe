"""Grade a run against issue 5's and issue 11's targets, read from ``targets.json`` beside
this file.

Each target names a measurement (a function here, of the run's results and the target's
``args``), a comparison and a threshold; the text, threshold and display of every target
live in the data file. A target whose section was not run is left out; one whose value
could not be measured is "not measurable".
"""

from __future__ import annotations

import json
import operator
import pathlib
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TARGETS_FILE = pathlib.Path(__file__).resolve().parent / "targets.json"
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass
class Measurement:
    """A target's value in this run (None: not measured), the fields its text is formatted
    with, why it is missing, and whether it covers every case the target names."""

    value: float | None
    fields: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    complete: bool = True


def load_targets(path: pathlib.Path = TARGETS_FILE) -> list[dict]:
    targets = json.loads(path.read_text())["targets"]
    for t in targets:
        if t["measurement"] not in MEASUREMENTS:
            raise ValueError(f"{path.name}: {t['id']}: unknown measurement {t['measurement']!r}")
        if t["comparison"] not in COMPARISONS:
            raise ValueError(f"{path.name}: {t['id']}: unknown comparison {t['comparison']!r}")
    return targets


# ---------------------------------------------------------------- measurements
# Each takes the run's sections and a target's args, and returns a Measurement, or
# None when the section it reads was not run (the target is then left out).


def training_ratio(
    sections: dict,
    ratio: str,
    ceiling: str | None = None,
    peer: str | None = None,
    invert: bool = False,
) -> Measurement | None:
    """pgfast's training rate over a peer's (section 2), or its inverse."""
    tr = sections.get("training")
    if not isinstance(tr, dict):
        return None
    r = tr["ratios"]
    v = r.get(ratio)
    if invert:
        v = 1 / v if v else None
    fields = {}
    if ceiling is not None and r.get(ratio) and r.get(ceiling):
        fields["ceiling_vs_reference"] = r[ratio] / r[ceiling]
    return Measurement(v, fields, "" if v or peer is None else str(tr["peers"][peer]))


def solve_time(sections: dict) -> Measurement | None:
    """pgfast's median time to solve CartPole-v1 from train(), in seconds (section 3)."""
    tr = sections.get("training")
    if not isinstance(tr, dict):
        return None
    t = tr["peers"]["pgfast"]["solved_time"]
    if not t:
        return Measurement(None)
    return Measurement(t["median"], {"ms": 1e3 * t["median"], "n": t["n"]})


def stepping_ratio(sections: dict, env: str, num_envs: int, peer: str) -> Measurement | None:
    """pgfast's env.step rate over a peer's at one num_envs (section 1)."""
    st = sections.get("stepping")
    if not isinstance(st, dict):
        return None
    rows = {r["num_envs"]: r for r in st["tables"][env]}
    return Measurement(rows[num_envs][f"ratio_{peer}"] if num_envs in rows else None)


def stepping_worst_ratio(sections: dict, peer: str, name: str) -> Measurement | None:
    """The lowest ratio to a peer over every env and num_envs of section 1 (None unless the
    peer ran at all of them)."""
    st = sections.get("stepping")
    if not isinstance(st, dict):
        return None
    vals = [
        (env_id, r["num_envs"], r[f"ratio_{peer}"])
        for env_id, table in st["tables"].items()
        for r in table
    ]
    got = [v for *_, v in vals if v is not None]
    if not got or len(got) != len(vals):
        first = min(next(iter(st["tables"].values())), key=lambda r: r["num_envs"])
        return Measurement(None, reason=f"{name} {first[peer]}")
    env_id, n, v = min(vals, key=lambda x: x[2])
    return Measurement(v, {"env": env_id, "num_envs": n})


def thread_speedup(sections: dict, episodes: list[int]) -> Measurement | None:
    """The slowest 2-thread over 1-thread training speed-up (section 4), complete only if
    measured at every batch of ``episodes``."""
    sc = sections.get("scaling")
    if not isinstance(sc, dict):
        return None
    trows = [r for r in sc["threads"] if r["workload"] == "training"]
    unmeasured = [n for n in episodes if n not in {r["episodes_per_update"] for r in trows}]
    fields = {
        "speedups": ", ".join(
            f"{r['speedup']:.2f}x at {r['episodes_per_update']} episodes" for r in trows
        ),
        "unmeasured": ", ".join(map(str, unmeasured)),
        "cpu_per_wall": ", ".join(f"{r['threads_2']['cpu_per_wall']:.2f}" for r in trows),
        "other_busy": ", ".join(
            "?" if r.get("other_busy_cpus") is None else f"{r['other_busy_cpus']:.2f}"
            for r in trows
        ),
    }
    slowest = min(trows, key=lambda r: r["speedup"]) if trows else None
    return Measurement(slowest["speedup"] if slowest else None, fields, complete=not unmeasured)


def memory_growth(sections: dict, mode: str) -> Measurement | None:
    """Growth of peak RSS (VmHWM) from iteration 100 to the end, in MiB (section 5)."""
    mem = sections.get("memory")
    if not isinstance(mem, dict) or not isinstance(mem.get(mode), dict):
        return None
    g = mem[mode].get("growth_100_to_end_mib")
    return Measurement(g["vm_hwm"], {"rss": g["vm_rss"]}) if g else Measurement(None)


def own_env_ratio(sections: dict, ratio: str, doors: list[str]) -> Measurement | None:
    """One door's training rate over another's (section 6). Every ratio of the section
    is a field, so a note can quote another; ``doors``: the rows whose reason (missing,
    failed) is given when the ratio could not be measured."""
    oe = sections.get("own_env")
    if not isinstance(oe, dict):
        return None
    v = oe["ratios"].get(ratio)
    why = "; ".join(f"{d}: {oe['doors'][d]}" for d in doors if isinstance(oe["doors"].get(d), str))
    return Measurement(v, dict(oe["ratios"]), "" if v else why)


def distributed_ratio(sections: dict, ratio: str) -> Measurement | None:
    """Section 7: 2 Ray workers over 1 process of 2 threads at the largest batch
    (``ray_vs_threads``), or run_many's speedup over sequential runs."""
    d = sections.get("distributed")
    if not isinstance(d, dict):
        return None
    last = d["rows"][-1]
    fields = {
        "ray_vs_threads": last["ray_over_local"],
        "episodes": last["episodes"],
        "run_many": d["run_many"]["speedup"],
        "runs": d["run_many"]["runs"],
    }
    return Measurement(fields[ratio], fields, "")


MEASUREMENTS: dict[str, Callable[..., Measurement | None]] = {
    f.__name__: f
    for f in (
        training_ratio,
        solve_time,
        stepping_ratio,
        stepping_worst_ratio,
        thread_speedup,
        memory_growth,
        own_env_ratio,
        distributed_ratio,
    )
}


# ---------------------------------------------------------------- grading


def _format(template: str, fields: dict[str, Any]) -> str | None:
    """``template`` with ``fields``, or None if it names a field that is missing or None."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if any(fields.get(name) is None for name in names):
        return None
    return template.format(**fields)


def grade(target: dict, m: Measurement) -> dict:
    """One row of the report: the target, its value, how it shows, status and note."""
    v = m.value
    fields = {**m.fields, "v": v, "pct": None if v is None else 100 * v}
    ok: bool | None = None
    if v is not None:
        ok = COMPARISONS[target["comparison"]](v, target["threshold"])
        if ok and not m.complete:
            ok = None  # met where measured, but not measured everywhere the target asks
    shown = _format(target["shown"] if v is not None else target.get("shown_missing", "-"), fields)
    if shown is None:
        shown = "-"
    note = _format(target.get("note", ""), fields) or ""
    if not m.complete and "note_incomplete" in target:
        note = (_format(target["note_incomplete"], fields) or "") + note
    if v is None and m.reason:
        note = m.reason
    status = "not measurable" if ok is None else ("met" if ok else "missed")
    return {"target": target["text"], "value": v, "measured": shown, "status": status, "note": note}


def evaluate_targets(res: dict, targets: list[dict] | None = None) -> list[dict]:
    """The targets against this run's numbers: met, missed or not measurable."""
    rows = []
    for target in load_targets() if targets is None else targets:
        m = MEASUREMENTS[target["measurement"]](res["sections"], **target.get("args", {}))
        if m is not None:
            rows.append(grade(target, m))
    return rows
