"""Your own environment and features at native speed: :class:`NativeEnv` and the
compilation behind :class:`pgfast.features.Custom`.

You write plain Python functions over NumPy arrays; pgfast compiles them with numba
(the optional extra ``pip install "pgfast-rl[numba]"``) into C callbacks, and the C++
engine calls them through function pointers with the GIL released: no Python runs
per step.

How errors travel back. A numba-compiled C callback cannot raise into C++. pgfast
wraps each of your functions in a generated callback that catches anything it raises
and returns a status code instead; the engine also checks what came back (a finite
reward, a finite state, a finite observation or feature vector, a Discrete
observation inside its space). A failure stops the call before anything is updated
(a failed step leaves its env in the state before the step) and raises
:class:`UserCodeError`, which names the function and the env index and carries the
call's inputs. When your function raised, pgfast calls it again in plain Python on
the same inputs, so that your own exception and line appear as the error's cause.

Your functions are compiled with numba's ``boundscheck=True`` (also a function you
decorated with ``@numba.njit`` yourself): an index out of range is an ``IndexError``,
never a write outside the array. numba does not pass the option on to other
``@numba.njit`` functions yours call: give those ``boundscheck=True`` too.

After a failure in ``env.step`` or ``env.reset`` (other envs of the batch may have
stepped, and their results are lost), every env starts a new episode on the next
``step``; a failure inside training loses nothing: no update is applied.
"""

from __future__ import annotations

import importlib
import itertools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from pgfast._validation import check_int

if TYPE_CHECKING:
    from pgfast.vector_env import VectorEnv

__all__ = ["CompileError", "NativeEnv", "UserCodeError", "require_numba"]

_INSTALL = 'pip install "pgfast-rl[numba]"'


class CompileError(TypeError):
    """numba could not compile one of your functions; the message names which."""


class UserCodeError(RuntimeError):
    """One of your compiled functions failed while the engine ran it.

    Attributes:
        function: ``"reset"``, ``"step"``, ``"observe"`` or ``"features"``.
        env_index: the env it ran for (``-1`` when not run for an env).
        kind: ``"raised"``, ``"non_finite_reward"``, ``"non_finite_state"``,
            ``"bad_output"``, or ``"bad_status"`` (a status pgfast's wrapper never
            returns: a corrupted call).
        inputs: the call's inputs as they were before the call.
    """

    def __init__(
        self, message: str, function: str, env_index: int, kind: str, inputs: dict[str, Any]
    ) -> None:
        super().__init__(message)
        self.function = function
        self.env_index = env_index
        self.kind = kind
        self.inputs = inputs

    def __reduce__(self) -> tuple[Any, ...]:  # crosses to and from worker processes
        return (type(self), (str(self), self.function, self.env_index, self.kind, self.inputs))


def require_numba(feature: str) -> Any:
    """The numba module, or an ImportError saying how to install it."""
    try:
        return importlib.import_module("numba")
    except ImportError as e:
        raise ImportError(f"{feature} needs numba, an optional extra: {_INSTALL}") from e


# Objects whose compiled functions the engine may name in an error, by token.
_OWNERS: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_TOKENS = itertools.count(1)


def _register(owner: Any) -> int:
    token = next(_TOKENS)
    _OWNERS[token] = owner
    return token


# --- compilation -------------------------------------------------------------------


def _signatures() -> dict[str, Any]:
    """The C signature of each callback role (see cpp/include/pgfast/envs/native_env.hpp)."""
    types = require_numba("pgfast.native").types
    f64p = types.CPointer(types.float64)
    return {
        "reset": types.int32(f64p, f64p),
        "step": types.int32(f64p, f64p, f64p, f64p),
        "observe:float32": types.int32(f64p, types.CPointer(types.float32)),
        "observe:float64": types.int32(f64p, f64p),
        "observe:int64": types.int32(f64p, types.CPointer(types.int64)),
        "step_observe:float32": types.int32(f64p, f64p, f64p, f64p, types.CPointer(types.float32)),
        "step_observe:float64": types.int32(f64p, f64p, f64p, f64p, f64p),
        "step_observe:int64": types.int32(f64p, f64p, f64p, f64p, types.CPointer(types.int64)),
        "features": types.int32(f64p, f64p),
    }


def _cfunc_address(cfunc: Any, role: str) -> int:
    """Called by the engine: the address of a compiled callback, once its signature is
    the one ``role`` needs (anything else would be called with the wrong arguments)."""
    numba = require_numba("pgfast.native")
    if not isinstance(cfunc, numba.core.ccallback.CFunc):
        raise TypeError(f"{role} must be a numba cfunc built by pgfast, got {type(cfunc).__name__}")
    allowed = [sig for name, sig in _signatures().items() if name.split(":")[0] == role]
    if cfunc._sig not in allowed:
        raise TypeError(f"{role}: the cfunc has signature {cfunc._sig}, expected {allowed[0]}")
    return int(cfunc.address)


def _jit(
    fn: Callable[..., Any], name: str, owner: str, arg_types: tuple[Any, ...], cache: bool = False
) -> Any:
    """``fn`` compiled by numba for ``arg_types``; a CompileError names it otherwise.
    ``cache``: numba's on-disk cache (``__pycache__`` beside the function's file)."""
    numba = require_numba(f"{owner}'s {name}")
    if not callable(fn):
        raise TypeError(f"{owner}: {name} must be a function, got {type(fn).__name__}")
    if numba.core.config.BOUNDSCHECK == 0:
        raise RuntimeError(
            "NUMBA_BOUNDSCHECK=0 turns off the bounds checks that keep your code's "
            "indexing errors from writing into pgfast's memory; unset it"
        )
    try:
        # A dispatcher the user compiled is compiled again from its Python function:
        # with bounds checks, whatever options it had.
        dispatcher = numba.njit(_python_function(fn), boundscheck=True, cache=cache)
        dispatcher.compile(arg_types)
    except Exception as e:  # numba raises many types; all mean the same here
        raise CompileError(
            f"numba could not compile {owner}'s {name} function "
            f"({getattr(fn, '__qualname__', name)}):\n{e}"
        ) from e
    return dispatcher


def _return_type(dispatcher: Any, arg_types: tuple[Any, ...]) -> Any:
    return dispatcher.overloads[arg_types].signature.return_type


def _python_function(fn: Any) -> Callable[..., Any]:
    """The plain Python function behind ``fn`` (a numba dispatcher or a function)."""
    return getattr(fn, "py_func", fn)


_OBS_DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}


@dataclass
class _Compiled:
    reset: Any
    step: Any
    observe: Any
    step_observe: Any  # step then observe: one call per step in the training loop


def _compile_env(spec: NativeEnv) -> _Compiled:
    """The three C callbacks of ``spec``: each wraps the user's function, catches what
    it raises, and passes results back through pointers."""
    numba = require_numba("pg.NativeEnv")
    carray, cfunc, types = numba.carray, numba.cfunc, numba.types

    sigs = _signatures()
    arr = types.float64[::1]
    state_dim, n_reset, n_step = spec.state_dim, spec.reset_uniforms, spec.step_uniforms
    action_dim, obs_dim = spec.action_dim, spec.obs_dim
    obs_name = spec.obs_dtype_name
    obs_type = {"float32": types.float32, "float64": types.float64, "int64": types.int64}[obs_name]

    cache = spec.cache
    reset_fn = _jit(spec.reset, "reset", spec.id, (arr, arr), cache)
    step_fn = _jit(spec.step, "step", spec.id, (arr, arr, arr), cache)
    observe_fn = _jit(spec.observe, "observe", spec.id, (arr, obs_type[::1]), cache)
    returned = _return_type(step_fn, (arr, arr, arr))
    if not (
        isinstance(returned, types.BaseTuple)
        and len(returned) == 2
        and all(isinstance(t, (types.Number, types.Boolean)) for t in returned)
    ):
        raise CompileError(
            f"{spec.id}'s step must return (reward, terminated), a number and a bool; "
            f"numba says it returns {returned}"
        )

    def reset_c(state_p: Any, u_p: Any) -> int:
        state = carray(state_p, (state_dim,))
        u = carray(u_p, (n_reset,))
        try:
            reset_fn(state, u)
        except Exception:
            return 1
        return 0

    def step_c(state_p: Any, action_p: Any, u_p: Any, out_p: Any) -> int:
        state = carray(state_p, (state_dim,))
        action = carray(action_p, (action_dim,))
        u = carray(u_p, (n_step,))
        try:
            reward, terminated = step_fn(state, action, u)
        except Exception:
            return 1
        out_p[0] = reward
        out_p[1] = 1.0 if terminated else 0.0
        return 0

    def observe_c(state_p: Any, obs_p: Any) -> int:
        state = carray(state_p, (state_dim,))
        obs = carray(obs_p, (obs_dim,))
        try:
            observe_fn(state, obs)
        except Exception:
            return 1
        return 0

    # step_c's and observe_c's bodies again rather than calls to them: a call between
    # numba functions is not inlined, and saving it is this callback's purpose.
    def step_observe_c(state_p: Any, action_p: Any, u_p: Any, out_p: Any, obs_p: Any) -> int:
        state = carray(state_p, (state_dim,))
        action = carray(action_p, (action_dim,))
        u = carray(u_p, (n_step,))
        obs = carray(obs_p, (obs_dim,))
        try:
            reward, terminated = step_fn(state, action, u)
        except Exception:
            return 1
        out_p[0] = reward
        out_p[1] = 1.0 if terminated else 0.0
        try:
            observe_fn(state, obs)
        except Exception:
            return 2  # kObserveRaised
        return 0

    try:
        return _Compiled(
            reset=cfunc(sigs["reset"])(reset_c),
            step=cfunc(sigs["step"])(step_c),
            observe=cfunc(sigs[f"observe:{obs_name}"])(observe_c),
            step_observe=cfunc(sigs[f"step_observe:{obs_name}"])(step_observe_c),
        )
    except numba.core.errors.NumbaError as e:  # pragma: no cover - the checks above catch it
        raise CompileError(f"numba could not compile the callbacks of {spec.id}:\n{e}") from e


def compile_features(
    fn: Callable[..., Any], obs_dim: int, n_features: int, cache: bool = False
) -> Any:
    """The C callback of a Custom feature map ``fn(obs, out)``."""
    numba = require_numba("pg.features.Custom")
    carray, cfunc, types = numba.carray, numba.cfunc, numba.types

    arr = types.float64[::1]
    name = getattr(fn, "__qualname__", "features")
    features_fn = _jit(fn, "features", f"Custom({name})", (arr, arr), cache)

    def features_c(obs_p: Any, out_p: Any) -> int:
        obs = carray(obs_p, (obs_dim,))
        out = carray(out_p, (n_features,))
        try:
            features_fn(obs, out)
        except Exception:
            return 1
        return 0

    try:
        return cfunc(_signatures()["features"])(features_c)
    except numba.core.errors.NumbaError as e:  # pragma: no cover
        raise CompileError(f"numba could not compile Custom({name}):\n{e}") from e


# --- the spec ------------------------------------------------------------------------


def _space_tuple(space: gym.Space, name: str) -> tuple[Any, ...]:
    if isinstance(space, gym.spaces.Discrete):
        if int(space.start) != 0:
            raise ValueError(f"{name}: a Discrete space must start at 0, got start={space.start}")
        return ("discrete", int(space.n))
    if isinstance(space, gym.spaces.Box):
        if len(space.shape) != 1:
            raise ValueError(f"{name}: a Box must be one-dimensional, got shape {space.shape}")
        dtype = np.dtype(space.dtype)
        if dtype not in _OBS_DTYPES:
            raise ValueError(f"{name}: a Box must be float32 or float64, got {dtype}")
        return (
            "box",
            space.low.astype(np.float64),
            space.high.astype(np.float64),
            _OBS_DTYPES[dtype],
        )
    raise TypeError(f"{name} must be a gymnasium Discrete or Box space, got {type(space).__name__}")


class NativeEnv:
    """An environment written as plain Python functions, compiled by numba and stepped
    by the C++ engine with no Python per step. Pass it to :func:`pgfast.make`.

    Args:
        id: a name for messages and ``env.id``, e.g. ``"MyCartPole-v0"``.
        reset: ``reset(state, u)`` fills ``state`` (float64 ``[state_dim]``, zeroed
            before the call) from ``u`` (float64 ``[reset_uniforms]``, uniform in
            [0, 1)).
        step: ``step(state, action, u) -> (reward, terminated)`` updates ``state`` in
            place. ``action`` is float64 ``[action_dim]``; for a Discrete action space
            ``action[0]`` holds the index; a float32 Box action is rounded to float32
            first, as Gymnasium would pass it. ``u`` holds ``step_uniforms`` uniforms.
        observe: ``observe(state, obs)`` writes the observation into ``obs``
            (``observation_space.dtype``, ``[obs_dim]``; int64 ``[1]`` for a Discrete
            observation space).
        state_dim: length of the state.
        observation_space, action_space: gymnasium ``Box`` (one-dimensional) or
            ``Discrete`` spaces.
        max_episode_steps: time limit (``None``: none).
        reset_uniforms, step_uniforms: uniforms drawn per reset and per step from env
            ``i``'s pgfast stream. They are the only randomness your functions see,
            which makes every run bitwise identical for any ``num_threads`` and env
            ``i`` independent of ``num_envs``.
        cache: keep numba's compiled code of your functions on disk (``__pycache__``
            beside their file), so that the next process skips most of the compile
            time; pgfast's thin wrappers around them are compiled again (about 0.6 s of
            the ~1 s, measured by benchmarks/run.py).

    Compiling costs about a second per process (numba's import and compiler), paid
    when the NativeEnv is created.

    The functions run on the engine's threads without the GIL: they must not touch
    Python objects, and globals they read are frozen at compile time (numba's rule).
    Draw randomness only from ``u``: ``np.random`` inside compiled code is numba's own
    per-thread generator, which makes results depend on the thread count.
    A numba dispatcher (``@numba.njit``) is accepted as is; a plain function is
    compiled with ``boundscheck=True``.

    Example:
        >>> import numpy as np, gymnasium as gym, pgfast as pg
        >>> def reset(state, u):
        ...     state[0] = u[0]
        >>> def step(state, action, u):
        ...     state[0] += 0.1 if action[0] == 1 else -0.1
        ...     return -abs(state[0] - 0.5), abs(state[0] - 0.5) < 0.05
        >>> def observe(state, obs):
        ...     obs[0] = state[0]
        >>> spec = pg.NativeEnv("Walk-v0", reset=reset, step=step, observe=observe, state_dim=1,
        ...                     observation_space=gym.spaces.Box(-np.inf, np.inf, (1,)),
        ...                     action_space=gym.spaces.Discrete(2), max_episode_steps=50,
        ...                     reset_uniforms=1)
        >>> env = pg.make(spec, num_envs=4, seed=0)
        >>> env.reset(seed=0)[0].shape
        (4, 1)
    """

    def __init__(
        self,
        id: str,
        *,
        reset: Callable[..., Any],
        step: Callable[..., Any],
        observe: Callable[..., Any],
        state_dim: int,
        observation_space: gym.Space,
        action_space: gym.Space,
        max_episode_steps: int | None = None,
        reset_uniforms: int = 0,
        step_uniforms: int = 0,
        cache: bool = False,
    ) -> None:
        if not isinstance(id, str) or not id:
            raise TypeError(f"id must be a non-empty string, got {id!r}")
        self.id = id
        self.reset = reset
        self.step = step
        self.observe = observe
        self.state_dim = check_int(state_dim, "state_dim", minimum=1, maximum=1 << 16)
        self.observation_space = observation_space
        self.action_space = action_space
        self._obs_tuple = _space_tuple(observation_space, "observation_space")
        self._action_tuple = _space_tuple(action_space, "action_space")
        self.max_episode_steps = (
            None
            if max_episode_steps is None
            else check_int(max_episode_steps, "max_episode_steps", minimum=1)
        )
        self.reset_uniforms = check_int(reset_uniforms, "reset_uniforms", minimum=0, maximum=256)
        self.step_uniforms = check_int(step_uniforms, "step_uniforms", minimum=0, maximum=256)
        self.cache = bool(cache)
        self._token = _register(self)
        self._compiled: _Compiled | None = None
        self.compile()  # errors in the user's code surface here, not mid-training
        self._frozen = True

    def __setattr__(self, name: str, value: Any) -> None:
        # The sizes and functions are compiled into the callbacks: changing one
        # afterwards would make the engine and the compiled code disagree about
        # buffer sizes (writes outside a row).
        if getattr(self, "_frozen", False) and not name.startswith("_"):
            raise AttributeError(
                f"a NativeEnv cannot change after it is compiled ({name}); create a new one"
            )
        super().__setattr__(name, value)

    @property
    def obs_dim(self) -> int:
        return 1 if self._obs_tuple[0] == "discrete" else len(self._obs_tuple[1])

    @property
    def action_dim(self) -> int:
        return 1 if self._action_tuple[0] == "discrete" else len(self._action_tuple[1])

    @property
    def obs_dtype_name(self) -> str:
        return "int64" if self._obs_tuple[0] == "discrete" else str(self._obs_tuple[3])

    def compile(self) -> None:
        """Compile the functions (done on construction; numba's cost, once per process)."""
        if self._compiled is None:
            self._compiled = _compile_env(self)

    def build(
        self, num_envs: int, seed: int, num_threads: int, max_episode_steps: int | None
    ) -> VectorEnv:
        """The engine's envs (use :func:`pgfast.make`)."""
        from pgfast import _core
        from pgfast.vector_env import VectorEnv

        self.compile()
        assert self._compiled is not None
        steps = self.max_episode_steps if max_episode_steps is None else max_episode_steps
        core = _core.make_native_env(
            self.id,
            self.state_dim,
            self._obs_tuple,
            self._action_tuple,
            steps or 0,
            self.reset_uniforms,
            self.step_uniforms,
            self._compiled.reset,
            self._compiled.step,
            self._compiled.observe,
            self._compiled.step_observe,
            self._token,
            num_envs,
            seed,
            num_threads,
        )
        env = VectorEnv(core, backend="numba")
        env.native = self  # the recipe, for pickling and for messages
        return env

    # Pickled as its recipe (the functions and settings), never as compiled code:
    # a worker process compiles its own.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_compiled"] = None
        del state["_token"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._token = _register(self)

    def __repr__(self) -> str:
        return f"pgfast.NativeEnv({self.id!r}, state_dim={self.state_dim})"


# --- errors --------------------------------------------------------------------------


def _reproduce(fn: Callable[..., Any], args: tuple[Any, ...]) -> BaseException | None:
    """Calls the plain Python ``fn`` on copies of the failed call's inputs; what it
    raised, if anything. NumPy's floating-point errors are raised, as numba does."""
    try:
        with np.errstate(divide="raise", invalid="raise"):
            fn(*args)
    except Exception as e:
        return e
    return None


def _engine_error(
    token: int,
    function: str,
    kind: str,
    index: int,
    value: float,
    env_index: int,
    state: np.ndarray,
    action: np.ndarray,
    uniforms: np.ndarray,
    obs: np.ndarray,
) -> UserCodeError:
    """Called by the engine: the exception for a failed call of user code."""
    owner = _OWNERS.get(token)
    where = f" in env {env_index}" if env_index >= 0 else ""
    name = owner.id if isinstance(owner, NativeEnv) else getattr(owner, "name", "Custom")
    inputs: dict[str, Any] = {}
    args: tuple[Any, ...] = ()
    if function == "features":
        inputs = {"obs": obs}
        n = getattr(owner, "n_features", 0)
        args = (obs.copy(), np.zeros(n))
        described = f"features(obs={_short(obs)})"
    elif function == "reset":
        inputs = {"u": uniforms}
        args = (state.copy(), uniforms.copy())
        described = f"reset(u={_short(uniforms)})"
    elif function == "step":
        inputs = {"state": state, "action": action, "u": uniforms}
        args = (state.copy(), action.copy(), uniforms.copy())
        described = f"step(state={_short(state)}, action={_short(action)}, u={_short(uniforms)})"
    else:
        inputs = {"state": state}
        dtype = np.dtype(owner.obs_dtype_name) if isinstance(owner, NativeEnv) else np.float64
        n_obs = owner.obs_dim if isinstance(owner, NativeEnv) else 0
        args = (state.copy(), np.zeros(n_obs, dtype=dtype))
        described = f"observe(state={_short(state)})"

    cause: BaseException | None = None
    if kind == "raised":
        fn = None
        if isinstance(owner, NativeEnv):
            fn = getattr(owner, function)
        elif owner is not None:
            fn = getattr(owner, "fn", None)
        cause = _reproduce(_python_function(fn), args) if fn is not None else None
        if cause is not None:
            detail = (
                f"raised {type(cause).__name__}: {cause} (reproduced in plain Python: see above)"
            )
        else:
            detail = (
                "raised in compiled code, but the same call in plain Python did not "
                "(numba's semantics differ there, e.g. integer overflow or bounds)"
            )
    elif kind == "non_finite_reward":
        detail = f"returned the reward {value}; rewards must be finite"
    elif kind == "non_finite_state":
        detail = f"left state[{index}] = {value}; states must stay finite"
    elif kind == "bad_output":
        target = "out" if function == "features" else "obs"
        space = owner.observation_space if isinstance(owner, NativeEnv) else None
        if isinstance(space, gym.spaces.Discrete):
            detail = f"wrote {target}[{index}] = {value:g}, outside {space}"
        else:
            detail = f"wrote {target}[{index}] = {value}; it must be finite"
    else:
        detail = f"returned the unknown status {value:g}"
    message = f"{name}: {function}{where} {detail}. The call was {described}."
    if function == "step":
        message += " The env was left as before the step; nothing was updated."
    error = UserCodeError(message, function, env_index, kind, inputs)
    if cause is not None:
        error.__cause__ = cause
    return error


def _short(a: np.ndarray) -> str:
    with np.printoptions(precision=6, threshold=8, edgeitems=3):
        return np.array2string(np.asarray(a), separator=", ")
