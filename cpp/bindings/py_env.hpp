// The Python-side owner of a VecEnvBase, shared by the env and algorithm
// bindings.
#ifndef PGFAST_BINDINGS_PY_ENV_HPP_
#define PGFAST_BINDINGS_PY_ENV_HPP_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pgfast/check.hpp"
#include "pgfast/envs/env.hpp"

namespace pgfast::bind {

namespace py = pybind11;

// Owns one VecEnvBase. The GIL is released while C++ runs, so a second
// Python thread could otherwise enter the same env concurrently; such a call
// is refused instead of racing.
class PyVecEnv {
 public:
  // keep_alive: what the env's code pointers point into (a NativeEnv's
  // compiled functions), held as long as the env exists.
  explicit PyVecEnv(std::unique_ptr<VecEnvBase> env, py::object keep_alive = py::none())
      : keep_alive_(std::move(keep_alive)), env_(std::move(env)) {}

  class Guard {
   public:
    explicit Guard(PyVecEnv& self) : self_(self) {
      if (!self_.env_) throw py::value_error("this environment is closed");
      if (self_.busy_.exchange(true))
        throw std::runtime_error(
            "this environment is being used by another thread; use one env per thread");
    }
    ~Guard() { self_.busy_.store(false); }
    VecEnvBase& env() { return *self_.env_; }

   private:
    PyVecEnv& self_;
  };

  VecEnvBase& env() {
    if (!env_) throw py::value_error("this environment is closed");
    return *env_;
  }
  void close() {
    Guard guard(*this);
    env_.reset();
    keep_alive_ = py::none();
  }
  bool closed() const { return !env_; }

  py::array new_obs_array() {
    const SpaceSpec space = env().observation_space();
    const auto n = static_cast<py::ssize_t>(env().num_envs());
    switch (space.dtype) {
      case Dtype::kFloat32:
        return py::array_t<float>(std::vector<py::ssize_t>{n, space.shape.at(0)});
      case Dtype::kFloat64:
        return py::array_t<double>(std::vector<py::ssize_t>{n, space.shape.at(0)});
      case Dtype::kInt64:
        return py::array_t<std::int64_t>(std::vector<py::ssize_t>{n});
    }
    throw std::logic_error("unknown observation dtype");
  }

  py::object keep_alive_;  // declared first: destroyed after the env
  std::unique_ptr<VecEnvBase> env_;
  std::atomic<bool> busy_{false};
};

// ("discrete", n) or ("box", low, high[, dtype]): a space described from
// Python (dtype "float32" or "float64", float64 by default).
inline SpaceSpec space_from_tuple(const py::tuple& t, const char* name) {
  if (t.size() < 2)
    throw py::value_error(concat(name, ": expected ('discrete', n) or ('box', ...)"));
  const auto kind = t[0].cast<std::string>();
  if (kind == "discrete") {
    const auto n = t[1].cast<std::int64_t>();
    if (n < 1) throw py::value_error(concat(name, ": Discrete n must be >= 1"));
    return SpaceSpec::make_discrete(n);
  }
  if (kind == "box" && (t.size() == 3 || t.size() == 4)) {
    auto low = t[1].cast<std::vector<double>>();
    auto high = t[2].cast<std::vector<double>>();
    if (low.empty() || low.size() != high.size())
      throw py::value_error(concat(name, ": Box low and high must be non-empty and equally long"));
    const std::string dtype = t.size() == 4 ? t[3].cast<std::string>() : "float64";
    if (dtype != "float32" && dtype != "float64")
      throw py::value_error(concat(name, ": Box dtype must be float32 or float64, got ", dtype));
    return SpaceSpec::make_box(std::move(low), std::move(high),
                               dtype == "float32" ? Dtype::kFloat32 : Dtype::kFloat64);
  }
  throw py::value_error(concat(name, ": unsupported space '", kind, "'"));
}

}  // namespace pgfast::bind

#endif  // PGFAST_BINDINGS_PY_ENV_HPP_
