// A VecEnvBase whose environments live in Python (any Gymnasium env): the
// engine's rollouts, estimator and updates stay in C++, and each step
// re-acquires the GIL to call the env. This is the documented slow path.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "numpy.hpp"
#include "pgfast/envs/env.hpp"
#include "py_env.hpp"

namespace pgfast::bind {

namespace {

class PyCallbackEnv final : public VecEnvBase {
 public:
  PyCallbackEnv(py::object reset_fn, py::object step_fn, std::int64_t num_envs, SpaceSpec obs,
                SpaceSpec act, std::string id)
      : reset_fn_(std::move(reset_fn)),
        step_fn_(std::move(step_fn)),
        num_envs_(num_envs),
        obs_(std::move(obs)),
        act_(std::move(act)),
        id_(std::move(id)) {}

  ~PyCallbackEnv() override {
    py::gil_scoped_acquire gil;  // the callables are Python objects
    reset_fn_ = py::object();
    step_fn_ = py::object();
  }

  std::string id() const override { return id_; }
  std::int64_t num_envs() const override { return num_envs_; }
  std::int64_t state_dim() const override { return 0; }
  SpaceSpec observation_space() const override { return obs_; }
  SpaceSpec action_space() const override { return act_; }
  std::int64_t max_episode_steps() const override { return 0; }  // the env truncates itself
  void set_max_episode_steps(std::int64_t) override { unsupported("max_episode_steps"); }
  int num_threads() const override { return 1; }
  std::int64_t obs_size() const override { return obs_.flat_size(); }

  void env_reset(std::int64_t i, double* obs) override {
    py::gil_scoped_acquire gil;
    copy_obs(reset_fn_(i), obs);
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
    copy_obs(t[0], obs);
    StepResult r;
    r.reward = t[1].cast<double>();
    r.terminated = t[2].cast<bool>();
    r.truncated = t[3].cast<bool>();
    return r;
  }

  void require_reset_all() override {}

  // The batch API is served by the Python wrapper, not by this class.
  void seed(std::uint64_t) override { unsupported("seed"); }
  void seed_each(const std::uint64_t*, const bool*) override { unsupported("seed_each"); }
  void reset(const bool*, void*) override { unsupported("reset"); }
  void step(const void*, void*, double*, bool*, bool*) override { unsupported("step"); }
  void get_state(double*) const override { unsupported("get_state"); }
  void set_state(const double*) override { unsupported("set_state"); }
  void get_observation(void*) const override { unsupported("observation"); }
  std::vector<std::int64_t> elapsed_steps() const override { unsupported("elapsed_steps"); }
  std::vector<std::string> param_names() const override { return {}; }
  std::vector<double> get_param(const std::string& name) const override { unsupported(name); }
  void set_param(const std::string& name, const double*) override { unsupported(name); }

 private:
  [[noreturn]] static void unsupported(const std::string& what) {
    throw std::invalid_argument(concat(what, " is not available on a Python-stepped env"));
  }

  void copy_obs(const py::handle& o, double* out) const {
    auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(o);
    if (!a || a.size() != obs_size())
      throw std::runtime_error(concat("the env returned an observation of ", a ? a.size() : -1,
                                      " values; expected ", obs_size()));
    std::copy(a.data(), a.data() + a.size(), out);
  }

  py::object reset_fn_, step_fn_;
  std::int64_t num_envs_;
  SpaceSpec obs_, act_;
  std::string id_;
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
}

}  // namespace pgfast::bind
