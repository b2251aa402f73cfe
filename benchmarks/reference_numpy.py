"""REINFORCE on CartPole-v1 in NumPy + Gymnasium, written the straightforward vectorised way.

This is the peer that pgfast's fused training loop is compared against: what a
competent user writes without pgfast. Gymnasium's vectorised CartPole steps 16
envs in lockstep; NumPy evaluates the policy for the whole batch, samples the
actions and forms the gradient as matrix products.

    python benchmarks/reference_numpy.py                 # seeds 0-4, 300 iterations
    python benchmarks/reference_numpy.py --quick         # seeds 0-2, stop at return 475
    python benchmarks/reference_numpy.py --seeds 0 --iterations 100 --no-stop
    python benchmarks/reference_numpy.py --features fourier:3   # 256 Fourier features

The algorithm (identical in pgfast and in benchmarks/limit/): linear softmax over
phi(s) = [s_0, s_1, s_2, s_3, 1], theta (5, 2) initialised to zeros; 16
complete episodes per update; Psi_t = sum_{k>=t} gamma^(k-t) r_k with
gamma = 0.99 (no gamma^t factor); baseline b = mean of Psi over all steps of the
batch; g = (1/16) sum_i sum_t outer(phi(s_t), e_{a_t} - pi(.|s_t)) (Psi_t - b);
Adam ascent (lr 0.05, betas 0.9 / 0.999, eps 1e-8).

``--features fourier:K`` (``train(features="fourier:K")``) replaces [s, 1] by
pgfast's ``pg.features.Fourier(K, low, high)``: cos(pi c . x) for every c in
{0..K}^4, x the observation rescaled to [0, 1] with CartPole's box
``CARTPOLE_LOW``/``CARTPOLE_HIGH`` (pgfast's preset) and clipped; (K + 1)^4
features (256 for K = 3), computed for the 16 envs at once.

Counting: "env steps" are the steps that belong to the 16 episodes (the sum of
their lengths). The vector env keeps stepping the envs whose episode already
ended until the longest episode of the batch ends (Gymnasium's envs cannot be
paused); those extra steps are wasted work and are not counted. Wall time runs
from the first reset (the env is built before the clock starts, as pg.make is
for pgfast) to the end of each update.

Prints numbers only; never asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

ENV_ID = "CartPole-v1"
N_ACTIONS = 2
N_FEATURES = 5  # Identity features with bias: [s_0, s_1, s_2, s_3, 1]
MAX_EPISODE_STEPS = 500
OBS_DIM = 4
# The box pgfast's CartPole preset rescales to for bounded feature maps.
CARTPOLE_LOW = (-2.4, -3.0, -0.21, -3.5)
CARTPOLE_HIGH = (2.4, 3.0, 0.21, 3.5)


def feature_map(features: str):
    """``(n_features, write)`` for a feature spec: ``"identity"`` ([s, 1]) or
    ``"fourier:K"``. ``write(obs, out)`` fills ``out`` (n_envs, n_features) with
    phi of the float32 observations ``obs`` (n_envs, 4), in float64."""
    if features == "identity":

        def identity(obs: np.ndarray, out: np.ndarray) -> None:
            out[:, :OBS_DIM] = obs
            out[:, OBS_DIM] = 1.0

        return N_FEATURES, identity
    kind, _, order_text = features.partition(":")
    if kind != "fourier" or not order_text.isdigit():
        raise ValueError(f"features must be 'identity' or 'fourier:K', got {features!r}")
    order = int(order_text)
    # Row k holds c_k in base (order + 1), first dimension fastest (pgfast's order).
    k = np.arange((order + 1) ** OBS_DIM)
    coef_t = np.stack([(k // (order + 1) ** j) % (order + 1) for j in range(OBS_DIM)])
    coef_t = np.pi * coef_t.astype(np.float64)  # (4, n_features), pi folded in
    low = np.array(CARTPOLE_LOW)
    inv_width = 1.0 / (np.array(CARTPOLE_HIGH) - low)

    def fourier(obs: np.ndarray, out: np.ndarray) -> None:
        unit = np.clip((obs - low) * inv_width, 0.0, 1.0)
        np.matmul(unit, coef_t, out=out)
        np.cos(out, out=out)

    return coef_t.shape[1], fourier


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
    features: str = "identity",
) -> dict:
    """Train a linear softmax policy with REINFORCE and return the history.

    With ``target_return`` set, the first iteration whose batch mean return
    reaches it is recorded (``solved_*``), and training stops there unless
    ``stop_at_target`` is False. The per-iteration arrays cover only the
    iterations that ran. ``features`` is ``"identity"`` ([s, 1]) or ``"fourier:K"``
    (see :func:`feature_map`).

    Returns a dict with per-iteration arrays ``mean_return``, ``env_steps``
    (steps of that iteration), ``cumulative_env_steps``, ``wall_time``
    (seconds since the first reset, at the end of the update) and ``lockstep_steps``
    (vector-env calls x num_envs, including the wasted steps); scalars
    ``steps_per_second`` (counted env steps / total wall time), ``total_env_steps``,
    ``total_time``, ``iterations_run``, ``solved_iteration`` (1-based, or None),
    ``solved_time``, ``solved_env_steps``; and the final ``theta``.
    """
    import gymnasium as gym

    n = episodes_per_update
    env = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    rng = np.random.default_rng(seed)
    n_features, write_features = feature_map(features)
    theta = np.zeros((n_features, N_ACTIONS))
    adam_m = np.zeros_like(theta)
    adam_v = np.zeros_like(theta)

    # Per-update buffers, indexed [t, env]; an episode lasts at most 500 steps.
    phi_buf = np.ones((MAX_EPISODE_STEPS, n, n_features))
    act_buf = np.zeros((MAX_EPISODE_STEPS, n), dtype=np.int64)
    prob_buf = np.zeros((MAX_EPISODE_STEPS, n, N_ACTIONS))
    rew_buf = np.zeros((MAX_EPISODE_STEPS, n))
    alive_buf = np.zeros((MAX_EPISODE_STEPS, n), dtype=bool)
    eye = np.eye(N_ACTIONS)

    mean_return = np.zeros(iterations)
    env_steps = np.zeros(iterations, dtype=np.int64)
    lockstep_steps = np.zeros(iterations, dtype=np.int64)
    wall_time = np.zeros(iterations)
    solved_iteration = solved_time = solved_env_steps = None
    total_steps = 0
    ran = 0

    start = time.perf_counter()
    for it in range(iterations):
        # --- rollout: one complete episode per env, all 16 stepped in lockstep ---
        obs, _ = env.reset(seed=seed if it == 0 else None)
        alive = np.ones(n, dtype=bool)
        t = 0
        while alive.any():
            phi = phi_buf[t]
            write_features(obs, phi)  # float32 observation -> float64 features
            logits = phi @ theta
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            u = rng.random(n)
            a = np.minimum((u[:, None] >= np.cumsum(p, axis=1)).sum(axis=1), N_ACTIONS - 1)
            # Envs whose episode ended keep being stepped (their first such step
            # is Gymnasium's next-step autoreset); alive_buf masks them out.
            obs, reward, terminated, truncated, _ = env.step(a)
            act_buf[t] = a
            prob_buf[t] = p
            rew_buf[t] = np.where(alive, reward, 0.0)
            alive_buf[t] = alive
            alive = alive & ~(terminated | truncated)
            t += 1
        horizon = t

        # --- returns: reward-to-go, backwards over time for all episodes at once ---
        rewards = rew_buf[:horizon]
        psi = np.empty((horizon, n))
        running = np.zeros(n)
        for k in range(horizon - 1, -1, -1):
            running = rewards[k] + gamma * running
            psi[k] = running

        # --- gradient: mean baseline, scores as matrix products ---
        mask = alive_buf[:horizon]
        adv = psi[mask]
        adv -= adv.mean()
        phis = phi_buf[:horizon][mask]  # (N, F)
        dlog = eye[act_buf[:horizon][mask]] - prob_buf[:horizon][mask]  # (N, A)
        grad = phis.T @ (dlog * adv[:, None]) / n  # (F, A)

        # --- Adam, gradient ascent ---
        step = it + 1
        adam_m = beta1 * adam_m + (1.0 - beta1) * grad
        adam_v = beta2 * adam_v + (1.0 - beta2) * grad * grad
        mhat = adam_m / (1.0 - beta1**step)
        vhat = adam_v / (1.0 - beta2**step)
        theta += lr * mhat / (np.sqrt(vhat) + eps)

        now = time.perf_counter() - start
        steps = int(mask.sum())
        total_steps += steps
        mean_return[it] = rewards.sum(axis=0).mean()
        env_steps[it] = steps
        lockstep_steps[it] = horizon * n
        wall_time[it] = now
        ran = it + 1
        if (
            target_return is not None
            and solved_iteration is None
            and mean_return[it] >= target_return
        ):
            solved_iteration, solved_time, solved_env_steps = it + 1, now, total_steps
            if stop_at_target:
                break
    env.close()

    total_time = float(wall_time[ran - 1]) if ran else 0.0
    return {
        "mean_return": mean_return[:ran],
        "env_steps": env_steps[:ran],
        "cumulative_env_steps": np.cumsum(env_steps[:ran]),
        "lockstep_steps": lockstep_steps[:ran],
        "wall_time": wall_time[:ran],
        "total_env_steps": total_steps,
        "total_time": total_time,
        "steps_per_second": total_steps / total_time if total_time > 0 else float("nan"),
        "iterations_run": ran,
        "solved_iteration": solved_iteration,
        "solved_time": solved_time,
        "solved_env_steps": solved_env_steps,
        "theta": theta,
    }


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
    parser.add_argument(
        "--target",
        type=float,
        default=475.0,
        help="batch mean return that counts as solved (default 475)",
    )
    parser.add_argument(
        "--no-stop",
        action="store_true",
        help="keep training after the target is reached (throughput at full episode length)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (settings and per-seed scalars) instead of the table",
    )
    parser.add_argument(
        "--features",
        default="identity",
        help="'identity' ([s, 1], default) or 'fourier:K' ((K+1)^4 features)",
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
    try:
        n_features = feature_map(args.features)[0]  # rejects a bad spec before any run
    except ValueError as exc:
        parser.error(str(exc))
    seeds = args.seeds if args.seeds is not None else ([0, 1, 2] if args.quick else [0, 1, 2, 3, 4])
    iterations = args.iterations or (200 if args.quick else 300)
    stop = not args.no_stop
    say = _silent if args.json else print
    runs = []

    import gymnasium as gym

    say(
        f"NumPy + Gymnasium REINFORCE reference: numpy {np.__version__}, gymnasium "
        f"{gym.__version__}, Python {platform.python_version()} on {platform.machine()}"
    )
    say(
        f"{ENV_ID}, 16 envs (vector_entry_point), linear softmax on {args.features} "
        f"({n_features} features), reward-to-go "
        f"gamma 0.99, mean baseline, Adam lr 0.05; budget {iterations} iterations"
        f"{', stop at target' if stop else ''}; target {args.target:g}"
    )
    header = (
        "seed",
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
    solved_times, solved_iters, rates = [], [], []
    for seed in seeds:
        h = train(
            iterations,
            seed=seed,
            target_return=args.target,
            stop_at_target=stop,
            features=args.features,
        )
        runs.append({"seed": seed, **_scalars(h)})
        rates.append(h["steps_per_second"])
        if h["solved_iteration"] is not None:
            solved_times.append(h["solved_time"])
            solved_iters.append(h["solved_iteration"])
        row = (
            str(seed),
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
        f"median: {statistics.median(rates) / 1e3:.1f} k env steps/s; solved "
        f"{len(solved_times)}/{len(seeds)} seeds"
        + (
            f", median time to target {statistics.median(solved_times):.3f} s, median "
            f"iterations {statistics.median(solved_iters):g}"
            if solved_times
            else ""
        )
    )
    if args.json:
        print(
            json.dumps(
                {
                    "peer": "numpy+gymnasium",
                    "available": True,
                    "numpy": np.__version__,
                    "gymnasium": gym.__version__,
                    "settings": {
                        "iterations": iterations,
                        "target": args.target,
                        "stop_at_target": stop,
                        "cpu": args.cpu,
                        "features": args.features,
                        "n_features": n_features,
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
