"""REINFORCE on CartPole-v1 in JAX + gymnax, jitted (vmap over 16 envs, lax.scan over time).

The JAX peer of pgfast's fused training loop. One jitted update function does
the rollout (gymnax's CartPole vmapped over 16 envs, a lax.scan over the 500
steps an episode can last), the reward-to-go (a reverse lax.scan), the gradient
(an einsum) and the Adam step. Compile time is measured apart (ahead-of-time
lower + compile) and is not in the training wall time.

    python benchmarks/reference_jax.py                 # seeds 0-4, 300 iterations
    python benchmarks/reference_jax.py --quick         # seeds 0-2, stop at return 475
    python benchmarks/reference_jax.py --rollout while # stop the rollout when all 16 end
    python benchmarks/reference_jax.py --x64           # float64 dynamics and parameters

JAX and gymnax are optional: without them the script says so and exits with
status 0. They are not in the dev venv; a separate venv has them, e.g.
``python3 -m venv /work/benchvenv && /work/benchvenv/bin/pip install jax gymnax six``
(gymnax 1.0.1 imports ``six`` without declaring it).

The algorithm is the one in benchmarks/reference_numpy.py and benchmarks/limit/:
linear softmax on phi(s) = [s, 1], theta (5, 2) = 0, 16 complete episodes per
update, reward-to-go with gamma 0.99 (no gamma^t factor), batch-mean baseline,
g = (1/16) sum outer(phi, e_a - pi) (Psi - b), Adam ascent (lr 0.05, 0.9, 0.999,
1e-8). Differences that come with the peer, stated rather than hidden:
- By default JAX computes in float32 (gymnax's dynamics, theta and Adam); with
  ``--x64`` the dynamics, theta and Adam are float64 and the features are the
  float32-rounded observation widened to float64, as in the other two.
- gymnax's CartPole-v1 uses Gymnasium's equations and constants, with its own
  random streams; actions are sampled with jax.random.categorical.
- ``--rollout scan`` (default) always runs 500 steps per update and masks the
  steps after each episode's end; ``--rollout while`` uses lax.while_loop and
  stops when the longest episode of the batch ends (the NumPy reference's
  behaviour). "env steps" counts only the steps inside the 16 episodes.

Prints numbers only; never asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

JAX_MISSING = "jax not installed (pip install jax gymnax six into a separate venv)"

N_ACTIONS = 2
N_FEATURES = 5
MAX_EPISODE_STEPS = 500


def available() -> str | None:
    """None when jax and gymnax import, else the reason they don't."""
    try:
        import gymnax  # noqa: F401
        import jax  # noqa: F401
    except ImportError as exc:
        return f"{JAX_MISSING}: {exc}"
    return None


def _build_update(
    episodes_per_update: int,
    lr: float,
    gamma: float,
    beta1: float,
    beta2: float,
    eps: float,
    rollout: str,
    x64: bool,
    chunk: int,
):
    """The jitted update: ``chunk`` REINFORCE iterations from ``(theta, m, v, step, key)``."""
    import gymnax
    import jax
    import jax.numpy as jnp

    env, params = gymnax.make("CartPole-v1")
    n = episodes_per_update
    T = MAX_EPISODE_STEPS
    ftype = jnp.float64 if x64 else jnp.float32
    v_reset = jax.vmap(env.reset, in_axes=(0, None))
    v_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def features(obs):
        if x64:  # the float32 observation Gymnasium returns, widened to float64
            obs = obs.astype(jnp.float32).astype(jnp.float64)
        return jnp.concatenate([obs.astype(ftype), jnp.ones((n, 1), ftype)], axis=1)

    def policy_step(theta, key, obs, state, alive):
        k_act, k_step = jax.random.split(key)
        phi = features(obs)
        logits = phi @ theta
        action = jax.random.categorical(k_act, logits, axis=-1)
        probs = jax.nn.softmax(logits, axis=-1)
        obs, state, reward, terminated, truncated, _ = v_step(
            jax.random.split(k_step, n), state, action, params
        )
        reward = jnp.where(alive, reward.astype(ftype), 0.0)
        new_alive = alive & ~(terminated | truncated)
        return obs, state, new_alive, (phi, action, probs, reward, alive)

    def rollout_scan(theta, key, obs, state):
        def body(carry, k):
            obs, state, alive = carry
            obs, state, alive, out = policy_step(theta, k, obs, state, alive)
            return (obs, state, alive), out

        keys = jax.random.split(key, T)
        _, (phi, act, probs, rew, alive) = jax.lax.scan(body, (obs, state, jnp.ones(n, bool)), keys)
        return phi, act, probs, rew, alive

    def rollout_while(theta, key, obs, state):
        bufs = (
            jnp.zeros((T, n, N_FEATURES), ftype),
            jnp.zeros((T, n), jnp.int32),
            jnp.zeros((T, n, N_ACTIONS), ftype),
            jnp.zeros((T, n), ftype),
            jnp.zeros((T, n), bool),
        )

        def cond(carry):
            t, _, _, _, alive, _ = carry
            return (t < T) & jnp.any(alive)

        def body(carry):
            t, key, obs, state, alive, bufs = carry
            key, k = jax.random.split(key)
            obs, state, alive, out = policy_step(theta, k, obs, state, alive)
            bufs = tuple(b.at[t].set(o.astype(b.dtype)) for b, o in zip(bufs, out, strict=True))
            return t + 1, key, obs, state, alive, bufs

        carry = (jnp.int32(0), key, obs, state, jnp.ones(n, bool), bufs)
        *_, bufs = jax.lax.while_loop(cond, body, carry)
        return bufs

    do_rollout = rollout_scan if rollout == "scan" else rollout_while

    def one_update(carry, _):
        theta, m, v, step, key = carry
        key, k_reset, k_roll = jax.random.split(key, 3)
        obs, state = v_reset(jax.random.split(k_reset, n), params)
        phi, act, probs, rew, alive = do_rollout(theta, k_roll, obs, state)

        # reward-to-go, backwards over time for the 16 episodes at once
        def back(running, r):
            running = r + gamma * running
            return running, running

        _, psi = jax.lax.scan(back, jnp.zeros(n, ftype), rew, reverse=True)
        mask = alive.astype(ftype)
        n_steps = mask.sum()
        baseline = (psi * mask).sum() / n_steps
        adv = (psi - baseline) * mask  # (T, n)
        dlog = jax.nn.one_hot(act, N_ACTIONS, dtype=ftype) - probs  # (T, n, A)
        grad = jnp.einsum("tnf,tna->fa", phi, dlog * adv[..., None]) / n

        step = step + 1
        m = beta1 * m + (1.0 - beta1) * grad
        v = beta2 * v + (1.0 - beta2) * grad * grad
        mhat = m / (1.0 - beta1**step)
        vhat = v / (1.0 - beta2**step)
        theta = theta + lr * mhat / (jnp.sqrt(vhat) + eps)
        mean_return = rew.sum(axis=0).mean()
        return (theta, m, v, step, key), (mean_return, n_steps.astype(jnp.int32))

    def update(theta, m, v, step, key):
        carry, (returns, steps) = jax.lax.scan(
            one_update, (theta, m, v, step, key), None, length=chunk
        )
        return carry, returns, steps

    return jax.jit(update), ftype


def train(
    iterations: int,
    seed: int = 0,
    target_return: float | None = None,
    *,
    episodes_per_update: int = 16,
    lr: float = 0.05,
    gamma: float = 0.99,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    stop_at_target: bool = True,
    rollout: str = "scan",
    x64: bool = False,
    chunk: int = 1,
) -> dict:
    """Train with REINFORCE and return the history (same keys as reference_numpy.train,
    plus ``compile_time``). ``chunk`` iterations run per jitted call (a lax.scan over
    iterations); the target is checked, and wall time recorded, once per call.
    Raises ImportError when jax or gymnax is missing."""
    reason = available()
    if reason is not None:
        raise ImportError(reason)
    import jax
    import numpy as np

    if x64:
        jax.config.update("jax_enable_x64", True)
    elif jax.config.jax_enable_x64:
        raise RuntimeError("jax_enable_x64 is already on in this process; pass x64=True")
    if rollout not in ("scan", "while"):
        raise ValueError(f"rollout must be 'scan' or 'while', not {rollout!r}")
    import jax.numpy as jnp

    update, ftype = _build_update(
        episodes_per_update, lr, gamma, beta1, beta2, eps, rollout, x64, chunk
    )
    theta = jnp.zeros((N_FEATURES, N_ACTIONS), ftype)
    m = jnp.zeros_like(theta)
    v = jnp.zeros_like(theta)
    step = jnp.zeros((), ftype)
    key = jax.random.PRNGKey(seed)

    t0 = time.perf_counter()
    compiled = update.lower(theta, m, v, step, key).compile()
    compile_time = time.perf_counter() - t0

    n_calls = -(-iterations // chunk)
    mean_return = np.zeros(n_calls * chunk)
    env_steps = np.zeros(n_calls * chunk, dtype=np.int64)
    wall_time = np.zeros(n_calls * chunk)
    solved_iteration = solved_time = solved_env_steps = None
    ran = 0
    carry = (theta, m, v, step, key)
    start = time.perf_counter()
    for call in range(n_calls):
        carry, returns, steps = compiled(*carry)
        returns = np.asarray(returns)  # waits for the result
        steps = np.asarray(steps)
        now = time.perf_counter() - start
        lo = call * chunk
        mean_return[lo : lo + chunk] = returns
        env_steps[lo : lo + chunk] = steps
        wall_time[lo : lo + chunk] = now
        ran = lo + chunk
        if target_return is not None and solved_iteration is None:
            hit = np.nonzero(returns >= target_return)[0]
            if hit.size:
                solved_iteration = lo + int(hit[0]) + 1
                solved_time = now
                solved_env_steps = int(env_steps[:solved_iteration].sum())
                if stop_at_target:
                    break
    total_time = float(wall_time[ran - 1]) if ran else 0.0
    total_steps = int(env_steps[:ran].sum())
    return {
        "mean_return": mean_return[:ran],
        "env_steps": env_steps[:ran],
        "cumulative_env_steps": np.cumsum(env_steps[:ran]),
        "lockstep_steps": (
            np.full(ran, MAX_EPISODE_STEPS * episodes_per_update) if rollout == "scan" else None
        ),
        "wall_time": wall_time[:ran],
        "total_env_steps": total_steps,
        "total_time": total_time,
        "steps_per_second": total_steps / total_time if total_time > 0 else float("nan"),
        "iterations_run": ran,
        "solved_iteration": solved_iteration,
        "solved_time": solved_time,
        "solved_env_steps": solved_env_steps,
        "compile_time": compile_time,
        "theta": np.asarray(carry[0]),
    }


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def _silent(*args, **kwargs) -> None:
    pass


def _scalars(h: dict) -> dict:
    """The JSON-friendly scalars of a train() history."""
    keys = (
        "iterations_run",
        "total_env_steps",
        "total_time",
        "steps_per_second",
        "solved_iteration",
        "solved_time",
        "solved_env_steps",
        "compile_time",
    )
    out = {k: h[k] for k in keys if k in h}
    out["last_mean_return"] = float(h["mean_return"][-1])
    return out


def _fmt(x, spec: str, missing: str = "-") -> str:
    return missing if x is None else format(x, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="seeds 0-2, at most 200 iterations, stop at the target"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--target", type=float, default=475.0)
    parser.add_argument(
        "--no-stop", action="store_true", help="keep training after the target is reached"
    )
    parser.add_argument("--rollout", choices=("scan", "while"), default="scan")
    parser.add_argument("--x64", action="store_true", help="float64 throughout")
    parser.add_argument(
        "--chunk", type=int, default=1, help="iterations per jitted call (lax.scan over iterations)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (settings and per-seed scalars) instead of the table",
    )
    parser.add_argument(
        "--cpu",
        type=int,
        default=None,
        help="pin the process to this CPU (Linux) for one-core figures",
    )
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    reason = available()
    if reason is not None:
        print(
            json.dumps({"peer": "jax+gymnax", "available": False, "reason": reason})
            if args.json
            else reason
        )
        sys.exit(0)
    import jax

    seeds = args.seeds if args.seeds is not None else ([0, 1, 2] if args.quick else [0, 1, 2, 3, 4])
    iterations = args.iterations or (200 if args.quick else 300)
    stop = not args.no_stop
    say = _silent if args.json else print
    runs = []
    say(
        f"JAX + gymnax REINFORCE reference: jax {jax.__version__}, gymnax "
        f"{_version('gymnax')}, {jax.devices()[0].platform}, Python "
        f"{platform.python_version()} on {platform.machine()}"
    )
    say(
        f"CartPole-v1, 16 envs (vmap), rollout={args.rollout}, "
        f"{'float64' if args.x64 else 'float32'}, chunk={args.chunk}; linear softmax on "
        f"[s, 1], reward-to-go gamma 0.99, mean baseline, Adam lr 0.05; budget {iterations} "
        f"iterations{', stop at target' if stop else ''}; target {args.target:g}"
    )
    header = (
        "seed",
        "compile s",
        "iters",
        "env steps",
        "wall s",
        "k steps/s",
        "solved at iter",
        "time to target s",
        "steps to target",
        "last return",
    )
    widths = [max(len(h), 6) for h in header]
    say("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    solved_times, solved_iters, rates, compiles = [], [], [], []
    for seed in seeds:
        h = train(
            iterations,
            seed=seed,
            target_return=args.target,
            stop_at_target=stop,
            rollout=args.rollout,
            x64=args.x64,
            chunk=args.chunk,
        )
        runs.append({"seed": seed, **_scalars(h)})
        rates.append(h["steps_per_second"])
        compiles.append(h["compile_time"])
        if h["solved_iteration"] is not None:
            solved_times.append(h["solved_time"])
            solved_iters.append(h["solved_iteration"])
        row = (
            str(seed),
            f"{h['compile_time']:.2f}",
            str(h["iterations_run"]),
            f"{h['total_env_steps']:,}",
            f"{h['total_time']:.3f}",
            f"{h['steps_per_second'] / 1e3:.1f}",
            _fmt(h["solved_iteration"], "d", "not solved"),
            _fmt(h["solved_time"], ".3f"),
            _fmt(h["solved_env_steps"], ","),
            f"{h['mean_return'][-1]:.1f}",
        )
        say("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    say(
        f"median: {statistics.median(rates) / 1e3:.1f} k env steps/s, compile "
        f"{statistics.median(compiles):.2f} s; solved {len(solved_times)}/{len(seeds)} seeds"
        + (
            f", median time to target {statistics.median(solved_times):.3f} s (compile "
            f"excluded), median iterations {statistics.median(solved_iters):g}"
            if solved_times
            else ""
        )
    )
    if args.json:
        print(
            json.dumps(
                {
                    "peer": "jax+gymnax",
                    "available": True,
                    "jax": jax.__version__,
                    "gymnax": _version("gymnax"),
                    "device": jax.devices()[0].platform,
                    "settings": {
                        "iterations": iterations,
                        "target": args.target,
                        "stop_at_target": stop,
                        "rollout": args.rollout,
                        "x64": args.x64,
                        "chunk": args.chunk,
                        "cpu": args.cpu,
                        "episodes_per_update": 16,
                        "lr": 0.05,
                        "gamma": 0.99,
                    },
                    "runs": runs,
                }
            )
        )


if __name__ == "__main__":
    main()
