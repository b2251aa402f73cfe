// VecEnvBases whose environments live in Python: the engine's rollouts,
// estimator and updates stay in C++, and each call into the env re-acquires
// the GIL.
//
//  - PyCallbackEnv: one gymnasium.Env, one Python call per env step (the
//    documented slow path).
//  - PyLockstepEnv: a gymnasium.vector.VectorEnv, one Python call per batch
//    step for all its envs (the Collector runs it in lockstep).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "numpy.hpp"
#include "pgfast/envs/env.hpp"
#include "py_env.hpp"

namespace pgfast::bind {

namespace {

// What both Python-driven envs share: spaces, and no batch API in C++ (the
// Python wrapper serves it).
class PyEnvBase : public VecEnvBase {
 public:
  PyEnvBase(std::int64_t num_envs, SpaceSpec obs, SpaceSpec act, std::string id)
      : num_envs_(num_envs), obs_(std::move(obs)), act_(std::move(act)), id_(std::move(id)) {}

  std::string id() const override { return id_; }
  std::int64_t num_envs() const override { return num_envs_; }
  std::int64_t state_dim() const override { return 0; }
  SpaceSpec observation_space() const override { return obs_; }
  SpaceSpec action_space() const override { return act_; }
  std::int64_t max_episode_steps() const override { return 0; }  // the env truncates itself
  void set_max_episode_steps(std::int64_t) override { unsupported("max_episode_steps"); }
  int num_threads() const override { return 1; }
  std::int64_t obs_size() const override { return obs_.flat_size(); }
  void require_reset_all() override {}

  void seed(std::uint64_t) override { unsupported("seed"); }
  void seed_each(const std::uint64_t*, const bool*) override { unsupported("seed_each"); }
  void reset(const bool*, void*) override { unsupported("reset"); }
  void step(const void*, void*, double*, bool*, bool*) override { unsupported("step"); }
  void get_state(double*) const override { unsupported("get_state"); }
  void set_state(const double*) override { unsupported("set_state"); }
  void get_observation(void*, const bool*) const override { unsupported("observation"); }
  std::vector<std::int64_t> elapsed_steps() const override { unsupported("elapsed_steps"); }
  std::vector<std::string> param_names() const override { return {}; }
  std::vector<double> get_param(const std::string& name) const override { unsupported(name); }
  void set_param(const std::string& name, const double*) override { unsupported(name); }

 protected:
  [[noreturn]] static void unsupported(const std::string& what) {
    throw std::invalid_argument(concat(what, " is not available on a Python-stepped env"));
  }

  // Copies `count` values of what the env returned as `what` into out.
  template <class T>
  static void copy_values(const py::handle& o, T* out, std::int64_t count, const char* what) {
    auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(o);
    if (!a || a.size() != count)
      throw std::runtime_error(concat("the env returned ", what, " of ", a ? a.size() : -1,
                                      " values; expected ", count));
    std::copy(a.data(), a.data() + count, out);
  }

  // A NaN observation would make NaN features, then a NaN gradient.
  void require_finite_observations(const double* obs, std::int64_t n) const {
    for (std::int64_t k = 0; k < n; ++k)
      if (!std::isfinite(obs[k]))
        throw std::runtime_error(concat("the env returned the observation value ", obs[k],
                                        " for env ", k / obs_size(),
                                        "; observations must be finite"));
  }

  static void require_finite_rewards(const double* reward, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i)
      if (!std::isfinite(reward[i]))
        throw std::runtime_error(concat("the env returned the reward ", reward[i], " for env ", i,
                                        "; rewards must be finite"));
  }

  std::int64_t num_envs_;
  SpaceSpec obs_, act_;
  std::string id_;
};

class PyCallbackEnv final : public PyEnvBase {
 public:
  PyCallbackEnv(py::object reset_fn, py::object step_fn, std::int64_t num_envs, SpaceSpec obs,
                SpaceSpec act, std::string id)
      : PyEnvBase(num_envs, std::move(obs), std::move(act), std::move(id)),
        reset_fn_(std::move(reset_fn)),
        step_fn_(std::move(step_fn)) {}

  ~PyCallbackEnv() override {
    py::gil_scoped_acquire gil;  // the callables are Python objects
    reset_fn_ = py::object();
    step_fn_ = py::object();
  }

  void env_reset(std::int64_t i, double* obs) override {
    py::gil_scoped_acquire gil;
    copy_values(reset_fn_(i), obs, obs_size(), "an observation");
  }

  StepResult env_step(std::int64_t i, std::int64_t action, const double* continuous,
                      double* obs) override {
    py::gil_scoped_acquire gil;
    py::object result;
    if (act_.discrete) {
      result = step_fn_(i, action);
    } else {
      py::array_t<double> a(act_.shape.at(0));
      std::copy(continuous, continuous + act_.shape.at(0), a.mutable_data());
      result = step_fn_(i, a);
    }
    auto t = result.cast<py::tuple>();
    if (t.size() != 4)
      throw std::runtime_error("step callback must return (obs, reward, terminated, truncated)");
    copy_values(t[0], obs, obs_size(), "an observation");
    StepResult r;
    r.reward = t[1].cast<double>();
    require_finite_rewards(&r.reward, 1);
    r.terminated = t[2].cast<bool>();
    r.truncated = t[3].cast<bool>();
    return r;
  }

 private:
  py::object reset_fn_, step_fn_;
};

class PyLockstepEnv final : public PyEnvBase, public LockstepEnv {
 public:
  PyLockstepEnv(py::object reset_all_fn, py::object step_all_fn, std::int64_t num_envs,
                SpaceSpec obs, SpaceSpec act, std::string id, bool resets_in_step)
      : PyEnvBase(num_envs, std::move(obs), std::move(act), std::move(id)),
        reset_all_fn_(std::move(reset_all_fn)),
        step_all_fn_(std::move(step_all_fn)),
        resets_in_step_(resets_in_step) {}

  ~PyLockstepEnv() override {
    py::gil_scoped_acquire gil;
    reset_all_fn_ = py::object();
    step_all_fn_ = py::object();
  }

  LockstepEnv* lockstep() override { return this; }
  bool resets_in_step() const override { return resets_in_step_; }

  void env_reset(std::int64_t, double*) override { lockstep_only(); }
  StepResult env_step(std::int64_t, std::int64_t, const double*, double*) override {
    lockstep_only();
  }

  void reset_all(double* obs) override {
    py::gil_scoped_acquire gil;
    copy_values(reset_all_fn_(), obs, num_envs_ * obs_size(), "observations");
    require_finite_observations(obs, num_envs_ * obs_size());
  }

  void step_all(const void* actions, double* obs, double* reward, bool* terminated, bool* truncated,
                double* final_obs) override {
    py::gil_scoped_acquire gil;
    py::array batch;
    if (act_.discrete) {
      batch = py::array_t<std::int64_t>(num_envs_, static_cast<const std::int64_t*>(actions));
    } else {
      const std::int64_t dim = act_.shape.at(0);
      batch = py::array_t<double>(std::vector<py::ssize_t>{num_envs_, dim},
                                  static_cast<const double*>(actions));
    }
    auto t = step_all_fn_(batch).cast<py::tuple>();
    if (t.size() != 5)
      throw std::runtime_error(
          "step_all must return (obs, reward, terminated, truncated, final_obs)");
    const std::int64_t rows = num_envs_ * obs_size();
    copy_values(t[0], obs, rows, "observations");
    copy_values(t[1], reward, num_envs_, "rewards");
    copy_values(t[2], terminated, num_envs_, "terminated flags");
    copy_values(t[3], truncated, num_envs_, "truncated flags");
    copy_values(t[4], final_obs, rows, "final observations");
    require_finite_rewards(reward, num_envs_);
    require_finite_observations(obs, rows);
  }

 private:
  [[noreturn]] static void lockstep_only() {
    throw std::logic_error("a Gymnasium vector env is stepped all together, never one env");
  }

  py::object reset_all_fn_, step_all_fn_;
  bool resets_in_step_;
};

}  // namespace

void bind_callback_env(py::module_& m) {
  m.def(
      "make_callback_env",
      [](py::object reset_fn, py::object step_fn, std::int64_t num_envs, py::tuple obs_space,
         py::tuple act_space, const std::string& id) {
        if (num_envs < 1) throw py::value_error("num_envs must be >= 1");
        return std::make_unique<PyVecEnv>(
            std::make_unique<PyCallbackEnv>(std::move(reset_fn), std::move(step_fn), num_envs,
                                            space_from_tuple(obs_space, "observation_space"),
                                            space_from_tuple(act_space, "action_space"), id));
      },
      py::arg("reset"), py::arg("step"), py::arg("num_envs"), py::arg("observation_space"),
      py::arg("action_space"), py::arg("id"),
      "An env the engine steps by calling reset(i) -> obs and step(i, action) -> (obs, reward, "
      "terminated, truncated) in Python.");
  m.def(
      "make_lockstep_env",
      [](py::object reset_all, py::object step_all, std::int64_t num_envs, py::tuple obs_space,
         py::tuple act_space, const std::string& id, bool resets_in_step) {
        if (num_envs < 1) throw py::value_error("num_envs must be >= 1");
        return std::make_unique<PyVecEnv>(std::make_unique<PyLockstepEnv>(
            std::move(reset_all), std::move(step_all), num_envs,
            space_from_tuple(obs_space, "observation_space"),
            space_from_tuple(act_space, "action_space"), id, resets_in_step));
      },
      py::arg("reset_all"), py::arg("step_all"), py::arg("num_envs"), py::arg("observation_space"),
      py::arg("action_space"), py::arg("id"), py::arg("resets_in_step"),
      "Envs the engine steps all together: reset_all() -> obs (N, D) and step_all(actions) -> "
      "(obs, reward, terminated, truncated, final_obs).");
}

}  // namespace pgfast::bind
