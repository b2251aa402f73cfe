"""Beyond one process: batches split into shards give the same bits as one process.

The first half needs no Ray: the pairwise tree against a slow recursive twin,
the shard protocol driven by hand over in-process engines (so the sanitizer
run covers it), episodes that do not depend on the env that runs them, and
the recipes envs and policies pickle as. The second half (marker ``ray``)
starts one local Ray for the module and checks the same equalities through
:class:`pgfast.distributed.RayWorkers`, ``run_many``, and the faults.
"""

from __future__ import annotations

import itertools
import os
import pickle
import signal
import sys
import threading
import time

import gymnasium as gym
import numpy as np
import pytest
from _subprocess import TESTS_DIR, run_isolated

import pgfast as pg
from pgfast import _core
from pgfast.distributed import BLOCK, shares

# ---- the tree ---------------------------------------------------------------------


def slow_node(blocks: list[np.ndarray], level: int, index: int) -> np.ndarray:
    """Node (level, index) by the definition in reduction.hpp, shorter padded."""
    if level == 0:
        return blocks[index]
    left = slow_node(blocks, level - 1, 2 * index)
    if (2 * index + 1) << (level - 1) >= len(blocks):
        return left
    right = slow_node(blocks, level - 1, 2 * index + 1)
    n = max(len(left), len(right))
    return np.pad(left, (0, n - len(left))) + np.pad(right, (0, n - len(right)))


def maximal_nodes(n: int, b0: int, b1: int) -> list[tuple[int, int]]:
    height = max(0, (n - 1).bit_length())
    out: list[tuple[int, int]] = []

    def visit(level: int, index: int) -> None:
        begin, end = index << level, min(n, (index + 1) << level)
        if begin >= end or end <= b0 or begin >= b1:
            return
        if b0 <= begin and end <= b1:
            out.append((level, index))
            return
        visit(level - 1, 2 * index)
        visit(level - 1, 2 * index + 1)

    visit(height, 0)
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 33])
def test_the_tree_root_is_the_pairwise_sum_for_every_split(n):
    rng = np.random.default_rng(n)
    # Values of very different sizes, so that a different order of additions
    # would change the bits; lengths differ, as the time baseline's do.
    blocks = [rng.normal(size=rng.integers(1, 6)) * 10.0 ** rng.integers(-8, 8) for _ in range(n)]
    height = max(0, (n - 1).bit_length())
    expected = slow_node(blocks, height, 0)
    for _ in range(10):
        cuts = sorted({0, n, *rng.integers(0, n + 1, size=rng.integers(0, 4)).tolist()})
        nodes = []
        for b0, b1 in itertools.pairwise(cuts):
            nodes += [(lv, k, slow_node(blocks, lv, k)) for lv, k in maximal_nodes(n, b0, b1)]
        np.testing.assert_array_equal(_core.tree_root(n, nodes), expected)
    # The fold in block order differs (the test's values make sure of it).
    folded = blocks[0]
    for b in blocks[1:]:
        m = max(len(folded), len(b))
        folded = np.pad(folded, (0, m - len(folded))) + np.pad(b, (0, m - len(b)))
    if n >= 5:
        assert not np.array_equal(folded, expected)


def test_the_tree_refuses_nodes_that_do_not_cover_the_batch():
    with pytest.raises(ValueError, match="do not cover block"):
        _core.tree_root(4, [(1, 0, np.ones(2))])
    with pytest.raises(ValueError, match="outside a batch of 4 blocks"):
        _core.tree_root(4, [(0, 9, np.ones(2))])
    with pytest.raises(ValueError, match="at least one block"):
        _core.tree_root(0, [])


def test_shares_are_whole_blocks_in_order():
    for m in (1, 15, 16, 17, 100, 1000):
        for w in (1, 2, 3, 7):
            plan = shares(m, w)
            assert plan[0][0] == 0
            assert sum(c for _, c in plan) == m
            for (f0, c0), (f1, _) in itertools.pairwise(plan):
                assert f0 + c0 == f1
                assert f1 % BLOCK == 0


# ---- the shard protocol, by hand, in one process ---------------------------------


def cartpole():
    return pg.make("CartPole-v1", num_envs=4, seed=0), pg.LinearSoftmax(pg.features.Identity(4), 2)


def pendulum():
    env = pg.make("Pendulum-v1", num_envs=3, seed=0, max_episode_steps=50)
    return env, pg.LinearGaussian(pg.features.Identity(3), 1, log_std=-0.3, learn_std=True)


def chain_mdp():
    """A 4-state chain from arrays: right moves on, left stays, state 3 ends."""
    P = np.zeros((4, 2, 4))
    for s in range(4):
        P[s, 0, s] = 1.0
        P[s, 1, min(s + 1, 3)] = 0.8
        P[s, 1, s] += 0.2
    R = np.full((4, 2), -1.0)
    mdp = pg.TabularMDP(
        P, R, initial=[1.0, 0, 0, 0], terminal=[False, False, False, True], max_episode_steps=20
    )
    return pg.make(mdp, num_envs=2, seed=0), pg.LinearSoftmax(pg.features.OneHot(4), 2)


CASES = {
    "cartpole mean": (cartpole, {}),
    "cartpole time normalised": (cartpole, {"baseline": "time", "normalize_advantages": True}),
    "cartpole value": (cartpole, {"baseline": "value", "returns": "discounted_reward_to_go"}),
    "cartpole optimal": (cartpole, {"returns": "total", "baseline": "optimal"}),
    "cartpole natural": (cartpole, {"optimizer": "natural", "max_kl": 0.01}),
    "cartpole gae": (cartpole, {"returns": "gae"}),
    "mdp exact fisher": (chain_mdp, {"optimizer": "natural", "fisher": "exact", "lr": 0.1}),
    "pendulum value": (pendulum, {"baseline": "value", "lr": 0.01}),
    "pendulum natural": (pendulum, {"optimizer": "natural", "lr": 0.01}),
}


def make_algo(case, *, threads=1, workers=None, m=70):
    make, settings = CASES[case]
    env, policy = make()
    return pg.Reinforce(
        env,
        policy,
        episodes_per_update=m,
        seed=5,
        num_threads=threads,
        workers=workers,
        **settings,
    )


def log_std_of(policy):
    return policy.log_std if isinstance(policy, pg.LinearGaussian) else None


def hand_update(driver, shards, plan, m):
    """One update as pgfast.distributed runs it, over in-process engines."""
    engine = driver._engine
    theta, log_std = driver.policy.theta, log_std_of(driver.policy)
    batch = engine.take_batch()
    weights, fitted = engine.value_weights()
    blocks = -(-m // BLOCK)
    rounds = None
    for shard, (first, count) in zip(shards, plan, strict=True):
        rounds = shard._engine.shard_begin(
            theta, log_std, weights, fitted, batch, first, count, m, "update"
        )
    for name in rounds:
        nodes = [node for shard in shards for node in shard._engine.shard_round(name)]
        total = _core.tree_root(blocks, nodes)
        if name == "final":
            break
        for shard in shards:
            shard._engine.shard_receive(name, total)
    parts = [shard._engine.shard_summary() for shard in shards]
    summary = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return engine.finish_update(theta, log_std, total, summary)


def state_of(algo, history):
    p = algo.policy
    return [p.theta.copy(), None if log_std_of(p) is None else log_std_of(p).copy(), history]


def assert_same(a, b, label):
    np.testing.assert_array_equal(a[0], b[0], err_msg=f"{label}: theta")
    if a[1] is not None:
        np.testing.assert_array_equal(a[1], b[1], err_msg=f"{label}: log_std")
    for key in ("return_mean", "return_std", "env_steps", "grad_norm", "entropy", "kl"):
        np.testing.assert_array_equal(a[2][key], b[2][key], err_msg=f"{label}: {key}")


PLANS = {
    "one shard": [(0, 70)],
    "two uneven": [(0, 16), (16, 54)],
    "three": [(0, 48), (48, 16), (64, 6)],
    "one block each": [(16 * k, min(16, 70 - 16 * k)) for k in range(5)],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hand_driven_shards_equal_one_process_bit_for_bit(case):
    reference = make_algo(case)
    expected = state_of(reference, reference.train(3))
    two_threads = make_algo(case, threads=2)
    assert_same(state_of(two_threads, two_threads.train(3)), expected, "2 threads")
    for plan_name, plan in PLANS.items():
        driver = make_algo(case)
        # Every shard builds its engine from pickled recipes, as a Ray worker does.
        shards = []
        for _ in plan:
            env, policy = pickle.loads(pickle.dumps((driver.env, driver.policy)))
            shards.append(pg.Reinforce(env, policy, **driver._worker_settings()))
        rows = [hand_update(driver, shards, plan, 70) for _ in range(3)]
        history = pg.History([{**r, "iteration": i, "wall_time": 0.0} for i, r in enumerate(rows)])
        assert_same(state_of(driver, history), expected, f"{case}, {plan_name}")


def test_a_shard_must_hold_whole_blocks():
    algo = make_algo("cartpole mean")
    theta = algo.policy.theta
    with pytest.raises(ValueError, match="whole blocks"):
        algo._engine.shard_begin(theta, None, None, False, 0, 8, 20, 70, "update")
    with pytest.raises(ValueError, match="first, first \\+ count"):
        algo._engine.shard_begin(theta, None, None, False, 0, 64, 16, 70, "update")
    with pytest.raises(ValueError, match="kind"):
        algo._engine.shard_begin(theta, None, None, False, 0, 0, 16, 70, "nonsense")


def test_a_stop_from_another_thread_interrupts_a_shard_and_leaves_it_usable():
    """How a Ray worker is stopped on Ctrl-C: request_stop from its second thread."""
    algo = make_algo("cartpole mean")
    theta = algo.policy.theta
    timer = threading.Timer(0.2, algo._engine.request_stop)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        algo._engine.shard_begin(theta, None, None, False, 0, 0, 10**7, 10**7, "update")
    timer.join()
    assert algo._engine.shard_begin(theta, None, None, False, 1, 0, 32, 32, "update") == [
        "baseline",
        "final",
    ]


def test_a_bad_sum_is_refused_and_nothing_is_updated():
    algo = make_algo("cartpole mean")
    before = algo.policy.theta.copy()
    summary = {
        "returns": np.ones(3),
        "lengths": np.ones(3, dtype=np.int64),
        "sample_phi": np.zeros(0),
        "sample_out": np.zeros(0),
    }
    with pytest.raises(ValueError, match="sum has"):
        algo._engine.finish_update(algo.policy.theta, None, np.ones(3), summary)
    np.testing.assert_array_equal(algo.policy.theta, before)
    assert algo._engine.completed == 0


# ---- episodes belong to the batch, not to an env ------------------------------------


def test_training_does_not_depend_on_num_envs():
    thetas = []
    for n in (1, 3, 8):
        env = pg.make("CartPole-v1", num_envs=n, seed=0)
        policy = pg.LinearSoftmax(pg.features.Identity(4), 2)
        pg.Reinforce(env, policy, episodes_per_update=20, seed=1).train(3)
        thetas.append(policy.theta)
    np.testing.assert_array_equal(thetas[0], thetas[1])
    np.testing.assert_array_equal(thetas[0], thetas[2])


def test_evaluate_is_reproducible_and_independent_of_the_env():
    policy = pg.LinearSoftmax(pg.features.Identity(6), 3)
    policy.theta = np.random.default_rng(0).normal(size=policy.theta.shape)
    runs = [
        pg.evaluate(pg.make("Acrobot-v1", num_envs=n, seed=s), policy, episodes=20, seed=4)
        for n, s in ((1, 0), (4, 0), (4, 9))
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
    other = pg.evaluate(pg.make("Acrobot-v1", seed=0), policy, episodes=20, seed=5)
    assert not np.array_equal(runs[0], other)


# ---- recipes ----------------------------------------------------------------------


def native_spec():
    sys.path.insert(0, os.path.join(os.path.dirname(TESTS_DIR), "examples"))
    try:
        from native_cartpole import CARTPOLE
    finally:
        sys.path.pop(0)
    return CARTPOLE


def trajectory(env, steps=60):
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=3)
    out = [obs]
    for _ in range(steps):
        actions = np.stack([env.single_action_space.sample() for _ in range(env.num_envs)])
        if hasattr(env.single_action_space, "n"):
            actions = rng.integers(0, env.single_action_space.n, size=env.num_envs)
        else:
            actions = rng.uniform(-1, 1, size=actions.shape)
        out += list(env.step(actions)[:4])
    return out


ENV_RECIPES = {
    "built-in": lambda: pg.make("CartPole-v1", num_envs=2, seed=1),
    "parameterised": lambda: pg.make("Pendulum-v1", num_envs=2, seed=1, g=[9.0, 11.0]),
    "tabular from arrays": lambda: chain_mdp()[0],
    "toy text": lambda: pg.make("Taxi-v4", num_envs=2, seed=1),
    "lqr": lambda: pg.make(
        "LQR", num_envs=2, seed=1, noise_std=0.1, **pg.registry.lookup("LQR").example
    ),
    "native": lambda: pg.make(native_spec(), num_envs=2, seed=1),
}


@pytest.mark.parametrize("name", sorted(ENV_RECIPES))
def test_envs_round_trip_through_pickle_as_recipes(name):
    env = ENV_RECIPES[name]()
    if "param" in name:
        env.set_param("m", [0.5, 2.0])  # changed after make: travels too
    clone = pickle.loads(pickle.dumps(env))
    assert type(clone) is type(env)
    assert clone.backend == env.backend
    assert clone.param_names == env.param_names
    for p in env.param_names:
        np.testing.assert_array_equal(clone.get_param(p), env.get_param(p))
    for a, b in zip(trajectory(env), trajectory(clone), strict=True):
        np.testing.assert_array_equal(a, b)


def test_policies_round_trip_through_pickle_as_recipes():
    rng = np.random.default_rng(0)
    policies = [
        pg.LinearSoftmax(pg.features.Fourier(2, [-1] * 4, [1] * 4), 2),
        pg.LinearSoftmax(pg.features.StateActionTable(rng.normal(size=(16, 4, 3))), 4),
        pg.LinearSoftmax(pg.features.StateAction(pg.features.Identity(4), np.eye(2)), 2),
        pg.LinearGaussian(pg.features.RBF(5, [-1] * 3, [1] * 3), 1, log_std=-0.5),
    ]
    for policy in policies:
        policy.theta = rng.normal(size=policy.theta.shape)
        clone = pickle.loads(pickle.dumps(policy))
        np.testing.assert_array_equal(clone.theta, policy.theta)
        obs = rng.uniform(-1, 1, size=(5, policy.features.obs_dim))
        if isinstance(policy.features, pg.features.StateActionTable):
            obs = rng.integers(0, 16, size=5)
        a = policy.act(obs, rng=1)
        np.testing.assert_array_equal(clone.act(obs, rng=1), a)
        np.testing.assert_array_equal(clone.log_prob(obs, a), policy.log_prob(obs, a))


def test_python_stepped_envs_say_they_cannot_travel():
    env = pg.GymnasiumVectorEnv(gym.make_vec("CartPole-v1", num_envs=2), seed=0)
    with pytest.raises(TypeError, match=r"stepped from Python|cannot be pickled"):
        pickle.dumps(env)


def test_run_many_in_process_equals_runs_one_after_another():
    def config(seed, lr):
        return {
            "env": "CartPole-v1",
            "policy": pg.LinearSoftmax(pg.features.Identity(4), 2),
            "iterations": 3,
            "seed": seed,
            "lr": lr,
            "episodes_per_update": 16,
        }

    configs = [config(s, lr) for s in (0, 1) for lr in (0.01, 0.05)]
    results = pg.distributed.run_many(configs)
    for c, r in zip(configs, results, strict=True):
        policy = c["policy"]
        history = pg.Reinforce(
            "CartPole-v1", policy, lr=c["lr"], seed=c["seed"], episodes_per_update=16
        ).train(3)
        np.testing.assert_array_equal(r.theta, policy.theta)
        np.testing.assert_array_equal(r.history["return_mean"], history["return_mean"])
    with pytest.raises(ValueError, match="misses"):
        pg.distributed.run_many([{"env": "CartPole-v1"}])


def test_without_ray_pgfast_imports_and_says_what_to_install():
    out = run_isolated(
        """
        import sys
        sys.modules["ray"] = None  # as if Ray were not installed
        import pgfast as pg
        assert "ray" not in [m for m in sys.modules if sys.modules[m] is not None]
        try:
            pg.distributed.RayWorkers(2)
        except ImportError as e:
            print(e)
        """
    )
    assert 'pip install "pgfast-rl[ray]"' in out


def test_workers_refuse_what_they_cannot_share():
    class NotWorkers:
        pass

    env, policy = cartpole()
    with pytest.raises(TypeError, match="RayWorkers"):
        pg.Reinforce(env, policy, workers=NotWorkers())  # type: ignore[arg-type]


# ---- through Ray -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_session():
    ray_module = pytest.importorskip("ray")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    # Workers import the test modules' functions (a NativeEnv's) by name.
    path = os.pathsep.join([TESTS_DIR, os.path.join(os.path.dirname(TESTS_DIR), "examples")])
    ray_module.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path, "RAY_AUTH_MODE": "disabled"}},
    )
    pools = {k: pg.distributed.RayWorkers(k, num_cpus=0) for k in (1, 2, 3)}
    yield pools
    for pool in pools.values():
        pool.shutdown()
    ray_module.shutdown()


RAY_CASES = ["cartpole mean", "cartpole time normalised", "cartpole value", "cartpole optimal",
             "cartpole natural", "mdp exact fisher", "pendulum value"]  # fmt: skip


@pytest.mark.ray
@pytest.mark.parametrize("case", RAY_CASES)
def test_ray_workers_equal_one_process_bit_for_bit(ray_session, case):
    reference = make_algo(case)
    expected = state_of(reference, reference.train(3))
    g_expected = reference.gradient(40)
    for k, pool in ray_session.items():
        algo = make_algo(case, workers=pool)
        assert_same(state_of(algo, algo.train(3)), expected, f"{case}, {k} workers")
        np.testing.assert_array_equal(
            np.ravel(algo.gradient(40)[0] if isinstance(g_expected, tuple) else algo.gradient(40)),
            np.ravel(g_expected[0] if isinstance(g_expected, tuple) else g_expected),
        )


@pytest.mark.ray
def test_ray_fisher_evaluate_and_rollout_equal_one_process(ray_session):
    pool = ray_session[3]
    local, shared = make_algo("cartpole natural"), make_algo("cartpole natural", workers=pool)
    np.testing.assert_array_equal(local.fisher(50), shared.fisher(50))
    env, policy = cartpole()
    policy.theta = np.random.default_rng(1).normal(size=policy.theta.shape)
    np.testing.assert_array_equal(
        pg.evaluate(env, policy, episodes=50, seed=2),
        pg.evaluate(env, policy, episodes=50, seed=2, workers=pool),
    )
    a = pg.rollout(env, policy, episodes=40, seed=3)
    b = pg.rollout(env, policy, episodes=40, seed=3, workers=pool)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    with pytest.raises(ValueError, match="give episodes"):
        pg.rollout(env, policy, steps=100, workers=pool)


@pytest.mark.ray
def test_ray_run_many_equals_sequential_runs(ray_session):
    configs = [
        {
            "env": env_id,
            "policy": pg.LinearSoftmax(pg.features.Identity(dim), n),
            "iterations": 4,
            "seed": seed,
            "episodes_per_update": 16,
        }
        for env_id, dim, n in (("CartPole-v1", 4, 2), ("Acrobot-v1", 6, 3))
        for seed in (0, 1)
    ]
    sequential = pg.distributed.run_many(configs)
    parallel = pg.distributed.run_many(configs, workers=ray_session[2])
    for a, b in zip(sequential, parallel, strict=True):
        np.testing.assert_array_equal(a.theta, b.theta)
        for key in a.history:
            if key != "wall_time":
                np.testing.assert_array_equal(a.history[key], b.history[key])


@pytest.mark.ray
def test_a_killed_worker_fails_the_update_and_is_restarted(ray_session):
    ray_module = pytest.importorskip("ray")
    with pg.distributed.RayWorkers(3, num_cpus=0) as pool:
        reference = make_algo("cartpole mean")
        reference.train(1)
        algo = make_algo("cartpole mean", workers=pool)
        algo.train(1)
        before = algo.policy.theta.copy()
        ray_module.kill(pool.actors[1])
        with pytest.raises(pg.distributed.WorkerError, match=r"worker 1 \(episodes 16\.\.47") as e:
            algo.step()
        assert e.value.worker == 1
        assert e.value.episodes == (16, 48)
        np.testing.assert_array_equal(algo.policy.theta, before)
        assert algo.iterations_done == 1
        # The next update runs on a new actor, with the bits it would have had
        # (the failed update consumed a batch number, as an interrupted one does).
        algo.step()
        reference._engine.take_batch()
        reference.step()
        np.testing.assert_array_equal(algo.policy.theta, reference.policy.theta)


def raising_step(state, action, u):
    if state[0] > 3.0:
        raise ValueError("the cart left the track")
    state[0] += 1.0
    return 1.0, False


def raising_reset(state, u):
    state[0] = 0.0


def raising_observe(state, obs):
    obs[0] = state[0]


@pytest.mark.ray
def test_a_worker_that_raises_names_itself_and_the_cause(ray_session):
    spec = pg.NativeEnv(
        "Raising-v0",
        reset=raising_reset,
        step=raising_step,
        observe=raising_observe,
        state_dim=1,
        observation_space=gym.spaces.Box(-10, 10, (1,)),
        action_space=gym.spaces.Discrete(2),
        max_episode_steps=10,
    )
    env = pg.make(spec, num_envs=2, seed=0)
    algo = pg.Reinforce(
        env, pg.LinearSoftmax(pg.features.Identity(1), 2), episodes_per_update=20, seed=0,
        workers=ray_session[2],
    )  # fmt: skip
    with pytest.raises(pg.distributed.WorkerError, match=r"worker 0 .*UserCodeError") as e:
        algo.step()
    assert isinstance(e.value.__cause__, pg.UserCodeError)
    assert algo.iterations_done == 0


@pytest.mark.ray
def test_ctrl_c_stops_a_distributed_update_within_a_second(ray_session):
    """SIGINT 0.3 s into an update of ~1-2 s (2 million 5-step episodes): the driver
    raises KeyboardInterrupt within a second, nothing is updated, the workers stop.
    A handler that only raises during the update keeps a late signal (an update that
    beat it) from interrupting pytest itself: the test then fails by saying so."""
    pool = ray_session[2]
    env = pg.make("CartPole-v1", num_envs=4, seed=0, max_episode_steps=5)
    policy = pg.LinearSoftmax(pg.features.Identity(4), 2)
    algo = pg.Reinforce(env, policy, episodes_per_update=2_000_000, seed=0, workers=pool)
    before = policy.theta.copy()
    main = threading.main_thread().ident
    assert main is not None
    stepping, sent, late = threading.Event(), [], []

    def on_sigint(signum, frame):
        if not stepping.is_set():
            late.append(signum)
            return
        raise KeyboardInterrupt

    def interrupt():
        stepping.wait()
        time.sleep(0.3)
        sent.append(time.perf_counter())
        signal.pthread_kill(main, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        sender = threading.Thread(target=interrupt)
        sender.start()
        stepping.set()
        with pytest.raises(KeyboardInterrupt):
            algo.step()
        stepping.clear()
        sender.join()
    finally:
        stepping.clear()
        signal.signal(signal.SIGINT, previous)
    assert not late, "the update finished before the signal: make it longer"
    assert time.perf_counter() - sent[0] < 1.0
    np.testing.assert_array_equal(policy.theta, before)
    assert algo.iterations_done == 0
    # The workers stopped too: a small update goes through at once.
    algo2 = pg.Reinforce(*cartpole(), episodes_per_update=32, seed=0, workers=pool)
    start = time.perf_counter()
    algo2.step()
    assert time.perf_counter() - start < 30
