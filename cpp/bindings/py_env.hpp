// The Python-side owner of a VecEnvBase, shared by the env and algorithm
// bindings.
#ifndef PGFAST_BINDINGS_PY_ENV_HPP_
#define PGFAST_BINDINGS_PY_ENV_HPP_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "pgfast/envs/env.hpp"

namespace pgfast::bind {

namespace py = pybind11;

// Owns one VecEnvBase. The GIL is released while C++ runs, so a second
// Python thread could otherwise enter the same env concurrently; such a call
// is refused instead of racing.
class PyVecEnv {
 public:
  explicit PyVecEnv(std::unique_ptr<VecEnvBase> env) : env_(std::move(env)) {}

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

  std::unique_ptr<VecEnvBase> env_;
  std::atomic<bool> busy_{false};
};

}  // namespace pgfast::bind

#endif  // PGFAST_BINDINGS_PY_ENV_HPP_
