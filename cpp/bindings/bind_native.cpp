// Code a user brings, compiled by numba: NativeEnv and Custom features.
//
// The compiled functions arrive as numba CFunc objects; pgfast.native checks
// each one's signature before its address is used, and the objects are kept
// alive for as long as the env or feature map exists. A UserCodeError
// becomes the Python exception pgfast.native builds from its fields (naming
// the function and the env, with the user's own exception as the cause).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pgfast/envs/native_env.hpp"
#include "pgfast/features.hpp"
#include "pgfast/user_code.hpp"
#include "py_env.hpp"

namespace pgfast::bind {

namespace {

// The checked address of a compiled callback of the given role.
std::uintptr_t cfunc_address(const py::handle& cfunc, const char* role) {
  return py::module_::import("pgfast.native")
      .attr("_cfunc_address")(cfunc, role)
      .cast<std::uintptr_t>();
}

template <class Fn>
Fn as_fn(std::uintptr_t address) {
  return reinterpret_cast<Fn>(address);
}

const char* kind_name(UserCodeError::Kind kind) {
  switch (kind) {
    case UserCodeError::Kind::kRaised:
      return "raised";
    case UserCodeError::Kind::kNonFiniteReward:
      return "non_finite_reward";
    case UserCodeError::Kind::kNonFiniteState:
      return "non_finite_state";
    case UserCodeError::Kind::kBadOutput:
      return "bad_output";
    case UserCodeError::Kind::kBadStatus:
      return "bad_status";
  }
  return "unknown";
}

py::array_t<double> array_of(const std::vector<double>& v) {
  return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
}

void translate(const UserCodeError& e) {
  py::object error;
  try {
    error = py::module_::import("pgfast.native")
                .attr("_engine_error")(e.token, e.function, kind_name(e.kind), e.index, e.value,
                                       e.env_index, array_of(e.state), array_of(e.action),
                                       array_of(e.uniforms), array_of(e.obs));
  } catch (py::error_already_set& failure) {
    // Building the message failed: say so, with what is known.
    failure.restore();
    PyErr_Clear();
    PyErr_SetString(PyExc_RuntimeError, concat(e.function, " (user code) failed in env ",
                                               e.env_index, ": ", kind_name(e.kind))
                                            .c_str());
    return;
  }
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
}

}  // namespace

void bind_native(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const UserCodeError& e) {
      translate(e);
    }
  });

  m.def(
      "make_native_env",
      [](const std::string& id, std::int64_t state_dim, const py::tuple& observation_space,
         const py::tuple& action_space, std::int64_t max_episode_steps, std::int64_t reset_uniforms,
         std::int64_t step_uniforms, const py::object& reset, const py::object& step,
         const py::object& observe, const py::object& step_observe, std::uint64_t token,
         std::int64_t num_envs, std::uint64_t seed, int num_threads) {
        NativeEnvConfig c;
        c.id = id;
        c.state_dim = state_dim;
        c.observation_space = space_from_tuple(observation_space, "observation_space");
        c.action_space = space_from_tuple(action_space, "action_space");
        c.max_episode_steps = max_episode_steps;
        c.reset_uniforms = reset_uniforms;
        c.step_uniforms = step_uniforms;
        c.reset = as_fn<NativeResetFn>(cfunc_address(reset, "reset"));
        c.step = as_fn<NativeStepFn>(cfunc_address(step, "step"));
        c.observe = as_fn<NativeObserveFn>(cfunc_address(observe, "observe"));
        c.step_observe = as_fn<NativeStepObserveFn>(cfunc_address(step_observe, "step_observe"));
        c.token = token;
        auto env = make_native_env(c, num_envs, seed, num_threads);
        return std::make_unique<PyVecEnv>(std::move(env),
                                          py::make_tuple(reset, step, observe, step_observe));
      },
      py::arg("id"), py::arg("state_dim"), py::arg("observation_space"), py::arg("action_space"),
      py::arg("max_episode_steps"), py::arg("reset_uniforms"), py::arg("step_uniforms"),
      py::arg("reset"), py::arg("step"), py::arg("observe"), py::arg("step_observe"),
      py::arg("token"), py::arg("num_envs"), py::arg("seed"), py::arg("num_threads"),
      "Envs stepped by compiled callbacks (use pgfast.NativeEnv).");

  m.def(
      "custom_features",
      [](const py::object& fn, std::int64_t obs_dim, std::int64_t n_features, std::uint64_t token) {
        auto map = make_custom(as_fn<CustomFeaturesFn>(cfunc_address(fn, "features")), obs_dim,
                               n_features, token);
        // The map shares ownership of the compiled function: the deleter
        // holds it (and takes the GIL to release it).
        auto holder = std::make_shared<py::object>(fn);
        FeatureMap* raw = map.get();
        return std::shared_ptr<FeatureMap>(raw, [map, holder](FeatureMap*) mutable {
          py::gil_scoped_acquire gil;
          holder.reset();
          map.reset();
        });
      },
      py::arg("fn"), py::arg("obs_dim"), py::arg("n_features"), py::arg("token"),
      "A feature map computed by a compiled callback (use pgfast.features.Custom).");
}

}  // namespace pgfast::bind
