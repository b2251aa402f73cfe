"""Property-based fuzzing of every public function and constructor.

Each test runs a hypothesis fuzz body in a child interpreter (derandomized,
a fixed number of examples), so that a segfault, an abort or a hang fails
that test instead of killing the run; the child writes each call's input to
a file before making it, and a crash names that input. Every call must end
in a result or in ValueError, TypeError or IndexError (the contract of
issue 6). Also allowed: MemoryError, for the huge sizes the fuzzer passes on
purpose (the child runs under an address-space limit of 4 GiB above its
size after import, see ``tests/_subprocess.py``, so an absurd allocation is
refused instead of waking the OOM killer), and RuntimeError only for a
training run that diverged ("iteration N: ..."). KeyError, OverflowError, AttributeError,
SystemError, RuntimeError elsewhere, any exception from a dependency and
any warning are failures. The body never raises, so every example runs and
the failure message lists each distinct problem with its shortest input.
Each test prints its number of cases, calls and outcomes (pytest -s).

Inputs: shapes around the valid one (dimensions added, removed, off by one,
zero-size) and random ones; zero-stride views of absurd size (2**40 rows,
no memory); dtypes float64/32/16, big-endian '>f8'/'>i8', int, uint64, bool,
object, complex, str, datetime; Fortran-order, strided, reversed and
read-only layouts; NaN, inf, -0.0, the largest floats, negative and
out-of-range integers; and Python lists, scalars, None and strings.
"""

from __future__ import annotations

import textwrap

import pytest
from _subprocess import run_fuzz_child, under_asan

COMMON = r'''
import io, json, math, os, tempfile, zipfile, warnings
import numpy as np
import gymnasium as gym
try:
    import hypothesis
except ImportError:
    raise SystemExit("the fuzz tests need hypothesis: pip install hypothesis")
import hypothesis.strategies as st
import hypothesis.extra.numpy as hnp
import pgfast as pg
from pgfast import _core
from _subprocess import Fuzzer, limit_address_space, under_asan

# Under AddressSanitizer (.ci/sanitize), a C++ `new` that cannot be served
# is a fatal ASan report, not std::bad_alloc: sizes that make the engine
# allocate gigabytes are left out there (numpy's huge allocations still
# fail cleanly), and a third of the examples run (ASan is ~3x slower).
UNDER_ASAN = under_asan()
SCALE = 3 if UNDER_ASAN else 1
NUM_ENVS_CAP = 2**31 + 1 if UNDER_ASAN else 2**31  # the largest accepted is 2**31

NAN, INF = float("nan"), float("inf")
BIG = np.finfo(np.float64).max

DTYPES = [np.dtype(d) for d in ("<f8", "<f4", "<f2", ">f8", ">f4", "<i8", ">i8", "<i4", "|i1",
                                  "|u1", "<u8", "|b1", "|O", "<c16", "<U3", "<M8[s]")]

def elements(dtype):
    k = dtype.kind
    if k == "f":
        info = np.finfo(dtype)
        special = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, NAN, INF, -INF, float(info.max),
                   -float(info.max), float(info.tiny)]
        return st.one_of(st.sampled_from(special),
                         st.floats(width=8 * dtype.itemsize if dtype.itemsize <= 8 else 64))
    if k in "iu":
        info = np.iinfo(dtype)
        return st.one_of(st.sampled_from(sorted({0, 1, 2, 3, int(info.min), int(info.max),
                                                 max(int(info.min), -1)})),
                         st.integers(int(info.min), int(info.max)))
    if k == "b":
        return st.booleans()
    if k == "O":
        return st.one_of(st.none(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=2),
                         st.just([1.0]))
    if k == "c":
        return st.complex_numbers(allow_nan=True, allow_infinity=True)
    if k == "U":
        return st.text(st.characters(exclude_characters="\x00"), max_size=3)
    return hnp.from_dtype(dtype)

def perturbed_shapes(hints):
    hints = [tuple(h) for h in hints]
    def perturb(shape, how, k, size):
        s = list(shape)
        if how == "drop" and s:
            del s[k % len(s)]
        elif how == "add":
            s.insert(k % (len(s) + 1), size)
        elif how == "bump" and s:
            s[k % len(s)] = max(0, s[k % len(s)] + (1 if size % 2 else -1))
        elif how == "zero" and s:
            s[k % len(s)] = 0
        return tuple(s)
    bases = st.sampled_from(hints) if hints else st.just((3,))
    perturbed = st.builds(perturb, bases, st.sampled_from(["drop", "add", "bump", "zero"]),
                          st.integers(0, 3), st.integers(0, 4))
    return st.one_of(bases, perturbed, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                        max_side=4))

HUGE_SHAPES = [(2**40,), (2**40, 1), (1, 2**40), (2**33, 3), (3, 2**33), (2**28, 2**28)]

@st.composite
def arrays(draw, hints=(), dtypes=None, fill=None, huge=True):
    """A numpy array of a shape near one of `hints`, any dtype and layout
    (`huge`: sometimes a zero-stride view of absurd size)."""
    dtype = draw(st.sampled_from(dtypes or DTYPES))
    layout = draw(st.sampled_from(["plain", "plain", "fortran", "strided", "reversed",
                                   "readonly", "broadcast"] + (["huge"] if huge else [])))
    if layout == "huge":
        return np.broadcast_to(np.zeros((), dtype=dtype), draw(st.sampled_from(HUGE_SHAPES)))
    shape = draw(perturbed_shapes(hints))
    if int(np.prod(shape)) > 256:
        shape = (3,)
    el = elements(dtype) if fill is None else fill
    a = draw(hnp.arrays(dtype, shape, elements=el))
    if layout == "fortran":
        a = np.asfortranarray(a)
    elif layout == "strided" and a.ndim:
        a = np.repeat(a, 2, axis=-1)[..., ::2]
    elif layout == "reversed" and a.ndim:
        a = a[::-1]
    elif layout == "readonly":
        a.flags.writeable = False
    elif layout == "broadcast" and a.size:
        a = np.broadcast_to(a.ravel()[:1].reshape(()), shape)
    return a

SCALARS = st.one_of(
    st.sampled_from([None, 0, 1, -1, 2, 3, NUM_ENVS_CAP, 2**63 - 1, 2**63, 2**64, -2**63,
                     2**100, 0.0,
                     -0.0, 0.5, 1.5, -1.5, NAN, INF, -INF, BIG, 1e-320, True, False, "", "x",
                     "3", b"1", np.int64(2), np.uint64(2**64 - 1), np.int8(-1), np.float16(1),
                     np.float32(NAN), np.bool_(True), 1 + 2j, [], (), {}, [[]], [1, [2]]]),
    st.integers(-10, 10), st.floats(allow_nan=True, allow_infinity=True))

def anything(hints=(), valid=None):
    """A valid value (when given) or garbage: arrays near `hints`, scalars, lists."""
    parts = [arrays(hints), SCALARS,
             st.lists(st.one_of(st.floats(), st.integers(-5, 5)), max_size=4),
             st.lists(st.lists(st.floats(allow_nan=False), max_size=3), max_size=3)]
    if valid is not None:
        parts = [valid, valid, *parts]
    return st.one_of(*parts)

def real_floats():
    return st.one_of(st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, BIG, -BIG, NAN, INF,
                                      -INF]),
                     st.floats(-1e6, 1e6))

limit_address_space()
warnings.simplefilter("error")  # outside fz.call too: the body itself must stay clean
'''


def fuzz(name: str, body: str, tmp_path, *, timeout: float = 120) -> dict:
    summary = run_fuzz_child(
        name, COMMON + textwrap.dedent(body), timeout=timeout, tmp_path=tmp_path
    )
    print(
        f"{name}: {summary['cases']} cases, {summary['calls']} calls in "
        f"{summary['seconds']} s, outcomes {summary['outcomes']}; slowest calls:"
    )
    for seconds, call in summary["slowest"]:
        print(f"    {seconds:.3f} s  {call}")
    assert summary["cases"] >= 0.9 * summary["max_examples"], summary
    return summary


# ------------------------------------------------------------------- pg.make

MAKE = r"""
fz = Fuzzer("make")
MAX_EXAMPLES = 1000
IDS = pg.list_envs()
CLASSIC = {i: pg.make(i, seed=0).param_names for i in _core.classic_env_ids()}
MDP = pg.TabularMDP.frozen_lake("4x4", max_episode_steps=20)

NUM_ENVS = st.one_of(st.integers(1, 4), st.sampled_from(
    [0, -1, NUM_ENVS_CAP, 2**31 + 1, 2**40, 2**63, 2**64, True, 2.0, "3", None, np.int64(2),
     np.uint8(3), np.int64(-5)]))
SEEDS = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from(
    [-1, 2**64, 2**100, 1.5, "0", np.uint64(2**64 - 1), np.int8(-1), True, NAN, [0]]))
THREADS = st.one_of(st.integers(1, 3), st.sampled_from([0, -1, 257, 2**40, True, 2.0, None]))
STEPS = st.one_of(st.none(), st.integers(1, 50), st.sampled_from([0, -1, 2**63, 2**64, 1.5,
                                                                    "9", False]))

def matrices(draw, n, m):
    def mat(shape, scale):
        valid = hnp.arrays(np.float64, shape, elements=st.floats(-scale, scale))
        return draw(anything([shape], valid=valid))
    A, B = mat((n, n), 1.0), mat((n, m), 1.0)
    Q = draw(st.one_of(st.just(np.eye(n)), anything([(n, n)])))
    R = draw(st.one_of(st.just(np.eye(m)), anything([(m, m)])))
    return {"A": A, "B": B, "Q": Q, "R": R}

def exercise(env):
    fz.call("reset", env.reset, seed=0)
    space = env.action_space
    space.seed(0)
    for _ in range(3):
        fz.call("step", env.step, space.sample())
    state = fz.call("get_state", env.get_state)
    if state is not None:
        fz.call("set_state", env.set_state, state)
    fz.call("close", env.close)

def body(data):
    draw = data.draw
    which = draw(st.sampled_from(IDS + ["<TabularMDP>", "Bogus-v0", "", "cartpole-v1", "<None>",
                                        "<int>"]))
    env_id = {"<TabularMDP>": MDP, "<None>": None, "<int>": 3}.get(which, which)
    kwargs = {}
    for key, strategy in (("num_envs", NUM_ENVS), ("seed", SEEDS), ("num_threads", THREADS),
                          ("max_episode_steps", STEPS)):
        if draw(st.booleans()):
            kwargs[key] = draw(strategy)
    kwargs.setdefault("seed", 0)
    n = kwargs.get("num_envs", 1)
    n = n if type(n) is int and 1 <= n <= 4 else 2
    if which in CLASSIC:
        for name in draw(st.lists(st.sampled_from(CLASSIC[which] + ["bogus"]), max_size=3,
                                  unique=True)):
            kwargs[name] = draw(st.one_of(real_floats(), anything([(), (n,)])))
    elif which.startswith("FrozenLake") and draw(st.booleans()):
        kwargs["is_slippery"] = draw(st.sampled_from([True, False, 1, None, np.bool_(True),
                                                      "yes"]))
    elif which == "Taxi-v4":
        if draw(st.booleans()):
            kwargs["is_rainy"] = draw(st.sampled_from([True, False, 1, None, np.bool_(True),
                                                       "yes"]))
        if draw(st.booleans()):
            kwargs["rainy_probability"] = draw(st.one_of(st.floats(0, 1), real_floats(),
                                                         anything([()])))
    elif which == "Bandit":
        k = draw(st.integers(0, 4))
        if draw(st.integers(0, 5)):
            kwargs["means"] = draw(anything([(k,)], valid=st.lists(st.floats(-5, 5), min_size=1,
                                                                    max_size=4)))
        if draw(st.booleans()):
            kwargs["stds"] = draw(st.one_of(real_floats(), anything([(k,), ()])))
    elif which == "ContinuousBandit":
        d = draw(st.integers(0, 3))
        if draw(st.integers(0, 5)):
            kwargs["a_star"] = draw(anything([(d,), ()], valid=st.just(np.zeros(max(d, 1)))))
        for key in ("noise_std", "low", "high"):
            if draw(st.booleans()):
                kwargs[key] = draw(st.one_of(real_floats(), anything([(d,), ()])))
    elif which == "LQR":
        if draw(st.integers(0, 5)):
            kwargs.update(matrices(draw, draw(st.integers(0, 3)), draw(st.integers(0, 2))))
        for key in ("init_std", "noise_std"):
            if draw(st.booleans()):
                kwargs[key] = draw(real_floats())
    if draw(st.integers(0, 9)) == 0:
        kwargs["bogus_parameter"] = 1
    fz.context(f"make({which!r}, ...)")
    env = fz.call("make", pg.make, env_id, **kwargs)
    if env is not None:
        exercise(env)

fz.run(body, max_examples=MAX_EXAMPLES // SCALE)
"""


# ------------------------------------------------------------- env methods

ENV_METHODS = r"""
fz = Fuzzer("env_methods")
MAX_EXAMPLES = 600
P = np.zeros((3, 2, 3)); P[:, :, 1] = P[:, :, 2] = 0.5
SMALL = pg.TabularMDP(P, np.ones((3, 2)), [1.0, 0.0, 0.0], [False, False, True],
                      max_episode_steps=5)

def make_envs():
    envs = {i: pg.make(i, num_envs=3, seed=0) for i in _core.classic_env_ids()}
    envs.update({
        "FrozenLake-v1": pg.make("FrozenLake-v1", num_envs=3, seed=0),
        "CliffWalking-v1": pg.make("CliffWalking-v1", num_envs=3, seed=0),
        "Bandit": pg.make("Bandit", num_envs=3, seed=0, means=[0.0, 1.0, 2.0]),
        "ContinuousBandit": pg.make("ContinuousBandit", num_envs=3, seed=0,
                                    a_star=[0.5, -0.5], low=-1.0, high=1.0),
        "LQR": pg.make("LQR", num_envs=3, seed=0, A=np.eye(2), B=[[0.0], [1.0]], Q=np.eye(2),
                       R=np.eye(1), max_episode_steps=10),
        "Tabular": pg.make(SMALL, num_envs=3, seed=0, num_threads=2),
        "Gymnasium": pg.GymnasiumEnv(gym.make("CartPole-v1"), seed=0),
    })
    for env in envs.values():  # Gymnasium's order: reset before step
        env.reset(seed=0)
    return envs

ENVS = make_envs()
NAMES = sorted(ENVS)
# GymnasiumEnv.get_state/set_state raise NotImplementedError (a RuntimeError):
# documented, and Python's convention for an operation a class does not have.
no_state = lambda msg: "has no pgfast state" in msg
SEEDS = st.one_of(st.none(), st.integers(0, 2**64 - 1),
                  st.lists(st.one_of(st.none(), st.integers(0, 2**64 - 1),
                                     st.sampled_from([-1, 2**64, 1.5, "x"])), max_size=4),
                  st.sampled_from([-1, 2**64, 1.5, "0", NAN, np.uint64(7), np.int64(-2),
                                   (0, 1, 2), [0, None, 2]]))

def actions(draw, env):
    n = env.num_envs
    space = env.single_action_space
    if isinstance(space, gym.spaces.Discrete):
        valid = hnp.arrays(draw(st.sampled_from([np.int64, np.int32, np.uint8, np.uint64,
                                                 np.dtype(">i8")])), (n,),
                           elements=st.integers(0, int(space.n) + 1))
        return draw(anything([(n,), (n, 1)], valid=valid))
    d = space.shape[0]
    valid = hnp.arrays(draw(st.sampled_from([np.float64, np.float32, np.float16,
                                             np.dtype(">f8")])), (n, d),
                       elements=st.one_of(st.floats(-3, 3, width=16), st.sampled_from(
                           [NAN, INF, -INF, 65504.0, -65504.0])))
    return draw(anything([(n, d), (n,)], valid=valid))

def states(draw, env):
    try:
        s = env.get_state()
    except Exception:
        s = np.zeros((env.num_envs, 1))
    def spoil(s, how, i, value):
        s = s.copy()
        if s.size:
            if how == "set":
                s.flat[i % s.size] = value
            elif how == "scale":
                with np.errstate(all="ignore"):  # 0 * inf is the point, not a warning
                    s = s * value
        return s
    valid = st.builds(spoil, st.just(s), st.sampled_from(["set", "scale", "none"]),
                      st.integers(0, 100), st.one_of(real_floats(), st.integers(-3, 20)))
    return draw(anything([s.shape], valid=valid))

def body(data):
    draw = data.draw
    name = draw(st.sampled_from(NAMES))
    env = ENVS[name]
    if env._core.closed:
        ENVS[name] = env = make_envs()[name]
    fz.context(name)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["reset", "reset", "step", "step", "step", "set_state",
                                   "get_state", "set_param", "get_param", "elapsed",
                                   "reset_mask", "close"]))
        if op == "reset":
            fz.call("reset", env.reset, seed=draw(SEEDS))
        elif op == "reset_mask":
            mask = draw(anything([(3,)], valid=hnp.arrays(np.bool_, (3,))))
            options = draw(st.sampled_from([{"reset_mask": mask}, {"bogus": 1}, {}, None,
                                            {"reset_mask": mask, "x": 0}]))
            fz.call("reset", env.reset, options=options)
        elif op == "step":
            fz.call("step", env.step, actions(draw, env))
        elif op == "set_state":
            fz.call("set_state", env.set_state, states(draw, env), runtime_ok=no_state)
        elif op == "get_state":
            fz.call("get_state", env.get_state, runtime_ok=no_state)
        elif op == "set_param":
            pname = draw(st.sampled_from([*env.param_names, "bogus", ""]) | SCALARS)
            fz.call("set_param", env.set_param, pname,
                    draw(st.one_of(real_floats(), anything([(), (3,)]))))
        elif op == "get_param":
            pname = draw(st.sampled_from([*env.param_names, "bogus"]) | SCALARS)
            fz.call("get_param", env.get_param, pname)
        elif op == "elapsed":
            fz.call("elapsed_steps", env.elapsed_steps)
        elif op == "close" and draw(st.integers(0, 3)) == 0:
            fz.call("close", env.close)
            fz.call("step-after-close", env.step, actions(draw, env))
            ENVS[name] = env = make_envs()[name]

fz.run(body, max_examples=MAX_EXAMPLES // SCALE)
"""


# ---------------------------------------------------------------- TabularMDP

TABULAR = r'''
fz = Fuzzer("tabular")
MAX_EXAMPLES = 600

@st.composite
def valid_mdp_arrays(draw):
    S, A = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    w = draw(hnp.arrays(np.float64, (S, A, S), elements=st.floats(0, 1)))
    w[..., 0] += 1e-3
    P = w / w.sum(axis=2, keepdims=True)
    R = draw(hnp.arrays(np.float64, draw(st.sampled_from([(S, A), (S, A, S)])),
                        elements=st.floats(-10, 10)))
    initial = np.zeros(S); initial[0] = 1.0
    terminal = np.zeros(S, dtype=bool)
    if S > 1:
        terminal[1:] = draw(hnp.arrays(np.bool_, (S - 1,)))
    return P, R, initial, terminal

class FakeEnv:
    """Looks like a toy-text env: unwrapped.P and unwrapped.initial_state_distrib."""
    def __init__(self, P, initial):
        self.P, self.initial_state_distrib = P, initial
    unwrapped = property(lambda self: self)
    def __repr__(self):
        return f"FakeEnv(P={self.P!r}, initial_state_distrib={self.initial_state_distrib!r})"

transitions = st.lists(st.tuples(st.one_of(st.floats(0, 1), st.sampled_from([NAN, -1.0, 2.0])),
                                 st.integers(-1, 4), st.floats(-5, 5), st.booleans()),
                       max_size=3)
fake_tables = st.one_of(
    st.dictionaries(st.integers(-1, 3), st.dictionaries(st.integers(-1, 2), transitions,
                                                        max_size=3), max_size=4),
    st.sampled_from([{}, {0: {}}, {0: []}, [], None, "P"]))

def body(data):
    draw = data.draw
    kind = draw(st.sampled_from(["init", "init", "init", "frozen_lake", "cliff_walking",
                                 "from_gymnasium"]))
    if kind == "init":
        P, R, initial, terminal = draw(valid_mdp_arrays())
        S, A = P.shape[:2]
        args = [P, R, initial, terminal]
        for k, hint in enumerate([(S, A, S), (S, A), (S,), (S,)]):
            if draw(st.integers(0, 3)) == 0:
                args[k] = draw(anything([hint]))
        kwargs = {}
        if draw(st.booleans()):
            kwargs["max_episode_steps"] = draw(st.one_of(st.none(), st.integers(1, 30),
                                                         SCALARS))
        if draw(st.integers(0, 4)) == 0:
            kwargs["name"] = draw(SCALARS | st.text(max_size=5))
        mdp = fz.call("TabularMDP", pg.TabularMDP, *args, **kwargs)
    elif kind == "frozen_lake":
        mdp = fz.call("frozen_lake", pg.TabularMDP.frozen_lake,
                      draw(st.sampled_from(["4x4", "8x8", "5x5", "", None, 4])),
                      draw(st.sampled_from([True, False, None, "no", 0])),
                      draw(st.one_of(st.none(), st.integers(-2, 30), SCALARS)))
    elif kind == "cliff_walking":
        mdp = fz.call("cliff_walking", pg.TabularMDP.cliff_walking,
                      draw(st.one_of(st.none(), st.integers(-2, 30), SCALARS)))
    else:
        initial = draw(anything([(3,), (4,)], valid=st.just(np.array([1.0, 0, 0, 0]))))
        target = draw(st.one_of(st.builds(FakeEnv, fake_tables, st.just(initial)),
                                st.sampled_from([None, 3, "FrozenLake-v1", object()])))
        mdp = fz.call("from_gymnasium", pg.TabularMDP.from_gymnasium, target)
    if mdp is None or not isinstance(mdp, pg.TabularMDP) or mdp.n_states > 64:
        return
    env = fz.call("make", pg.make, mdp, num_envs=2, seed=0, max_episode_steps=20)
    if env is not None:
        fz.call("reset", env.reset, seed=0)
        for _ in range(3):
            fz.call("step", env.step, draw(hnp.arrays(np.int64, (2,),
                                                       elements=st.integers(0, mdp.n_actions))))
        fz.call("close", env.close)
    policy = pg.LinearSoftmax(pg.features.OneHot(mdp.n_states), mdp.n_actions,
                              theta=draw(hnp.arrays(np.float64, (mdp.n_states, mdp.n_actions),
                                                    elements=st.floats(-50, 50))))
    gamma = draw(st.one_of(st.floats(0, 1), real_floats()))
    horizon = draw(st.one_of(st.none(), st.integers(-1, 50), st.just(math.inf), SCALARS))
    fz.call("exact.objective", pg.exact.objective, mdp, policy, gamma, horizon=horizon)
    fz.call("exact.gradient", pg.exact.gradient, mdp, policy, gamma, horizon=horizon)

fz.run(body, max_examples=MAX_EXAMPLES // SCALE)
'''


# ------------------------------------------------------------------ features

FEATURES = r"""
fz = Fuzzer("features")
MAX_EXAMPLES = 1000
F = pg.features
INTS = st.one_of(st.integers(-2, 6), st.sampled_from([2**24, 2**24 + 1, NUM_ENVS_CAP, 2**40,
                                                      2**63, 2**64,
                                                      True, 2.0, None, "3", np.int64(3),
                                                      np.uint8(2)]))
SPACES = st.sampled_from([gym.spaces.Box(-1, 1, (3,)), gym.spaces.Box(-1, 1, (2, 2)),
                          gym.spaces.Box(-1, 1, (0,)), gym.spaces.Discrete(5),
                          gym.spaces.MultiDiscrete([2, 2])])

def bounds(draw):
    d = draw(st.integers(0, 4))
    lo = draw(hnp.arrays(np.float64, (d,), elements=st.floats(-10, 10)))
    hi = lo + draw(hnp.arrays(np.float64, (d,), elements=st.floats(0.01, 10)))
    spoil = lambda v: draw(anything([(d,), (d + 1,), ()], valid=st.just(v)))
    return spoil(lo), spoil(hi)

def body(data):
    draw = data.draw
    kind = draw(st.sampled_from(["Identity", "OneHot", "Polynomial", "Fourier", "RBF",
                                 "TileCoding", "from_config"]))
    small = st.integers(0, 4)
    if kind == "Identity":
        feats = fz.call(kind, F.Identity, draw(INTS | SPACES))
    elif kind == "OneHot":
        feats = fz.call(kind, F.OneHot, draw(INTS | SPACES))
    elif kind == "Polynomial":
        feats = fz.call(kind, F.Polynomial, draw(INTS | SPACES), draw(small | INTS))
    elif kind == "Fourier":
        lo, hi = bounds(draw)
        feats = fz.call(kind, F.Fourier, draw(small | INTS), lo, hi)
    elif kind == "RBF":
        lo, hi = bounds(draw)
        width = draw(st.one_of(st.none(), real_floats(), SCALARS))
        feats = fz.call(kind, F.RBF, draw(small | INTS), lo, hi, width)
    elif kind == "TileCoding":
        lo, hi = bounds(draw)
        feats = fz.call(kind, F.TileCoding, draw(small | INTS), draw(small | INTS), lo, hi)
    else:
        config = draw(st.one_of(
            st.fixed_dictionaries({"kind": st.sampled_from(["identity", "one_hot", "polynomial",
                                                            "fourier", "rbf", "tile_coding",
                                                            "bogus"])},
                                  optional={"dim": INTS, "n": INTS, "degree": INTS,
                                            "order": INTS, "low": anything([(2,)]),
                                            "high": anything([(2,)]), "width": real_floats(),
                                            "centers_per_dim": INTS, "tilings": INTS,
                                            "tiles_per_dim": INTS, "extra": SCALARS}),
            SCALARS))
        feats = fz.call(kind, F.from_config, config)
    # Built and checked above; too wide to feed observations to (a valid batch of
    # Polynomial(dim=2**40, degree=0), one feature, would be 8 TiB).
    if feats is None or feats.n_features > 10**5 or feats.obs_dim > 10**5:
        return
    d = feats.obs_dim
    fz.context(repr(feats))
    valid = hnp.arrays(np.float64, (draw(st.integers(0, 5)), d), elements=st.floats(-20, 20))
    if kind == "OneHot":
        valid = hnp.arrays(np.int64, (draw(st.integers(0, 5)),),
                           elements=st.integers(-1, feats.n_features))
    for _ in range(draw(st.integers(1, 3))):
        obs = draw(anything([(2, d), (2,), (0, d)], valid=valid))
        out = fz.call("__call__", feats, obs)
        if out is not None and out.shape[1:] != (feats.n_features,):
            fz.fail("__call__", f"returned shape {out.shape}", repr(feats))
    fz.call("repr", repr, feats)
    fz.call("config", feats.config)

fz.run(body, max_examples=MAX_EXAMPLES // SCALE)
"""


# ------------------------------------------------------------------ policies

POLICIES = r"""
fz = Fuzzer("policies")
MAX_EXAMPLES = 1000
FEATS = [pg.features.Identity(3), pg.features.OneHot(4),
         pg.features.Fourier(2, [0.0, 0.0], [1.0, 1.0]),
         pg.features.TileCoding(2, 3, [-1.0], [1.0])]
RNGS = st.one_of(st.integers(0, 2**64), st.sampled_from([-1, 2**130, 1.5, "x",
                                                         np.random.default_rng(0)]))
tmp = tempfile.mkdtemp()

def obs_for(draw, feats, n):
    d = feats.obs_dim
    if isinstance(feats, pg.features.OneHot):
        valid = hnp.arrays(np.int64, (n,), elements=st.integers(-1, feats.n_features))
    else:
        valid = hnp.arrays(np.float64, (n, d), elements=st.one_of(st.floats(-5, 5),
                                                                  real_floats()))
    return draw(anything([(n, d), (n,)], valid=valid))

def body(data):
    draw = data.draw
    gaussian = draw(st.booleans())
    feats = draw(st.sampled_from(FEATS))
    F, k = feats.n_features, draw(st.integers(1, 3))
    args = {"features": feats, "out": k,
            "theta": draw(st.one_of(st.none(), hnp.arrays(np.float64, (F, k), elements=st.one_of(
                st.floats(-1e3, 1e3), st.sampled_from([0.0, 1e150, -1e150, BIG]))))),
            "log_std": draw(st.one_of(st.floats(-30, 30), st.sampled_from([-700.0, 700.0]),
                                      hnp.arrays(np.float64, (k,), elements=st.floats(-30, 30)))),
            "learn_std": draw(st.booleans())}
    garbage = {"features": st.sampled_from([None, "Identity(3)", 3, feats._core]),
               "out": st.sampled_from([0, -1, 2**40, 2**63, True, 2.0, None, "2", np.int64(2)]),
               "theta": anything([(F, k)]), "log_std": anything([(k,), ()]),
               "learn_std": SCALARS}
    for key in draw(st.lists(st.sampled_from(sorted(garbage)), max_size=2, unique=True)):
        args[key] = draw(garbage[key])
    if gaussian:
        policy = fz.call("LinearGaussian", pg.LinearGaussian, args["features"], args["out"],
                         theta=args["theta"], log_std=args["log_std"],
                         learn_std=args["learn_std"])
    else:
        policy = fz.call("LinearSoftmax", pg.LinearSoftmax, args["features"], args["out"],
                         theta=args["theta"])
    if policy is None:
        return
    fz.context(repr(policy))
    A = policy.action_dim if gaussian else policy.n_actions
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.integers(0, 4))
        if gaussian:
            act_valid = hnp.arrays(np.float64, (n, A), elements=st.one_of(st.floats(-5, 5),
                                                                          real_floats()))
        else:
            act_valid = hnp.arrays(np.int64, (n,), elements=st.integers(-1, A))
        op = draw(st.sampled_from(["log_prob", "grad_log_prob", "act", "entropy", "probs",
                                   "mean", "set_theta", "set_log_std", "save"]))
        obs = obs_for(draw, policy.features, n)
        if op in ("log_prob", "grad_log_prob"):
            acts = draw(anything([(n, A), (n,)], valid=act_valid))
            fz.call(op, getattr(policy, op), obs, acts)
        elif op == "act":
            fz.call("act", policy.act, obs, deterministic=draw(st.booleans() | SCALARS),
                    rng=draw(RNGS))
        elif op == "entropy":
            if gaussian:
                fz.call("entropy", policy.entropy)
            else:
                fz.call("entropy", policy.entropy, obs)
        elif op == "probs" and not gaussian:
            fz.call("probs", policy.probs, obs)
            fz.call("log_probs", policy.log_probs, obs)
        elif op == "mean" and gaussian:
            fz.call("mean", policy.mean, obs)
        elif op == "set_theta":
            fz.call("theta=", setattr, policy, "theta", draw(anything(
                [policy.theta.shape], valid=hnp.arrays(np.float64, policy.theta.shape))))
            if not np.isfinite(policy.theta).all():
                fz.fail("theta=", "theta holds non-finite values after the setter", repr(policy))
        elif op == "set_log_std" and gaussian:
            fz.call("log_std=", setattr, policy, "log_std", draw(anything(
                [(A,), ()], valid=st.floats(-30, 30))))
        elif op == "save":
            path = os.path.join(tmp, "p.npz")
            fz.call("save", policy.save, path)
            if os.path.exists(path):
                back = fz.call("load_policy", pg.load_policy, path)
                if back is not None and not np.array_equal(back.theta, policy.theta):
                    fz.fail("save/load", "the reloaded theta differs", repr(policy))
                os.remove(path)

fz.run(body, max_examples=MAX_EXAMPLES // SCALE)
"""


# -------------------------------------------------------- Reinforce and runs

REINFORCE = r"""
fz = Fuzzer("reinforce")
MAX_EXAMPLES = 800
diverged = lambda msg: msg.startswith("iteration ")

def env_policy_pairs():
    lqr = pg.make("LQR", num_envs=2, seed=0, A=[[1.0]], B=[[1.0]], Q=[[1.0]], R=[[1.0]],
                  max_episode_steps=8)
    pairs = {
        "Bandit": (pg.make("Bandit", num_envs=2, seed=0, means=[0.0, 1.0, 5.0]),
                   lambda: pg.LinearSoftmax(pg.features.Identity(1), 3)),
        "FrozenLake": (pg.make("FrozenLake-v1", num_envs=2, seed=0, max_episode_steps=15),
                       lambda: pg.LinearSoftmax(pg.features.OneHot(16), 4)),
        "CartPole": (pg.make("CartPole-v1", num_envs=3, seed=0, max_episode_steps=15,
                             num_threads=2),
                     lambda: pg.LinearSoftmax(pg.features.Identity(4), 2)),
        "CartPoleTiles": (pg.make("CartPole-v1", num_envs=2, seed=1, max_episode_steps=10),
                          lambda: pg.LinearSoftmax(pg.features.TileCoding(
                              2, 3, [-2.4, -3, -0.21, -3.5], [2.4, 3, 0.21, 3.5]), 2)),
        "Pendulum": (pg.make("Pendulum-v1", num_envs=2, seed=0, max_episode_steps=10),
                     lambda: pg.LinearGaussian(pg.features.Identity(3), 1)),
        "ContinuousBandit": (pg.make("ContinuousBandit", num_envs=2, seed=0, a_star=[1.0, -1.0],
                                     low=-2.0, high=2.0),
                             lambda: pg.LinearGaussian(pg.features.Identity(1), 2,
                                                       learn_std=False)),
        "LQR": (lqr, lambda: pg.LinearGaussian(pg.features.Identity(1), 1)),
        "Mismatch": (lqr, lambda: pg.LinearSoftmax(pg.features.Identity(4), 2)),
    }
    if not UNDER_ASAN:
        # 16**4 = 65536 features: far past the dense solves' limit (4096), so
        # natural gradients and value fits must refuse it, while plain
        # training runs (each step computes all 65536 cosines, so larger maps
        # would only make the fuzz slow, not test anything more).
        pairs["CartPoleHugeFeatures"] = (
            pg.make("CartPole-v1", num_envs=2, seed=2, max_episode_steps=5),
            lambda: pg.LinearSoftmax(pg.features.Fourier(
                15, [-2.4, -3, -0.21, -3.5], [2.4, 3, 0.21, 3.5]), 2))
    return pairs

PAIRS = env_policy_pairs()
VALID = {"returns": st.sampled_from(["total", "reward_to_go", "discounted_reward_to_go", "gae"]),
         "baseline": st.sampled_from(["none", "mean", "time", "value", "optimal"]),
         "optimizer": st.sampled_from(["sgd", "adam", "natural"]),
         "fisher": st.sampled_from(["sampled", "exact"]),
         "update": st.sampled_from(["batch", "batch", "online"]),
         "lr": st.sampled_from([1e-3, 0.05, 1.0, 1e3]), "gamma": st.floats(0, 1),
         "gae_lambda": st.floats(0, 1), "episodes_per_update": st.integers(1, 6),
         "steps_per_update": st.one_of(st.none(), st.integers(1, 40)),
         "eps": st.sampled_from([1e-8, 1.0]), "damping": st.sampled_from([0.0, 1e-4, 10.0]),
         "max_kl": st.one_of(st.none(), st.sampled_from([1e-3, 0.1])),
         "value_ridge": st.sampled_from([0.0, 1e-6, 1.0]),
         "betas": st.tuples(st.floats(0, 0.999), st.floats(0, 0.9999)),
         "normalize_advantages": st.booleans(), "bootstrap_truncated": st.booleans(),
         "seed": st.integers(0, 2**64 - 1), "num_threads": st.one_of(st.none(), st.integers(1, 3))}
GARBAGE = {"returns": st.sampled_from(["bogus", None, 3]),
           "baseline": st.sampled_from(["Mean", 3, ""]),
           "optimizer": st.sampled_from(["rmsprop", None]),
           "fisher": st.sampled_from(["bogus", None]), "update": st.sampled_from(["bogus", 1]),
           "lr": st.one_of(real_floats(), SCALARS), "gamma": st.one_of(real_floats(), SCALARS),
           "gae_lambda": st.one_of(real_floats(), SCALARS),
           "episodes_per_update": st.sampled_from([0, -1, 2**63, 2**64, 1.5, None, True]),
           "steps_per_update": st.sampled_from([0, -1, 2**63, 2**64, 1.5, True]),
           "eps": st.one_of(real_floats(), SCALARS), "damping": st.one_of(real_floats(), SCALARS),
           "max_kl": st.one_of(real_floats(), SCALARS),
           "value_ridge": st.one_of(real_floats(), SCALARS),
           "betas": st.one_of(st.tuples(real_floats(), real_floats()), SCALARS),
           "normalize_advantages": SCALARS, "bootstrap_truncated": SCALARS,
           "seed": SCALARS, "num_threads": SCALARS}
COUNTS = st.one_of(st.integers(1, 6), st.sampled_from([0, -1, 2**63, 2**64, 1.5, None, True]))

def body(data):
    draw = data.draw
    name = draw(st.sampled_from(sorted(PAIRS)))
    env, make_policy = PAIRS[name]
    policy = make_policy()
    keys = draw(st.lists(st.sampled_from(sorted(VALID)), max_size=6, unique=True))
    kwargs = {"seed": 0, **{key: draw(VALID[key]) for key in keys}}
    for key in draw(st.lists(st.sampled_from(sorted(GARBAGE)), max_size=1)):
        kwargs[key] = draw(GARBAGE[key])
    fz.context(name)
    algo = fz.call("Reinforce", pg.Reinforce, env, policy, **kwargs)
    if algo is None:
        return
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["train", "train", "gradient", "fisher", "evaluate",
                                   "rollout"]))
        if op == "train":
            its = draw(st.one_of(st.integers(0, 3), st.sampled_from([-1, 1.5, None, "2"])))
            target = draw(st.one_of(st.none(), real_floats()))
            stop = draw(st.sampled_from([None, lambda s: True, lambda s: None]))
            hist = fz.call("train", algo.train, its, callback=stop, target_return=target,
                           runtime_ok=diverged)
            if hist is not None and not all(np.isfinite(policy.theta).ravel()):
                fz.fail("train", "theta is not finite after a successful train", name)
        elif op == "gradient":
            fz.call("gradient", algo.gradient,
                    draw(st.one_of(st.integers(2, 6), st.sampled_from([0, 1, -1, 2**63, 1.5]))),
                    return_stderr=draw(st.booleans() | SCALARS))
        elif op == "fisher":
            fz.call("fisher", algo.fisher, draw(COUNTS))
        elif op == "evaluate":
            fz.call("evaluate", pg.evaluate, env, policy, episodes=draw(COUNTS),
                    deterministic=draw(st.booleans() | SCALARS),
                    seed=draw(st.one_of(st.integers(0, 9), SCALARS)),
                    return_lengths=draw(st.booleans() | SCALARS))
        else:
            which = draw(st.sampled_from(["episodes", "steps", "both", "neither"]))
            kw = {"seed": 0}
            if which in ("episodes", "both"):
                kw["episodes"] = draw(COUNTS)
            if which in ("steps", "both"):
                kw["steps"] = draw(st.one_of(st.integers(1, 40), COUNTS))
            fz.call("rollout", pg.rollout, env, policy,
                    deterministic=draw(st.booleans() | SCALARS), **kw)

fz.run(body, max_examples=MAX_EXAMPLES // SCALE)
"""


# ------------------------------------------------- evaluate/rollout: any env

EVALUATE = r"""
fz = Fuzzer("evaluate_rollout")
# Gymnasium's own DeprecationWarning for an old id ("CartPole-v0") is its
# message to the user, not pgfast's; its exceptions still count.
fz.ignore_warnings_from = "gymnasium"
MAX_EXAMPLES = 400
cart = pg.make("CartPole-v1", num_envs=2, seed=0, max_episode_steps=20)
closed = pg.make("CartPole-v1", num_envs=2, seed=0)
closed.close()
ENVS = {"cartpole": cart, "closed": closed, "frozen": pg.make("FrozenLake-v1", seed=0),
        "pendulum": pg.make("Pendulum-v1", seed=0, max_episode_steps=10),
        "gym-cartpole": gym.make("CartPole-v1", max_episode_steps=20),
        "str-CartPole-v1": "CartPole-v1", "str-Taxi": "Taxi-v3",
        "str-unknown": "NoSuchEnv-v0", "str-old-version": "CartPole-v0",
        "str-empty": "", "none": None, "int": 3, "policy": "<policy>"}
POLICIES = {"softmax4": pg.LinearSoftmax(pg.features.Identity(4), 2),
            "softmax-onehot": pg.LinearSoftmax(pg.features.OneHot(16), 4),
            "gauss3": pg.LinearGaussian(pg.features.Identity(3), 1, log_std=-1.0),
            "none": None, "str": "policy"}
COUNTS = st.one_of(st.integers(1, 4), st.integers(1, 4), st.sampled_from(
    [0, -1, 2**63, 2**64, 1.5, None, True, "3", np.int64(2)]))
FLAGS = st.one_of(st.booleans(), st.booleans(), SCALARS)
SEEDS = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 9), SCALARS)
# Pairs that fit (the policy's features and actions match the env), drawn
# half the time; otherwise any env with any policy.
FITTING = [("cartpole", "softmax4"), ("frozen", "softmax-onehot"), ("pendulum", "gauss3"),
           ("gym-cartpole", "softmax4"), ("str-CartPole-v1", "softmax4"),
           ("closed", "softmax4")]

def body(data):
    draw = data.draw
    if draw(st.booleans()):
        ename, pname = draw(st.sampled_from(FITTING))
    else:
        ename = draw(st.sampled_from(sorted(ENVS)))
        pname = draw(st.sampled_from(sorted(POLICIES)))
    env, policy = ENVS[ename], POLICIES[pname]
    if env == "<policy>":
        env = policy
    fz.context(f"env={ename} policy={pname}")
    if draw(st.booleans()):
        fz.call("evaluate", pg.evaluate, env, policy, episodes=draw(COUNTS),
                deterministic=draw(FLAGS), seed=draw(SEEDS), return_lengths=draw(FLAGS))
    else:
        kw = {}
        if draw(st.integers(0, 3)):
            kw["episodes"] = draw(COUNTS)
        if draw(st.integers(0, 2)) == 0:
            kw["steps"] = draw(st.one_of(st.integers(1, 30), COUNTS))
        fz.call("rollout", pg.rollout, env, policy, deterministic=draw(FLAGS),
                seed=draw(SEEDS), **kw)

fz.run(body, max_examples=MAX_EXAMPLES // SCALE)
"""


# ----------------------------------------------------------- pg.load_policy

LOAD = r"""
fz = Fuzzer("load_policy")
MAX_EXAMPLES = 600
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "p.npz")
SOURCES = []
for policy, env in [
        (pg.LinearSoftmax(pg.features.Identity(4), 2, theta=np.arange(10.0).reshape(5, 2)),
         pg.make("CartPole-v1", seed=0)),
        (pg.LinearGaussian(pg.features.Fourier(1, [0, 0, 0], [1, 2, 3]), 1, log_std=-0.5), None),
        (pg.LinearSoftmax(pg.features.OneHot(16), 4), pg.make("FrozenLake-v1", seed=0))]:
    policy.save(path, env=env)
    with open(path, "rb") as f:
        SOURCES.append(f.read())
    meta = json.loads(str(np.load(path)["metadata"]))

def npy_bytes(arr, allow_pickle=False):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()

def lying_header(shape, descr="<f8"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue() + b"\0" * 16

JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                              st.floats(allow_nan=False), st.text(max_size=4)),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                       max_size=3),
                    max_leaves=8)

def metadata(draw, src):
    base = json.loads(str(np.load(io.BytesIO(src))["metadata"]))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        key = draw(st.sampled_from(sorted(base) + ["features.n", "features.kind", "extra"]))
        value = draw(st.one_of(JSON, st.sampled_from([2**24, 2**40, -1, 0, 1.5, "fourier",
                                                       "one_hot", 999, None])))
        if key.startswith("features.") and isinstance(base.get("features"), dict):
            base["features"][key.split(".")[1]] = value
        else:
            base[key] = value
    if draw(st.integers(0, 5)) == 0:
        return draw(JSON)
    return base

def build(draw):
    how = draw(st.sampled_from(["bytes", "mutate", "truncate", "structured", "structured",
                                "lying_header", "pickled", "zip_junk"]))
    if how == "bytes":
        return draw(st.binary(max_size=512)), how
    src = draw(st.sampled_from(SOURCES))
    if how == "mutate":
        data = bytearray(src)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data), how
    if how == "truncate":
        return src[:draw(st.integers(0, len(src)))], how
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if how == "zip_junk":  # duplicate names included
            for name in draw(st.lists(st.sampled_from(["metadata.npy", "theta.npy",
                                                       "log_std.npy", "x.npy", "theta"]),
                                      max_size=3)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    z.writestr(name, draw(st.binary(max_size=64)))
            return buf.getvalue(), how
        meta = metadata(draw, src)
        original = np.load(io.BytesIO(src))
        raw = draw(st.sampled_from(["ok", "bytes", "number", "array"]))
        meta_arr = {"ok": np.array(json.dumps(meta)), "bytes": np.array(json.dumps(meta).encode()),
                    "number": np.array(3.0), "array": np.array([json.dumps(meta)] * 2)}[raw]
        z.writestr("metadata.npy", npy_bytes(meta_arr))
        if how == "lying_header":
            shape = draw(st.sampled_from([(2**40,), (2**31, 2**31), (2**33,), (2**28, 2),
                                          (-1, 2), (5, 2)]))
            z.writestr("theta.npy", lying_header(shape, draw(st.sampled_from(["<f8", "|O",
                                                                               "<U9", ">f8"]))))
        elif how == "pickled":
            z.writestr("theta.npy", npy_bytes(np.array([{"a": 1}, None], dtype=object),
                                              allow_pickle=True))
        elif draw(st.booleans()):  # the file's own theta (maybe in another dtype)
            dtype = draw(st.sampled_from(["<f8", ">f8", "<f4", "<f2", "<i8"]))
            z.writestr("theta.npy", npy_bytes(original["theta"].astype(dtype)))
        else:
            theta = draw(arrays([(5, 2), (4, 4), (16, 4), (9, 1)], huge=False,
                                dtypes=[np.dtype(d) for d in ("<f8", ">f8", "<f2", "<i8", "|b1",
                                                              "<c16", "<U3")]))
            z.writestr("theta.npy", npy_bytes(np.ascontiguousarray(theta)))
        if "log_std" in original.files and draw(st.integers(0, 3)):
            z.writestr("log_std.npy", npy_bytes(original["log_std"]))
        elif draw(st.booleans()):
            z.writestr("log_std.npy", npy_bytes(np.ascontiguousarray(draw(
                arrays([(1,), ()], dtypes=[np.dtype("<f8")], huge=False)))))
    return buf.getvalue(), how

def body(data):
    draw = data.draw
    content, how = build(draw)
    with open(path, "wb") as f:
        f.write(content)
    env = draw(st.sampled_from([None, None, pg.make("CartPole-v1", seed=0)]))
    fz.context(f"{how}: {len(content)} bytes, head {content[:24]!r}")
    policy = fz.call("load_policy", pg.load_policy, path, env=env, allowed=(ValueError,))
    if policy is not None:
        fz.call("log_probs" if hasattr(policy, "n_actions") else "mean",
                getattr(policy, "log_probs", getattr(policy, "mean", None)),
                np.zeros((1, policy.features.obs_dim)))

fz.run(body, max_examples=MAX_EXAMPLES // SCALE)
"""


# ------------------------------------------------------------- raw _core

CORE = r'''
fz = Fuzzer("core")
MAX_EXAMPLES = 1500
P = np.zeros((3, 2, 3)); P[:, :, 1] = 1.0
TAB = dict(P=P, R=np.zeros((3, 2, 3)), initial=np.array([1.0, 0, 0]),
           terminal=np.zeros(3, dtype=bool), max_episode_steps=5, id="x", num_envs=3, seed=0,
           num_threads=1)

def fresh():
    envs = {"tabular": _core.make_tabular(**TAB),
            "cartpole": _core.make_classic("CartPole-v1", 3, 0, 2),
            "pendulum": _core.make_classic("Pendulum-v1", 3, 0, 1),
            "bandit": _core.make_bandit(np.zeros(2), np.ones(2), 3, 0, 1),
            "cbandit": _core.make_continuous_bandit(np.zeros(2), 0.0, -np.ones(2), np.ones(2),
                                                    3, 0, 1),
            "lqr": _core.make_lqr(np.eye(2), np.ones((2, 1)), np.eye(2), np.eye(1), 1.0, 0.0,
                                  5, 3, 0, 1)}
    for e in envs.values():
        e.max_episode_steps = 10
    return envs

ENVS = fresh()
FEATS = {"identity4": _core.identity_features(4), "identity1": _core.identity_features(1),
         "onehot3": _core.one_hot_features(3), "poly": _core.polynomial_features(2, 2),
         "fourier": _core.fourier_features(1, [0.0, 0.0], [1.0, 1.0]),
         "rbf": _core.rbf_features(2, [0.0], [1.0], 0.5),
         "tiles": _core.tile_coding_features(2, 2, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0])}

CONFIG_FIELDS = {"lr": 0.05, "gamma": 0.99, "episodes_per_update": 3, "steps_per_update": 0,
                 "returns": "reward_to_go", "baseline": "mean", "gae_lambda": 0.95,
                 "normalize_advantages": False, "optimizer": "adam", "adam_beta1": 0.9,
                 "adam_beta2": 0.999, "adam_eps": 1e-8, "fisher": "sampled", "damping": 1e-4,
                 "max_kl": 0.0, "value_ridge": 1e-6, "bootstrap_truncated": True,
                 "update": "batch", "seed": 0, "num_threads": 1}
CONFIG_CHOICES = {"returns": ["total", "gae", "x"], "baseline": ["none", "time", "value", "optimal"],
                  "optimizer": ["sgd", "natural", "x"], "fisher": ["exact", "x"],
                  "update": ["online", "x"]}

def reinforce_config(draw):
    """A _core.ReinforceConfig, valid unless spoiled (a spoiled field may be
    refused by its setter, which is part of what is fuzzed)."""
    config = _core.ReinforceConfig()
    for _ in range(draw(st.integers(0, 3))):
        k = draw(st.sampled_from(sorted(CONFIG_FIELDS)))
        value = (draw(st.sampled_from(CONFIG_CHOICES[k])) if k in CONFIG_CHOICES
                 and draw(st.booleans()) else draw(SCALARS))
        fz.call("config." + k, setattr, config, k, value)
    return config

def policy_for(draw, feats, kind, n_out):
    if kind == "gaussian":
        return fz.call("gaussian_policy", _core.gaussian_policy, feats, n_out, draw(st.booleans()))
    return fz.call("softmax_policy", _core.softmax_policy, feats, n_out)

GARBAGE = st.one_of(SCALARS, arrays([(3,), (3, 1), (3, 4), (2, 2)]),
                    st.sampled_from([lambda *a: None, object(), print]))

def body(data):
    draw = data.draw
    op = draw(st.sampled_from(["factory", "factory", "env", "env", "env", "features",
                               "policy_fn", "reinforce", "returns", "callback"]))
    if op == "factory":
        name = draw(st.sampled_from(["make_classic", "make_tabular", "make_bandit",
                                     "make_continuous_bandit", "make_lqr", "lqr_riccati",
                                     "frozen_lake_tables", "cliff_walking_tables",
                                     "identity_features", "one_hot_features",
                                     "polynomial_features", "fourier_features", "rbf_features",
                                     "tile_coding_features"]))
        valid = {"make_classic": ["CartPole-v1", 2, 0, 1],
                 "make_tabular": list(TAB.values()),
                 "make_bandit": [np.zeros(2), np.ones(2), 2, 0, 1],
                 "make_continuous_bandit": [np.zeros(1), 0.0, -np.ones(1), np.ones(1), 2, 0, 1],
                 "make_lqr": [np.eye(1), np.eye(1), np.eye(1), np.eye(1), 1.0, 0.0, 5, 2, 0, 1],
                 "lqr_riccati": [np.eye(1), np.eye(1), np.eye(1), np.eye(1), 0.9],
                 "frozen_lake_tables": ["4x4", True, 10], "cliff_walking_tables": [10],
                 "identity_features": [3], "one_hot_features": [3],
                 "polynomial_features": [2, 2], "fourier_features": [2, [0.0], [1.0]],
                 "rbf_features": [2, [0.0], [1.0], 0.5],
                 "tile_coding_features": [2, 2, [0.0], [1.0]]}[name]
        args = list(valid)
        for _ in range(draw(st.integers(0, 2))):
            args[draw(st.integers(0, len(args) - 1))] = draw(GARBAGE)
        if draw(st.integers(0, 9)) == 0:
            args = args[:draw(st.integers(0, len(args)))]
        result = fz.call(name, getattr(_core, name), *args)
        if isinstance(result, _core.VecEnv):
            fz.call("reset", result.reset)
    elif op == "env":
        name = draw(st.sampled_from(sorted(ENVS)))
        env = ENVS[name]
        fz.context(name)
        method = draw(st.sampled_from(["step", "set_state", "reset", "seed", "seed_each",
                                       "set_param", "get_param", "max_episode_steps",
                                       "observation", "get_state", "close"]))
        discrete = env.action_space[0] == "discrete"
        valid = {"step": np.zeros(3, dtype=np.int64) if discrete else np.zeros((3, 1)),
                 "set_state": env.get_state(), "reset": np.array([True, False, True]),
                 "seed": 7, "seed_each": np.arange(3, dtype=np.uint64),
                 "set_param": np.ones(3), "get_param": "gravity", "max_episode_steps": 4}
        arg = draw(st.one_of(st.just(valid.get(method)), GARBAGE))
        if method == "seed_each":
            fz.call(method, env.seed_each, arg, draw(st.one_of(
                st.just(np.array([True, False, True])), GARBAGE)))
        elif method == "set_param":
            fz.call(method, env.set_param, draw(st.sampled_from(["gravity", "g", "x"])), arg)
        elif method in ("get_param", "seed", "step", "set_state", "reset"):
            fz.call(method, getattr(env, method), arg)
        elif method == "max_episode_steps":
            fz.call(method, setattr, env, "max_episode_steps", arg)
        elif method in ("observation", "get_state"):
            fz.call(method, getattr(env, method))
        elif draw(st.integers(0, 4)) == 0:
            fz.call("close", env.close)
            fz.call("step-after-close", env.step, np.zeros(3, dtype=np.int64))
            ENVS[name] = fresh()[name]
    elif op == "features":
        f = FEATS[draw(st.sampled_from(sorted(FEATS)))]
        fz.call("Features.__call__", f, draw(st.one_of(arrays([(2, f.obs_dim), (2,)]),
                                                        GARBAGE)))
    elif op == "policy_fn":
        name = draw(st.sampled_from(["log_probs", "log_prob", "grad_log_prob", "act", "mean"]))
        f = FEATS[draw(st.sampled_from(sorted(FEATS)))]
        F = f.n_features
        maker = draw(st.sampled_from(["softmax", "gaussian", "table", "action_features"]))
        if maker == "softmax":
            policy = fz.call("softmax_policy", _core.softmax_policy, f, 2)
        elif maker == "action_features":
            policy = fz.call("softmax_policy", _core.softmax_policy, f, 2,
                             draw(st.one_of(st.just(np.eye(2)), GARBAGE)))
        elif maker == "table":
            policy = fz.call("state_action_table_policy", _core.state_action_table_policy,
                             draw(st.one_of(st.just(np.zeros((3, 2, F))), GARBAGE)))
        else:
            policy = fz.call("gaussian_policy", _core.gaussian_policy, f, 2, draw(st.booleans()))
        if policy is None:
            return
        discrete = policy.kind != "gaussian"
        valid = {"theta": np.zeros(policy.n_theta), "log_std": np.zeros(2),
                 "obs": np.zeros((2, policy.obs_dim)),
                 "actions": np.zeros(2, dtype=np.int64) if discrete else np.zeros((2, 2)),
                 "deterministic": False, "seed": 0}
        params = {"log_probs": ["theta", "obs"], "mean": ["theta", "obs"],
                  "log_prob": ["theta", "log_std", "obs", "actions"],
                  "grad_log_prob": ["theta", "log_std", "obs", "actions"],
                  "act": ["theta", "log_std", "obs", "deterministic", "seed"]}[name]
        args = [valid[p] for p in params]
        for _ in range(draw(st.integers(0, 2))):
            args[draw(st.integers(0, len(args) - 1))] = draw(GARBAGE)
        fz.call(name, getattr(policy, name), *args)
    elif op == "reinforce":
        name = draw(st.sampled_from(sorted(ENVS)))
        env = ENVS[name]
        kind = "gaussian" if name in ("pendulum", "cbandit", "lqr") else "softmax"
        feats = FEATS[draw(st.sampled_from(sorted(FEATS)))]
        n_out = draw(st.sampled_from([1, 2, 3, 4]))
        fz.context(name)
        policy = policy_for(draw, feats, kind, n_out)
        if policy is None:
            return
        eng = fz.call("Reinforce", _core.Reinforce, env,
                      draw(st.one_of(st.just(policy), GARBAGE)), reinforce_config(draw))
        F = feats.n_features
        for _ in range(draw(st.integers(1, 3))):
            theta = draw(st.one_of(st.just(np.zeros((F, n_out))), GARBAGE))
            log_std = draw(st.one_of(st.just(np.zeros(n_out) if kind == "gaussian" else None),
                                     GARBAGE))
            method = draw(st.sampled_from(["iterate", "gradient", "fisher", "last_batch",
                                           "evaluate", "rollout"]))
            count = draw(st.one_of(st.integers(1, 4), SCALARS))
            if method in ("evaluate", "rollout"):
                args = ((count, draw(SCALARS)) if method == "evaluate" else
                        (count, draw(st.one_of(st.integers(0, 20), SCALARS)), draw(SCALARS)))
                fz.call(method, getattr(_core, method), env, policy, theta, log_std, *args,
                        draw(st.one_of(st.integers(0, 5), SCALARS)),
                        draw(st.one_of(st.integers(1, 3), SCALARS)),
                        runtime_ok=lambda m: m.startswith("iteration "))
                continue
            if eng is None:
                continue
            if method == "last_batch":
                fz.call(method, eng.last_batch)
                continue
            args = () if method == "iterate" else (count,)
            fz.call(method, getattr(eng, method), theta, log_std, *args,
                    runtime_ok=lambda m: m.startswith("iteration "))
    elif op == "returns":
        name = draw(st.sampled_from(["reward_to_go", "discounted_return", "gae"]))
        rewards = draw(st.one_of(arrays([(4,)], dtypes=[np.dtype("<f8")]), GARBAGE))
        args = [rewards] + ([draw(st.one_of(arrays([(4,)]), GARBAGE))] if name == "gae" else [])
        args += [draw(st.one_of(st.floats(0, 1), SCALARS)) for _ in range(2 if name == "gae"
                                                                          else 1)]
        fz.call(name, getattr(_core, name), *args)
    else:
        obs_dim = 2
        reply = draw(st.sampled_from([
            "ok", "short_obs", "nan_obs", "not_tuple", "three", "raises", "str_reward"]))
        replies = {"ok": (np.zeros(obs_dim), 1.0, True, False),
                   "short_obs": (np.zeros(1), 1.0, True, False),
                   "nan_obs": (np.full(obs_dim, NAN), NAN, True, False),
                   "not_tuple": None, "three": (np.zeros(obs_dim), 1.0, True),
                   "str_reward": (np.zeros(obs_dim), "x", True, False)}
        def reset(i):
            return np.zeros(obs_dim)
        def step(i, a):
            if reply == "raises":
                raise ValueError("the env refuses")
            return replies[reply]
        spec_obs = draw(st.sampled_from([("box", [0.0] * obs_dim, [1.0] * obs_dim),
                                         ("box", [], []), ("discrete", 0), ("bogus",), ()]))
        env = fz.call("make_callback_env", _core.make_callback_env, reset, step,
                      draw(st.sampled_from([1, 0, -1, 2])), spec_obs, ("discrete", 2), "cb")
        if env is None:
            return
        policy = _core.softmax_policy(_core.identity_features(obs_dim), 2)
        fz.call("Reinforce", _core.Reinforce, env, policy, reinforce_config(draw))
        fz.call("evaluate", _core.evaluate, env, policy, np.zeros(3 * 2), None, 2, False, 0, 1,
                runtime_ok=lambda m: reply != "ok" and m != "")

fz.run(body, max_examples=MAX_EXAMPLES // SCALE)
'''


CASES = {
    "make": MAKE,
    "env_methods": ENV_METHODS,
    "tabular": TABULAR,
    "features": FEATURES,
    "policies": POLICIES,
    "reinforce": REINFORCE,
    "evaluate_rollout": EVALUATE,
    "load_policy": LOAD,
    "core": CORE,
}


@pytest.mark.parametrize("name", list(CASES))
def test_fuzz(name, tmp_path):
    fuzz(name, CASES[name], tmp_path)


# ----------------------------------------------- targeted: found by fuzzing
# Each case runs in a forked child of one interpreter, so that one crash
# does not hide the others; the table of outcomes is the failure message.

FORK_EACH = r'''
import json, os, signal, sys
import numpy as np
import pgfast as pg
from pgfast import _core
from _subprocess import limit_address_space

limit_address_space()

def huge(dtype, shape=(2**40,)):
    """A read-only zero-stride view of 2**40 elements: no memory, but any
    copy or cast of it is 8 TiB."""
    return np.broadcast_to(np.zeros((), dtype=dtype), shape)

def run_each(cases):
    rows = {}
    for label, call in cases:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                call()
                text = "returned"
            except (ValueError, TypeError, IndexError, MemoryError) as exc:
                text = f"{type(exc).__name__}: {exc}"
                if "nullptr" in str(exc):
                    text = "BAD MESSAGE " + text
            except BaseException as exc:
                text = f"WRONG TYPE {type(exc).__name__}: {exc}"
            os.write(write, text[:300].encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as f:
            text = f.read().decode()
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            text = f"CRASH ({signal.Signals(os.WTERMSIG(status)).name})"
        rows[label] = text
    print(json.dumps(rows))
'''


def fork_each(cases_code: str) -> dict[str, str]:
    from _subprocess import last_json_line, run_isolated

    rows = last_json_line(run_isolated(FORK_EACH + textwrap.dedent(cases_code), timeout=120))
    for label, text in rows.items():
        print(f"{label:60s} {text[:110]}")
    return rows


@pytest.fixture(scope="module")
def huge_array_outcomes():
    """What each entry point does with a 2**40-element broadcast view."""
    rows = fork_each("""
        def ready(env):
            env.reset(seed=0)
            return env
        cart = lambda: ready(pg.make("CartPole-v1", num_envs=3, seed=0))
        pend = lambda: ready(pg.make("Pendulum-v1", num_envs=3, seed=0))
        soft = pg.LinearSoftmax(pg.features.Identity(4), 2)
        gauss = pg.LinearGaussian(pg.features.Identity(3), 1)
        P = np.zeros((3, 2, 3)); P[:, :, 1] = 1.0
        cases = []
        for dt in ("<i8", ">i8", "<i4", "<u8", "|b1"):
            cases.append((f"env.step(discrete, {dt})", lambda dt=dt: cart().step(huge(dt))))
        for dt in ("<f8", ">f8", "<f4", "<u8"):
            cases.append((f"env.step(box, {dt})", lambda dt=dt: pend().step(huge(dt, (2**40, 1)))))
        for dt in ("|b1", "<i8"):
            cases.append((f"env.reset(reset_mask {dt})",
                          lambda dt=dt: cart().reset(options={"reset_mask": huge(dt)})))
        cases += [
            ("env.set_state(>f8)", lambda: cart().set_state(huge(">f8", (2**40, 4)))),
            ("env.set_param(>f8)", lambda: cart().set_param("gravity", huge(">f8"))),
            ("features(obs >f8)", lambda: pg.features.Identity(4)(huge(">f8", (2**40, 4)))),
            ("softmax.log_probs(obs)", lambda: soft.log_probs(huge(">f8", (2**40, 4)))),
            ("softmax.grad_log_prob(actions <u8)", lambda: soft.grad_log_prob(
                np.zeros((2, 4)), huge("<u8"))),
            ("softmax.act(obs)", lambda: soft.act(huge("<f4", (2**40, 4)), rng=0)),
            ("gaussian.log_prob(actions)", lambda: gauss.log_prob(np.zeros((2, 3)),
                                                                    huge(">f8", (2**40, 1)))),
            ("pg.make Bandit(means)", lambda: pg.make("Bandit", means=huge("<f8"))),
            ("TabularMDP(P)", lambda: pg.TabularMDP(huge("<f8", (2**14, 2**12, 2**14)),
                                                    np.zeros((1, 1)), [1.0])),
            ("_core.VecEnv.seed_each(seeds >i8)", lambda: cart()._core.seed_each(
                huge(">i8"), np.ones(3, dtype=bool))),
            ("_core.VecEnv.seed_each(has_seed)", lambda: cart()._core.seed_each(
                np.zeros(3, dtype=np.uint64), huge("|b1"))),
            ("_core.make_tabular(terminal)", lambda: _core.make_tabular(
                P, np.zeros((3, 2, 3)), np.array([1.0, 0, 0]), huge("|b1"), 5, "x", 1, 0, 1)),
            ("_core.reward_to_go(>f8)", lambda: _core.reward_to_go(huge(">f8"), 0.9)),
        ]
        run_each(cases)
    """)
    return rows


def test_huge_zero_stride_arrays_are_refused_without_crashing(huge_array_outcomes):
    """A 2**40-element broadcast view costs nothing to make; converting it
    (another dtype, or C-contiguous) needs 8 TiB. Every entry point must
    refuse it with ValueError/TypeError/MemoryError, not crash (the bindings
    dereference the null array left by a failed conversion)."""
    bad = {k: v for k, v in huge_array_outcomes.items() if v.startswith(("CRASH", "WRONG TYPE"))}
    assert not bad, "\n".join(f"{k}: {v}" for k, v in bad.items())


def test_refusing_a_huge_array_names_the_argument(huge_array_outcomes):
    """The same calls: the error says which argument and why, not pybind11's
    "cannot create a pybind11::array_t from a nullptr" (the conversion's
    MemoryError, swallowed; a shape check before converting would say that
    the shape is wrong)."""
    bad = {k: v for k, v in huge_array_outcomes.items() if v.startswith("BAD MESSAGE")}
    assert not bad, "\n".join(f"{k}: {v}" for k, v in bad.items())


@pytest.mark.skipif(
    under_asan(), reason="under ASan a failed `new` is a fatal report, not std::bad_alloc"
)
def test_a_failed_allocation_leaves_the_engine_usable():
    """Fourier(order=31) on CartPole has 32**4 = 2**20 features (the maps
    allow 2**24). The engine's first rollout asks for 1024 rows x 2**20
    doubles = 8 GiB per env and fails (MemoryError under this test's 4 GiB
    address-space limit; without a limit the OOM killer ends the process).
    The failure must leave the engine consistent: the next call raises
    again or works, it does not crash."""
    rows = fork_each("""
        def twice(first, second):
            def go():
                env = pg.make("CartPole-v1", num_envs=2, seed=0, max_episode_steps=5)
                policy = pg.LinearSoftmax(pg.features.Fourier(
                    31, [-2.4, -3, -0.21, -3.5], [2.4, 3, 0.21, 3.5]), 2)
                algo = pg.Reinforce(env, policy, seed=0)
                calls = {"train": lambda: algo.train(1), "gradient": lambda: algo.gradient(2),
                         "fisher": lambda: algo.fisher(2),
                         "evaluate": lambda: pg.evaluate(env, policy, episodes=2)}
                outcome = []
                for name in (first, second):
                    try:
                        calls[name]()
                        outcome.append(f"{name} returned")
                    except (MemoryError, ValueError) as exc:
                        outcome.append(f"{name} {type(exc).__name__}")
                # fisher refuses 2**21 parameters up front (ValueError: at
                # most 4096); the rollouts size their buffers to the features.
                if any(" returned" not in o and "MemoryError" not in o and "ValueError" not in o
                       for o in outcome):
                    raise RuntimeError("; ".join(outcome))
            return go
        run_each([(f"{a} then {b}", twice(a, b)) for a, b in [
            ("train", "train"), ("fisher", "train"), ("gradient", "gradient"),
            ("train", "evaluate")]])
    """)
    bad = {k: v for k, v in rows.items() if v != "returned"}
    assert not bad, "\n".join(f"{k}: {v}" for k, v in bad.items())
