// https://github.com/Farama-Foundation/Gymnasium/blob/main/gymnasium/envs/classic_control/pendulum.py
//
// Pendulum-v1: swing a pendulum up with a torque in [-2, 2] (float32,
// clipped). Observation (float32): cos(theta), sin(theta) in [-1, 1] and
// angular velocity in [-8, 8]. Reward -(theta^2 + 0.1 thdot^2 + 0.001 u^2)
// with theta normalised to [-pi, pi). Never terminates; truncated after 200
// steps. Initial theta uniform in [-pi, pi), thdot uniform in [-1, 1).
//
// Gymnasium receives a float32 torque, so u^2 and 3/(m l^2) * u are float32
// products (NumPy 2 keeps float32 when a Python float meets it); step()
// reproduces that.
#ifndef PGFAST_ENVS_PENDULUM_HPP_
#define PGFAST_ENVS_PENDULUM_HPP_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/envs/classic_common.hpp"
#include "pgfast/envs/env.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

struct PendulumParams {
  double g = 10.0;
  double m = 1.0;
  double l = 1.0;
  double dt = 0.05;
};

class Pendulum {
 public:
  using Params = PendulumParams;
  using Obs = float;
  static constexpr bool kDiscreteAction = false;
  static constexpr std::int64_t kParallelGrain = 1024;
  static constexpr double kMaxSpeed = 8;
  static constexpr double kMaxTorque = 2.0;

  std::string id() const { return "Pendulum-v1"; }
  std::int64_t state_dim() const { return 2; }
  std::int64_t scratch_dim() const { return 0; }
  std::int64_t max_episode_steps() const { return 200; }
  SpaceSpec observation_space() const {
    return SpaceSpec::make_box({-1.0, -1.0, -kMaxSpeed}, {1.0, 1.0, kMaxSpeed}, Dtype::kFloat32);
  }
  SpaceSpec action_space() const {
    return SpaceSpec::make_box({-kMaxTorque}, {kMaxTorque}, Dtype::kFloat32);
  }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> fields = {
        {"g", &Params::g, Domain::kFinite},
        {"m", &Params::m, Domain::kPositive},
        {"l", &Params::l, Domain::kPositive},
        {"dt", &Params::dt, Domain::kPositive},
    };
    return fields;
  }

  void reset(const Params&, Rng& rng, double* s) const {
    s[0] = rng.uniform(-classic::kPi, classic::kPi);
    s[1] = rng.uniform(-1.0, 1.0);
  }

  StepResult step(const Params& p, double* s, const double* action, Rng&, double*) const {
    using classic::py_pow;
    const double th = s[0], thdot = s[1];
    float u = static_cast<float>(action[0]);
    u = u < static_cast<float>(-kMaxTorque)
            ? static_cast<float>(-kMaxTorque)
            : (u > static_cast<float>(kMaxTorque) ? static_cast<float>(kMaxTorque) : u);
    const double angle = classic::py_mod(th + classic::kPi, 2 * classic::kPi) - classic::kPi;
    const float u_cost = 0.001f * classic::py_powf(u, 2.0f);
    const double costs = py_pow(angle, 2) + 0.1 * py_pow(thdot, 2) + static_cast<double>(u_cost);
    const float u_acc = static_cast<float>(3.0 / (p.m * py_pow(p.l, 2))) * u;
    double newthdot =
        thdot + (3 * p.g / (2 * p.l) * std::sin(th) + static_cast<double>(u_acc)) * p.dt;
    newthdot = classic::clip(newthdot, -kMaxSpeed, kMaxSpeed);
    s[0] = th + newthdot * p.dt;
    s[1] = newthdot;
    return {-costs, false};
  }

  void observe(const Params&, const double* s, float* obs) const {
    obs[0] = static_cast<float>(std::cos(s[0]));
    obs[1] = static_cast<float>(std::sin(s[0]));
    obs[2] = static_cast<float>(s[1]);
  }
  void check_state(const double*, std::int64_t) const {}
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_PENDULUM_HPP_
