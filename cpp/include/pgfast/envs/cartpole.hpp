// https://github.com/Farama-Foundation/Gymnasium/blob/main/gymnasium/envs/classic_control/cartpole.py
//
// CartPole-v1: push a cart left (0) or right (1) to keep a pole upright.
// Observation (float32): cart position, cart velocity, pole angle, pole
// angular velocity; bounds (+-4.8, +-inf, +-0.418 rad, +-inf). Reward +1 on
// every step, including the terminating one. Terminates when |x| > 2.4 or
// |theta| > 12 degrees; truncated after 500 steps. Initial state uniform in
// (-0.05, 0.05)^4. Euler integration in float64, as Gymnasium does.
#ifndef PGFAST_ENVS_CARTPOLE_HPP_
#define PGFAST_ENVS_CARTPOLE_HPP_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/envs/classic_common.hpp"
#include "pgfast/envs/env.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

struct CartPoleParams {
  double gravity = 9.8;
  double masscart = 1.0;
  double masspole = 0.1;
  double length = 0.5;  // half the pole's length
  double force_mag = 10.0;
  double tau = 0.02;  // seconds between state updates
};

class CartPole {
 public:
  using Params = CartPoleParams;
  using Obs = float;
  static constexpr bool kDiscreteAction = true;
  // A CartPole step costs ~15 ns: waking a worker (tens of microseconds on
  // a VM) pays off only from about 8192 envs per thread.
  static constexpr std::int64_t kParallelGrain = 8192;
  static constexpr double kXThreshold = 2.4;
  static constexpr double kThetaThresholdRadians = 12 * 2 * classic::kPi / 360;

  std::string id() const { return "CartPole-v1"; }
  std::int64_t state_dim() const { return 4; }
  std::int64_t scratch_dim() const { return 0; }
  std::int64_t max_episode_steps() const { return 500; }
  SpaceSpec observation_space() const {
    return SpaceSpec::make_box({-kXThreshold * 2, -kInf, -kThetaThresholdRadians * 2, -kInf},
                               {kXThreshold * 2, kInf, kThetaThresholdRadians * 2, kInf},
                               Dtype::kFloat32);
  }
  SpaceSpec action_space() const { return SpaceSpec::make_discrete(2); }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> fields = {
        {"gravity", &Params::gravity, Domain::kFinite},
        {"masscart", &Params::masscart, Domain::kPositive},
        {"masspole", &Params::masspole, Domain::kPositive},
        {"length", &Params::length, Domain::kPositive},
        {"force_mag", &Params::force_mag, Domain::kFinite},
        {"tau", &Params::tau, Domain::kPositive},
    };
    return fields;
  }

  void reset(const Params&, Rng& rng, double* s) const {
    for (int k = 0; k < 4; ++k) s[k] = rng.uniform(-0.05, 0.05);
  }

  StepResult step(const Params& p, double* s, std::int64_t action, Rng&, double*) const {
    return dynamics(p, s, action, std::cos(s[2]), std::sin(s[2]));
  }

  // step() over n consecutive envs. The sines and cosines (libm calls, half
  // the cost) are taken in a first pass so that the arithmetic of the second
  // pass vectorises; the results are identical to step()'s.
  void step_block(const Params* p, double* s, const std::int64_t* actions, std::int64_t n,
                  double* reward, bool* terminated) const {
    constexpr std::int64_t kBlock = 64;
    double cos_theta[kBlock], sin_theta[kBlock];
    for (std::int64_t b = 0; b < n; b += kBlock) {
      const std::int64_t m = n - b < kBlock ? n - b : kBlock;
      for (std::int64_t j = 0; j < m; ++j) {
        cos_theta[j] = std::cos(s[4 * (b + j) + 2]);
        sin_theta[j] = std::sin(s[4 * (b + j) + 2]);
      }
      for (std::int64_t j = 0; j < m; ++j) {
        const StepResult r =
            dynamics(p[b + j], s + 4 * (b + j), actions[b + j], cos_theta[j], sin_theta[j]);
        reward[b + j] = r.reward;
        terminated[b + j] = r.terminated;
      }
    }
  }

  void observe(const Params&, const double* s, float* obs) const {
    for (int k = 0; k < 4; ++k) obs[k] = static_cast<float>(s[k]);
  }
  void check_state(const double*, std::int64_t) const {}

 private:
  // Same operations in the same order as Gymnasium's step().
  static StepResult dynamics(const Params& p, double* s, std::int64_t action, double costheta,
                             double sintheta) {
    double x = s[0], x_dot = s[1], theta = s[2], theta_dot = s[3];
    const double force = action == 1 ? p.force_mag : -p.force_mag;
    const double total_mass = p.masspole + p.masscart;
    const double polemass_length = p.masspole * p.length;
    const double temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
    const double thetaacc =
        (p.gravity * sintheta - costheta * temp) /
        (p.length * (4.0 / 3.0 - p.masspole * (costheta * costheta) / total_mass));
    const double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    x = x + p.tau * x_dot;
    x_dot = x_dot + p.tau * xacc;
    theta = theta + p.tau * theta_dot;
    theta_dot = theta_dot + p.tau * thetaacc;
    s[0] = x;
    s[1] = x_dot;
    s[2] = theta;
    s[3] = theta_dot;
    const bool terminated = x < -kXThreshold || x > kXThreshold ||
                            theta < -kThetaThresholdRadians || theta > kThetaThresholdRadians;
    return {1.0, terminated};
  }
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_CARTPOLE_HPP_
