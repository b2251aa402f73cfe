// Linear-quadratic regulator: x' = A x + B u + noise_std * w, w ~ N(0, I),
// reward -(x^T Q x + u^T R u) on the current state x and action u. x0 ~
// N(0, init_std^2 I). Never terminates; truncated after max_episode_steps.
// Observation = state (float64); the action space is unbounded float64.
//
// The infinite-horizon optimum is the linear feedback u = -K x from the
// discrete algebraic Riccati equation, which lqr_riccati solves (in
// cpp/src/lqr.cpp, the only env code that needs Eigen).
#ifndef PGFAST_ENVS_LQR_HPP_
#define PGFAST_ENVS_LQR_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/envs/env.hpp"
#include "pgfast/envs/tabular_mdp.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

struct LqrConfig {
  std::int64_t n = 0;     // state dimension
  std::int64_t m = 0;     // action dimension
  std::vector<double> A;  // n x n, row-major
  std::vector<double> B;  // n x m
  std::vector<double> Q;  // n x n, symmetric positive semi-definite
  std::vector<double> R;  // m x m, symmetric positive definite
  double init_std = 1.0;
  double noise_std = 0.0;
  std::int64_t max_episode_steps = 100;

  void validate() const;
};

struct RiccatiSolution {
  std::vector<double> P;  // n x n cost-to-go: V(x) = -x^T P x
  std::vector<double> K;  // m x n optimal gain: u = -K x
  int iterations = 0;
};

// Solves P = Q + g A'PA - g^2 A'PB (R + g B'PB)^-1 B'PA (g = gamma) by the
// structure-preserving doubling algorithm; throws std::invalid_argument if
// it does not converge (e.g. (A, B) not stabilisable).
RiccatiSolution lqr_riccati(const LqrConfig& config, double gamma);

class LqrModel {
 public:
  using Params = NoParams;
  using Obs = double;
  static constexpr bool kDiscreteAction = false;
  static constexpr std::int64_t kParallelGrain = 256;

  explicit LqrModel(LqrConfig config);

  const LqrConfig& config() const { return c_; }
  std::string id() const { return "LQR"; }
  std::int64_t state_dim() const { return c_.n; }
  std::int64_t scratch_dim() const { return c_.n; }
  std::int64_t max_episode_steps() const { return c_.max_episode_steps; }
  SpaceSpec observation_space() const {
    return SpaceSpec::make_box(std::vector<double>(static_cast<std::size_t>(c_.n), -kInf),
                               std::vector<double>(static_cast<std::size_t>(c_.n), kInf),
                               Dtype::kFloat64);
  }
  SpaceSpec action_space() const {
    return SpaceSpec::make_box(std::vector<double>(static_cast<std::size_t>(c_.m), -kInf),
                               std::vector<double>(static_cast<std::size_t>(c_.m), kInf),
                               Dtype::kFloat64);
  }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> none;
    return none;
  }

  void reset(const Params&, Rng& rng, double* x) const {
    for (std::int64_t i = 0; i < c_.n; ++i) x[i] = c_.init_std * rng.normal();
  }

  StepResult step(const Params&, double* x, const double* u, Rng& rng, double* next) const {
    const std::int64_t n = c_.n, m = c_.m;
    double cost = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      double qx = 0.0, ax = 0.0, bu = 0.0;
      for (std::int64_t j = 0; j < n; ++j) {
        qx += c_.Q[static_cast<std::size_t>(i * n + j)] * x[j];
        ax += c_.A[static_cast<std::size_t>(i * n + j)] * x[j];
      }
      for (std::int64_t j = 0; j < m; ++j) bu += c_.B[static_cast<std::size_t>(i * m + j)] * u[j];
      cost += x[i] * qx;
      next[i] = ax + bu;
    }
    for (std::int64_t i = 0; i < m; ++i) {
      double ru = 0.0;
      for (std::int64_t j = 0; j < m; ++j) ru += c_.R[static_cast<std::size_t>(i * m + j)] * u[j];
      cost += u[i] * ru;
    }
    for (std::int64_t i = 0; i < n; ++i)
      x[i] = c_.noise_std > 0 ? next[i] + c_.noise_std * rng.normal() : next[i];
    return {-cost, false};
  }

  void observe(const Params&, const double* x, double* obs) const {
    for (std::int64_t i = 0; i < c_.n; ++i) obs[i] = x[i];
  }
  void check_state(const double*, std::int64_t) const {}

 private:
  LqrConfig c_;
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_LQR_HPP_
