"""pg.NativeEnv and pg.features.Custom: your own env and features, compiled by numba.

The oracle for the example CartPole (examples/native_cartpole.py) is Gymnasium's
CartPole-v1, by state injection as for the built-in envs
(test_envs_gymnasium.py), and pgfast's built-in CartPole, which it must equal
step for step and through training, bit for bit.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import pickle
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from _subprocess import run_cli, run_isolated, run_python

import pgfast as pg

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "native_cartpole.py"


def load_example():
    spec = importlib.util.spec_from_file_location("native_cartpole_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # importable again, so that pickle finds its functions
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cartpole() -> pg.NativeEnv:
    return load_example().CARTPOLE


# --------------------------------------------------------------------- parity


def test_spaces_and_backend(cartpole):
    env = pg.make(cartpole, num_envs=3, seed=0)
    genv = gym.make("CartPole-v1")
    assert env.backend == "numba"
    assert env.single_observation_space == genv.observation_space
    assert env.single_observation_space.dtype == np.float32
    assert env.single_action_space == genv.action_space
    assert env.max_episode_steps == genv.spec.max_episode_steps == 500
    assert env.id == "NativeCartPole-v1"


def test_one_step_from_injected_states_matches_gymnasium(cartpole):
    rng = np.random.default_rng(7)
    states = rng.uniform([-5, -5, -0.6, -5], [5, 5, 0.6, 5], size=(2000, 4))
    states[:4] = [[2.4, 0, 0, 0], [0, 0, 0.20943951023931953, 0], [0, 0, 0, 0], [0, 0, 0.2, 30]]
    states = np.repeat(states, 2, axis=0)
    actions = np.tile(np.array([0, 1], dtype=np.int64), len(states) // 2)
    env = pg.make(cartpole, num_envs=len(states), seed=0)
    env.set_state(states)
    obs, reward, terminated, truncated, _ = env.step(actions)
    after = env.get_state()
    genv = gym.make("CartPole-v1", disable_env_checker=True)
    genv.reset(seed=0)
    for i in range(len(states)):
        genv.unwrapped.state = states[i].copy()
        genv.unwrapped.steps_beyond_terminated = None
        g_obs, g_reward, g_term, _, _ = genv.unwrapped.step(int(actions[i]))
        context = f"state {states[i].tolist()} action {actions[i]}"
        np.testing.assert_array_equal(after[i], genv.unwrapped.state, err_msg=context)
        np.testing.assert_array_equal(obs[i], g_obs, err_msg=context)
        assert (reward[i], terminated[i], truncated[i]) == (g_reward, g_term, False), context


def test_whole_episodes_match_gymnasium_across_the_time_limit(cartpole):
    """After each reset the native env's initial state is injected into Gymnasium
    (their random streams differ); then both run freely, past the 500-step limit."""
    rng = np.random.default_rng(3)
    env = pg.make(cartpole, num_envs=1, seed=11)
    genv = gym.make("CartPole-v1", disable_env_checker=True)
    obs, _ = env.reset(seed=11)
    genv.reset(seed=0)
    genv.unwrapped.state = env.get_state()[0].copy()
    ends = {"terminated": 0, "truncated": 0}
    explore = 0.02
    for t in range(1600):
        o = obs[0]
        a = int(o[2] + 0.5 * o[3] > 0) if rng.random() >= explore else int(rng.integers(2))
        obs, reward, terminated, truncated, _ = env.step(np.array([a]))
        g_obs, g_reward, g_term, g_trunc, _ = genv.step(a)
        np.testing.assert_array_equal(obs[0], g_obs, err_msg=f"step {t}")
        assert (reward[0], terminated[0], truncated[0]) == (g_reward, g_term, g_trunc), t
        if terminated[0] or truncated[0]:
            ends["terminated" if terminated[0] else "truncated"] += 1
            explore = 1.0 if explore < 1.0 else 0.02  # alternate: balance, then fall
            obs, reward, terminated, truncated, _ = env.step(np.array([a]))  # next-step reset
            assert (reward[0], terminated[0], truncated[0]) == (0.0, False, False)
            genv.reset()
            genv.unwrapped.state = env.get_state()[0].copy()
    assert ends["terminated"] >= 1, ends
    assert ends["truncated"] >= 1, ends


def test_equals_the_builtin_cartpole_step_for_step(cartpole):
    native = pg.make(cartpole, num_envs=64, seed=5)
    builtin = pg.make("CartPole-v1", num_envs=64, seed=5)
    rng = np.random.default_rng(0)
    for env in (native, builtin):
        env.reset(seed=9)
    states = rng.uniform(-0.2, 0.2, size=(64, 4))
    native.set_state(states)
    builtin.set_state(states)
    for t in range(1200):  # resets included: both draw them from stream (seed, i)
        actions = rng.integers(0, 2, 64)
        for ours, theirs in zip(native.step(actions)[:4], builtin.step(actions)[:4], strict=True):
            np.testing.assert_array_equal(ours, theirs, err_msg=f"step {t}")
        np.testing.assert_array_equal(native.get_state(), builtin.get_state())


def test_reset_mask_and_states_follow_the_vector_env_contract(cartpole):
    native = pg.make(cartpole, num_envs=4, seed=3)
    builtin = pg.make("CartPole-v1", num_envs=4, seed=3)
    mask = np.array([True, False, True, False])
    for env in (native, builtin):
        env.reset(seed=3)
        for _ in range(5):
            env.step(np.ones(4, dtype=np.int64))
    before = native.get_state()
    obs, _ = native.reset(options={"reset_mask": mask})
    ref_obs, _ = builtin.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(obs[mask], ref_obs[mask])
    np.testing.assert_array_equal(native.get_state()[~mask], before[~mask])
    np.testing.assert_array_equal(native.elapsed_steps(), builtin.elapsed_steps())
    with pytest.raises(ValueError, match="finite"):
        native.set_state(np.full((4, 4), np.nan))
    np.testing.assert_array_equal(native.get_state()[~mask], before[~mask])


def train(env, iterations=8, threads=None, features=None):
    policy = pg.LinearSoftmax(features or pg.features.Identity(4), n_actions=2)
    algo = pg.Reinforce(env, policy, lr=0.05, episodes_per_update=24, seed=3, num_threads=threads)
    history = algo.train(iterations)
    return policy.theta.copy(), history


def test_training_equals_the_builtin_cartpole_bitwise(cartpole):
    theta, history = train(pg.make(cartpole, num_envs=8, seed=1))
    ref_theta, ref_history = train(pg.make("CartPole-v1", num_envs=8, seed=1))
    np.testing.assert_array_equal(theta, ref_theta)
    for key in ("return_mean", "grad_norm", "env_steps"):
        np.testing.assert_array_equal(history[key], ref_history[key])


def test_training_is_bitwise_identical_for_any_thread_count(cartpole):
    results = [train(pg.make(cartpole, num_envs=8, seed=2), threads=t) for t in (1, 2, 4)]
    for theta, history in results[1:]:
        np.testing.assert_array_equal(theta, results[0][0])
        np.testing.assert_array_equal(history["return_mean"], results[0][1]["return_mean"])


def test_evaluate_and_rollout_accept_it(cartpole):
    env = pg.make(cartpole, num_envs=4, seed=0)
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    returns = pg.evaluate(env, policy, episodes=6, seed=0)
    assert returns.shape == (6,)
    assert np.all(returns >= 1)
    ro = pg.rollout(env, policy, episodes=3, seed=0)
    assert ro.steps >= 3
    assert np.all(ro.rewards == 1.0)


# ------------------------------------------------------ stochastic dynamics


def noisy_walk() -> pg.NativeEnv:
    """A random walk whose steps use two uniforms: randomness only from pgfast's streams."""

    def reset(state, u):
        state[0] = u[0] - 0.5

    def step(state, action, u):
        push = 0.1 if action[0] == 1 else -0.1
        state[0] += push + 0.05 * (u[0] - u[1])
        return -abs(state[0]), abs(state[0]) > 1.0

    def observe(state, obs):
        obs[0] = state[0]

    return pg.NativeEnv(
        "NoisyWalk-v0",
        reset=reset,
        step=step,
        observe=observe,
        state_dim=1,
        observation_space=gym.spaces.Box(-np.inf, np.inf, (1,), dtype=np.float64),
        action_space=gym.spaces.Discrete(2),
        max_episode_steps=40,
        reset_uniforms=1,
        step_uniforms=2,
    )


def walk(spec, num_envs, seed, steps=120):
    env = pg.make(spec, num_envs=num_envs, seed=seed)
    rng = np.random.default_rng(0)
    obs_seq = [env.reset(seed=seed)[0]]
    for _ in range(steps):
        obs_seq.append(env.step(rng.integers(0, 2, num_envs))[0])
    return np.stack(obs_seq)


def test_stochastic_dynamics_reproducible_per_seed_and_independent_of_num_envs():
    spec = noisy_walk()
    a, b = walk(spec, 3, seed=4), walk(spec, 3, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, walk(spec, 3, seed=5))
    # Env i's uniforms come from stream (seed, i), whatever num_envs is; the
    # actions differ with num_envs, so compare env 0 under the same actions.
    wide = pg.make(spec, num_envs=7, seed=4)
    narrow = pg.make(spec, num_envs=2, seed=4)
    wide.reset(seed=4)
    narrow.reset(seed=4)
    for _ in range(100):
        o_w = wide.step(np.ones(7, dtype=np.int64))[0]
        o_n = narrow.step(np.ones(2, dtype=np.int64))[0]
        np.testing.assert_array_equal(o_w[:2], o_n)


def test_stochastic_training_identical_across_threads():
    spec = noisy_walk()
    results = []
    for threads in (1, 2, 4):
        policy = pg.LinearSoftmax(pg.features.Identity(1), n_actions=2)
        algo = pg.Reinforce(
            pg.make(spec, num_envs=6, seed=0),
            policy,
            episodes_per_update=18,
            seed=0,
            num_threads=threads,
        )
        algo.train(5)
        results.append(policy.theta.copy())
    for theta in results[1:]:
        np.testing.assert_array_equal(theta, results[0])


def test_continuous_actions_and_discrete_observations():
    """A Box-action env (Gaussian policy) and a Discrete-observation env (table policy)."""

    def reset(state, u):
        state[0] = 2.0 * u[0] - 1.0

    def step(state, action, u):
        state[0] = 0.9 * state[0] + action[0]
        return -(state[0] ** 2) - 0.1 * action[0] ** 2, False

    def observe(state, obs):
        obs[0] = state[0]

    spec = pg.NativeEnv(
        "Scalar-LQR-v0",
        reset=reset,
        step=step,
        observe=observe,
        state_dim=1,
        observation_space=gym.spaces.Box(-np.inf, np.inf, (1,)),
        action_space=gym.spaces.Box(-2.0, 2.0, (1,), dtype=np.float64),
        max_episode_steps=20,
        reset_uniforms=1,
    )
    policy = pg.LinearGaussian(pg.features.Identity(1), action_dim=1, log_std=-0.5)
    algo = pg.Reinforce(
        pg.make(spec, num_envs=4, seed=0), policy, lr=0.05, episodes_per_update=32, seed=0
    )
    history = algo.train(40)
    # The best linear controller drives x to 0 within a few steps; a random one does not.
    assert history["return_mean"][-5:].mean() > history["return_mean"][:5].mean()

    def chain_reset(state, u):
        state[0] = 0.0

    def chain_step(state, action, u):
        state[0] = min(state[0] + 1.0, 4.0) if action[0] == 1 else max(state[0] - 1.0, 0.0)
        return (1.0 if state[0] == 4.0 else 0.0), state[0] == 4.0

    def chain_observe(state, obs):
        obs[0] = int(state[0])

    chain = pg.NativeEnv(
        "Chain-v0",
        reset=chain_reset,
        step=chain_step,
        observe=chain_observe,
        state_dim=1,
        observation_space=gym.spaces.Discrete(5),
        action_space=gym.spaces.Discrete(2),
        max_episode_steps=30,
    )
    env = pg.make(chain, num_envs=2, seed=0)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.int64
    assert obs.shape == (2,)
    policy = pg.LinearSoftmax(pg.features.OneHot(5), n_actions=2)
    history = pg.Reinforce(env, policy, lr=0.2, episodes_per_update=16, seed=0).train(30)
    assert history["length_mean"][-1] < history["length_mean"][0]


def test_pickles_as_its_recipe(cartpole):
    clone = pickle.loads(pickle.dumps(cartpole))
    assert clone is not cartpole
    assert clone.id == cartpole.id
    a = walk_cartpole(cartpole)
    np.testing.assert_array_equal(a, walk_cartpole(clone))


def walk_cartpole(spec):
    env = pg.make(spec, num_envs=4, seed=0)
    env.reset(seed=0)
    return np.stack([env.step(np.ones(4, dtype=np.int64))[0] for _ in range(50)])


# ------------------------------------------------------------ Custom features


def fourier_direct(order, low, high):
    """Konidaris et al.'s Fourier basis written plainly: cos(pi c . x01) for every c,
    dimension 0 varying fastest (pgfast's order)."""
    dim = len(low)
    coeffs = np.array(list(itertools.product(range(order + 1), repeat=dim)), dtype=np.float64)
    coeffs = coeffs[:, ::-1].copy()

    def features(obs, out):
        for i in range(coeffs.shape[0]):
            acc = 0.0
            for j in range(dim):
                x = (obs[j] - low[j]) / (high[j] - low[j])
                acc += coeffs[i, j] * min(max(x, 0.0), 1.0)
            out[i] = math.cos(math.pi * acc)

    return features, coeffs.shape[0]


def test_custom_fourier_equals_the_builtin_fourier():
    low, high = np.array([-2.4, -3.0, -0.21, -3.5]), np.array([2.4, 3.0, 0.21, 3.5])
    fn, n = fourier_direct(3, low, high)
    custom = pg.features.Custom(fn, n_features=n, obs_dim=4)
    builtin = pg.features.Fourier(3, low, high)
    obs = np.random.default_rng(0).uniform(-4, 4, size=(3000, 4))
    np.testing.assert_allclose(custom(obs), builtin(obs), rtol=0, atol=1e-12)
    # Through the engine: training with either map follows the same path.
    theta_c, _ = train(pg.make("CartPole-v1", num_envs=4, seed=0), 3, features=custom)
    theta_b, _ = train(pg.make("CartPole-v1", num_envs=4, seed=0), 3, features=builtin)
    np.testing.assert_allclose(theta_c, theta_b, rtol=0, atol=1e-9)


def test_custom_features_entries_left_alone_are_zero():
    def only_first(obs, out):
        out[0] = obs[0]

    phi = pg.features.Custom(only_first, n_features=3, obs_dim=2)
    np.testing.assert_array_equal(phi(np.array([[5.0, 6.0]])), [[5.0, 0.0, 0.0]])
    assert phi.n_features == 3
    assert phi.obs_dim == 2


# ------------------------------------------------------------------- errors

BAD_CODE = {
    "raises": (
        "step",
        "def step(state, action, u):\n"
        "    state[1] += 1.0\n"
        "    if state[1] > 3:\n"
        "        raise ValueError('the cart fell off the table')\n"
        "    return 1.0, False\n",
        "ValueError: the cart fell off the table",
    ),
    "nan_reward": (
        "step",
        "def step(state, action, u):\n"
        "    state[1] += 1.0\n"
        "    return (math.nan if state[1] > 3 else 1.0), False\n",
        "reward nan",
    ),
    "inf_reward": (
        "step",
        "def step(state, action, u):\n    state[1] += 1.0\n    return math.inf, False\n",
        "reward inf",
    ),
    "nan_state": (
        "step",
        "def step(state, action, u):\n"
        "    state[1] += 1.0\n"
        "    if state[1] > 2:\n"
        "        state[0] = math.nan\n"
        "    return 1.0, False\n",
        "state[0] = nan",
    ),
    "nan_observation": (
        "observe",
        "def observe(state, obs):\n"
        "    obs[0] = math.nan if state[1] > 2 else state[0]\n"
        "    obs[1] = state[1]\n",
        "obs[0] = nan",
    ),
    "observe_raises": (
        "observe",
        "def observe(state, obs):\n"
        "    if state[1] > 2:\n"
        "        raise KeyError('no such sensor')\n"
        "    obs[0] = state[0]\n    obs[1] = state[1]\n",
        "KeyError: 'no such sensor'",
    ),
    "out_of_bounds": (
        "step",
        "def step(state, action, u):\n    state[1] += 1.0\n    state[7] = 1.0\n"
        "    return 1.0, False\n",
        "IndexError",
    ),
    "division_by_zero": (
        "step",
        "def step(state, action, u):\n    state[1] += 1.0\n"
        "    return 1.0 / (state[1] - state[1]), False\n",
        "divide by zero",  # numba's ZeroDivisionError; NumPy's FloatingPointError when replayed
    ),
    "features_raise": (
        "features",
        "def features(obs, out):\n"
        "    if obs[1] > 2:\n"
        "        raise RuntimeError('feature blew up')\n"
        "    out[0] = obs[0]\n    out[1] = 1.0\n",
        "RuntimeError: feature blew up",
    ),
}

CHILD = """
import json, math
import numpy as np, gymnasium as gym, pgfast as pg

def reset(state, u):
    state[0] = u[0]

def step(state, action, u):
    state[1] += 1.0
    return 1.0, False

def observe(state, obs):
    obs[0] = state[0]
    obs[1] = state[1]

features = None
{bad}
spec = pg.NativeEnv("Bad-v0", reset=reset, step=step, observe=observe, state_dim=2,
                    observation_space=gym.spaces.Box(-np.inf, np.inf, (2,)),
                    action_space=gym.spaces.Discrete(2), max_episode_steps=50, reset_uniforms=1)
phi = (pg.features.Custom(features, n_features=2, obs_dim=2) if features is not None
       else pg.features.Identity(2))
policy = pg.LinearSoftmax(phi, n_actions=2)
policy.theta[:] = 0.1
algo = pg.Reinforce(pg.make(spec, num_envs=3, seed=0), policy, episodes_per_update=6, seed=0,
                    optimizer="adam")
before = policy.theta.copy()
try:
    algo.train(2)
    print(json.dumps({{"raised": None}}))
except pg.UserCodeError as e:
    print(json.dumps({{
        "raised": type(e).__name__, "message": str(e), "function": e.function,
        "env_index": e.env_index, "cause": repr(e.__cause__),
        "unchanged": bool(np.array_equal(before, policy.theta)),
    }}))
"""


@pytest.mark.parametrize("kind", sorted(BAD_CODE))
def test_bad_user_code_raises_a_python_exception_naming_the_function(kind):
    function, source, expected = BAD_CODE[kind]
    out = run_isolated(CHILD.format(bad=source), timeout=180)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["raised"] == "UserCodeError", result
    assert result["function"] == function
    assert f"{function} in env {result['env_index']}" in result["message"]
    assert 0 <= result["env_index"] < 3
    assert expected in result["message"] + result["cause"], result
    assert result["unchanged"], "the policy was updated by the failed iteration"


def test_a_failed_step_leaves_the_env_as_before():
    def reset(state, u):
        state[0] = 0.0

    def step(state, action, u):
        state[0] += 1.0
        if state[0] > 2.5:
            raise ValueError("too far")
        return 0.0, False

    def observe(state, obs):
        obs[0] = state[0]

    spec = pg.NativeEnv(
        "Fails-v0",
        reset=reset,
        step=step,
        observe=observe,
        state_dim=1,
        observation_space=gym.spaces.Box(-np.inf, np.inf, (1,)),
        action_space=gym.spaces.Discrete(2),
    )
    env = pg.make(spec, num_envs=2, seed=0)
    env.reset(seed=0)
    env.step(np.zeros(2, dtype=np.int64))
    env.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(pg.UserCodeError, match="step in env 0 raised ValueError: too far") as info:
        env.step(np.zeros(2, dtype=np.int64))
    np.testing.assert_array_equal(info.value.inputs["state"], [2.0])
    assert isinstance(info.value.__cause__, ValueError)
    assert env.get_state()[0, 0] == 2.0


def test_code_numba_cannot_compile_names_the_function():
    def step(state, action, u):
        return rewrad, False  # noqa: F821 - the typo numba must report

    with pytest.raises(pg.native.CompileError, match=r"(?s)Typing-v0's step function.*rewrad"):
        pg.NativeEnv(
            "Typing-v0",
            reset=lambda s, u: None,
            step=step,
            observe=lambda s, o: None,
            state_dim=1,
            observation_space=gym.spaces.Box(-1, 1, (1,)),
            action_space=gym.spaces.Discrete(2),
        )


@pytest.mark.parametrize(
    ("body", "returns"),
    [("return 1.0", "float64"), ("pass", "none"), ("return 1.0, 'no'", "Literal")],
)
def test_step_must_return_reward_and_terminated(body, returns):
    namespace: dict = {}
    exec(f"def step(state, action, u):\n    {body}\n", namespace)
    with pytest.raises(pg.native.CompileError, match=f"must return .reward, terminated.*{returns}"):
        pg.NativeEnv(
            "Returns-v0",
            reset=lambda s, u: None,
            step=namespace["step"],
            observe=lambda s, o: None,
            state_dim=1,
            observation_space=gym.spaces.Box(-1, 1, (1,)),
            action_space=gym.spaces.Discrete(2),
        )


def test_discrete_observation_outside_its_space_is_refused():
    def observe(state, obs):
        obs[0] = 9

    spec = pg.NativeEnv(
        "Outside-v0",
        reset=lambda s, u: None,
        step=lambda s, a, u: (0.0, False),
        observe=observe,
        state_dim=1,
        observation_space=gym.spaces.Discrete(3),
        action_space=gym.spaces.Discrete(2),
    )
    env = pg.make(spec, num_envs=1, seed=0)
    with pytest.raises(pg.UserCodeError, match=r"observe in env 0 wrote obs\[0\] = 9, outside"):
        env.reset(seed=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"state_dim": 0}, "state_dim"),
        ({"reset_uniforms": 300}, "reset_uniforms"),
        ({"observation_space": gym.spaces.Box(-1, 1, (2, 2))}, "one-dimensional"),
        ({"action_space": gym.spaces.MultiBinary(3)}, "Discrete or Box"),
        ({"step": 3}, "must be a function"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(
        reset=lambda s, u: None,
        step=lambda s, a, u: (0.0, False),
        observe=lambda s, o: None,
        state_dim=1,
        observation_space=gym.spaces.Box(-1, 1, (1,)),
        action_space=gym.spaces.Discrete(2),
    )
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        pg.NativeEnv("Args-v0", **args)


def test_without_numba_a_clear_import_error():
    out = run_python(
        """
        import sys
        sys.modules["numba"] = None  # as if not installed
        import gymnasium as gym, pgfast as pg
        try:
            pg.NativeEnv("X-v0", reset=lambda s, u: None, step=lambda s, a, u: (0.0, False),
                         observe=lambda s, o: None, state_dim=1,
                         observation_space=gym.spaces.Box(-1, 1, (1,)),
                         action_space=gym.spaces.Discrete(2))
        except ImportError as e:
            print("ImportError:", e)
        try:
            pg.features.Custom(lambda o, f: None, n_features=1, obs_dim=1)
        except ImportError as e:
            print("ImportError:", e)
        """,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("ImportError")]
    assert len(lines) == 2, out.stdout
    assert all('pip install "pgfast-rl[numba]"' in line for line in lines)


def test_cli_trains_a_native_env_from_its_file(tmp_path):
    out = tmp_path / "run"
    result = run_cli(
        "train",
        "examples/native_cartpole.py:CARTPOLE",  # relative to the working directory
        "--iterations",
        "2",
        "--seed",
        "0",
        "--out",
        str(out),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    first = (result.stderr or result.stdout).splitlines()[0]
    assert "NativeCartPole-v1: numba" in first, first
    config = json.loads((out / "config.json").read_text())
    assert config["env_id"] == f"{EXAMPLE}:CARTPOLE"  # absolute: evaluate works from anywhere
    assert config["env_backend"] == "numba"
    evaluated = run_cli("evaluate", str(out), "--episodes", "2", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]


# ------------------------------------------------ found in review (issue 11)


def one_dim_env(step, reset=None, name="Review-v0", action_space=None):
    def default_reset(state, u):
        state[0] = 0.0

    def observe(state, obs):
        obs[0] = state[0]

    return pg.NativeEnv(
        name,
        reset=reset or default_reset,
        step=step,
        observe=observe,
        state_dim=1,
        observation_space=gym.spaces.Box(-np.inf, np.inf, (1,)),
        action_space=action_space or gym.spaces.Discrete(2),
    )


def test_a_native_env_cannot_change_after_it_is_compiled():
    spec = one_dim_env(lambda s, a, u: (0.0, False))
    with pytest.raises(AttributeError, match="cannot change after it is compiled"):
        spec.state_dim = 5
    with pytest.raises(AttributeError, match="cannot change"):
        spec.step = lambda s, a, u: (1.0, False)


def test_a_users_own_njit_function_is_bounds_checked_too():
    import numba

    @numba.njit  # compiled by the user, without bounds checks
    def step(state, action, u):
        state[3] = 1.0
        return 0.0, False

    env = pg.make(one_dim_env(step), num_envs=1, seed=0)
    env.reset(seed=0)
    with pytest.raises(pg.UserCodeError, match="IndexError"):
        env.step(np.zeros(1, dtype=np.int64))


def test_a_float32_action_space_gets_float32_actions():
    def step(state, action, u):
        state[0] = action[0]
        return 0.0, False

    box = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)
    env = pg.make(one_dim_env(step, action_space=box), num_envs=1, seed=0)
    env.reset(seed=0)
    env.step(np.full((1, 1), 0.1))
    assert env.get_state()[0, 0] == float(np.float32(0.1)) != 0.1


def test_the_callers_action_array_is_never_written():
    def step(state, action, u):
        action[0] = 99.0
        return 0.0, False

    box = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float64)
    env = pg.make(one_dim_env(step, action_space=box), num_envs=1, seed=0)
    env.reset(seed=0)
    actions = np.full((1, 1), 0.5)
    env.step(actions)
    assert actions[0, 0] == 0.5


def test_a_failed_reset_leaves_a_zero_state_that_resets_again_naming_the_env():
    def reset(state, u):
        state[0] = 7.0
        if u[0] > 0.5:
            raise ValueError("no initial state")
        state[0] = u[0]

    spec = pg.NativeEnv(
        "FlakyReset-v0",
        reset=reset,
        step=lambda s, a, u: (1.0, False),
        observe=lambda s, o: None,
        state_dim=1,
        observation_space=gym.spaces.Box(-np.inf, np.inf, (1,)),
        action_space=gym.spaces.Discrete(2),
        reset_uniforms=1,
    )
    env = None
    for seed in range(50):  # a seed whose first reset (in make) succeeds
        try:
            env = pg.make(spec, num_envs=1, seed=seed)
            break
        except pg.UserCodeError:
            continue
    assert env is not None
    messages = []
    for seed in range(50):  # then a reset that fails
        try:
            env.reset(seed=seed)
        except pg.UserCodeError as e:
            messages.append(str(e))
            break
    assert messages, "no failing reset in 50 seeds"
    assert "reset in env 0 raised ValueError: no initial state" in messages[0]
    np.testing.assert_array_equal(env.get_state(), [[0.0]])  # no half-written 7.0
    # Not stepped from a made-up state: the next step resets the env (reward 0),
    # or fails in reset again, naming the env.
    try:
        outcome = str(env.step(np.zeros(1, dtype=np.int64))[1][0])
    except pg.UserCodeError as e:
        outcome = str(e)
    assert outcome == "0.0" or "reset in env 0" in outcome, outcome


def test_after_a_failed_batch_step_every_env_starts_over():
    def step(state, action, u):
        state[0] += 1.0
        if state[0] > 1.5 and action[0] == 1:
            raise ValueError("boom")
        return 1.0, False

    env = pg.make(one_dim_env(step), num_envs=2, seed=0)
    env.reset(seed=0)
    env.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(pg.UserCodeError, match="step in env 1"):
        env.step(np.array([0, 1]))
    obs, reward, *_ = env.step(np.zeros(2, dtype=np.int64))
    np.testing.assert_array_equal(reward, [0.0, 0.0])  # the reset step of next-step autoreset
    np.testing.assert_array_equal(obs, [[0.0], [0.0]])


def test_user_code_errors_pickle():
    error = pg.UserCodeError("X-v0: step in env 3 raised", "step", 3, "raised", {"u": np.ones(2)})
    clone = pickle.loads(pickle.dumps(error))
    assert (str(clone), clone.function, clone.env_index, clone.kind) == (
        str(error),
        "step",
        3,
        "raised",
    )


def squares_and_bias(obs, out):
    for k in range(obs.shape[0]):
        out[k] = obs[k] * obs[k]
    out[obs.shape[0]] = 1.0


def test_a_custom_policy_saves_and_loads_from_an_imported_module(tmp_path):
    phi = pg.features.Custom(squares_and_bias, n_features=5, obs_dim=4)
    policy = pg.LinearSoftmax(phi, n_actions=2)
    policy.theta[:] = np.arange(10.0).reshape(5, 2)
    policy.save(str(tmp_path / "p.npz"))
    loaded = pg.load_policy(str(tmp_path / "p.npz"))
    np.testing.assert_array_equal(loaded.theta, policy.theta)
    obs = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(loaded.log_probs(obs), policy.log_probs(obs))


def test_loading_never_imports_a_module():
    with pytest.raises(ValueError, match="import not_imported_anywhere first"):
        pg.features.from_config(
            {"kind": "custom", "fn": "not_imported_anywhere:f", "n_features": 1, "obs_dim": 1}
        )
    assert "not_imported_anywhere" not in sys.modules
