// https://github.com/Farama-Foundation/Gymnasium/blob/main/gymnasium/envs/classic_control/acrobot.py
//
// Acrobot-v1: a two-link chain actuated at the joint with torque -1, 0 or +1
// (actions 0, 1, 2) must swing its tip above the bar. Observation (float32):
// cos/sin of both angles in [-1, 1], angular velocities in [-4 pi, 4 pi] and
// [-9 pi, 9 pi]. Reward -1 per step and 0 on the terminating one; terminates
// when -cos(t1) - cos(t1 + t2) > 1; truncated after 500 steps. Initial state
// uniform in [-0.1, 0.1)^4, rounded to float32 as Gymnasium does. Dynamics
// are the book version, integrated by one RK4 step of dt.
#ifndef PGFAST_ENVS_ACROBOT_HPP_
#define PGFAST_ENVS_ACROBOT_HPP_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/envs/classic_common.hpp"
#include "pgfast/envs/env.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

struct AcrobotParams {
  double link_length_1 = 1.0;
  double link_mass_1 = 1.0;
  double link_mass_2 = 1.0;
  double link_com_pos_1 = 0.5;
  double link_com_pos_2 = 0.5;
  double link_moi = 1.0;
  double dt = 0.2;
  double torque_noise_max = 0.0;
};

class Acrobot {
 public:
  using Params = AcrobotParams;
  using Obs = float;
  static constexpr bool kDiscreteAction = true;
  static constexpr std::int64_t kParallelGrain = 256;
  static constexpr double kMaxVel1 = 4 * classic::kPi;
  static constexpr double kMaxVel2 = 9 * classic::kPi;
  static constexpr double kGravity = 9.8;

  std::string id() const { return "Acrobot-v1"; }
  std::int64_t state_dim() const { return 4; }
  std::int64_t scratch_dim() const { return 0; }
  std::int64_t max_episode_steps() const { return 500; }
  SpaceSpec observation_space() const {
    return SpaceSpec::make_box({-1.0, -1.0, -1.0, -1.0, -kMaxVel1, -kMaxVel2},
                               {1.0, 1.0, 1.0, 1.0, kMaxVel1, kMaxVel2}, Dtype::kFloat32);
  }
  SpaceSpec action_space() const { return SpaceSpec::make_discrete(3); }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> fields = {
        {"link_length_1", &Params::link_length_1, Domain::kPositive},
        {"link_mass_1", &Params::link_mass_1, Domain::kPositive},
        {"link_mass_2", &Params::link_mass_2, Domain::kPositive},
        {"link_com_pos_1", &Params::link_com_pos_1, Domain::kFinite},
        {"link_com_pos_2", &Params::link_com_pos_2, Domain::kFinite},
        {"link_moi", &Params::link_moi, Domain::kPositive},
        {"dt", &Params::dt, Domain::kPositive},
        {"torque_noise_max", &Params::torque_noise_max, Domain::kNonNegative},
    };
    return fields;
  }

  void reset(const Params&, Rng& rng, double* s) const {
    for (int k = 0; k < 4; ++k) s[k] = static_cast<float>(rng.uniform(-0.1, 0.1));
  }

  StepResult step(const Params& p, double* s, std::int64_t action, Rng& rng, double*) const {
    double torque = static_cast<double>(action - 1);  // AVAIL_TORQUE = [-1.0, 0.0, +1]
    if (p.torque_noise_max > 0) torque += rng.uniform(-p.torque_noise_max, p.torque_noise_max);
    // rk4(_dsdt, [s, torque], [0, dt]); the torque's derivative is 0.
    const double dt = p.dt - 0;
    const double dt2 = dt / 2.0;
    double k1[4], k2[4], k3[4], k4[4], y[4];
    dsdt(p, s, torque, k1);
    for (int j = 0; j < 4; ++j) y[j] = s[j] + dt2 * k1[j];
    dsdt(p, y, torque, k2);
    for (int j = 0; j < 4; ++j) y[j] = s[j] + dt2 * k2[j];
    dsdt(p, y, torque, k3);
    for (int j = 0; j < 4; ++j) y[j] = s[j] + dt * k3[j];
    dsdt(p, y, torque, k4);
    double ns[4];
    for (int j = 0; j < 4; ++j) ns[j] = s[j] + dt / 6.0 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
    s[0] = wrap(ns[0], -classic::kPi, classic::kPi);
    s[1] = wrap(ns[1], -classic::kPi, classic::kPi);
    s[2] = classic::clip(ns[2], -kMaxVel1, kMaxVel1);
    s[3] = classic::clip(ns[3], -kMaxVel2, kMaxVel2);
    const bool terminal = -std::cos(s[0]) - std::cos(s[1] + s[0]) > 1.0;
    return {terminal ? 0.0 : -1.0, terminal};
  }

  void observe(const Params&, const double* s, float* obs) const {
    obs[0] = static_cast<float>(std::cos(s[0]));
    obs[1] = static_cast<float>(std::sin(s[0]));
    obs[2] = static_cast<float>(std::cos(s[1]));
    obs[3] = static_cast<float>(std::sin(s[1]));
    obs[4] = static_cast<float>(s[2]);
    obs[5] = static_cast<float>(s[3]);
  }
  void check_state(const double*, std::int64_t) const {}

 private:
  // Gymnasium's _dsdt ("book" dynamics), term by term in the same order.
  static void dsdt(const Params& p, const double* s, double a, double* out) {
    using classic::kPi;
    using classic::py_pow;
    const double m1 = p.link_mass_1, m2 = p.link_mass_2, l1 = p.link_length_1;
    const double lc1 = p.link_com_pos_1, lc2 = p.link_com_pos_2;
    const double I1 = p.link_moi, I2 = p.link_moi;
    const double g = kGravity;
    const double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
    const double d1 = m1 * py_pow(lc1, 2) +
                      m2 * (py_pow(l1, 2) + py_pow(lc2, 2) + 2 * l1 * lc2 * std::cos(theta2)) + I1 +
                      I2;
    const double d2 = m2 * (py_pow(lc2, 2) + l1 * lc2 * std::cos(theta2)) + I2;
    const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - kPi / 2.0);
    const double phi1 = -m2 * l1 * lc2 * py_pow(dtheta2, 2) * std::sin(theta2) -
                        2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * std::sin(theta2) +
                        (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - kPi / 2) + phi2;
    const double ddtheta2 =
        (a + d2 / d1 * phi1 - m2 * l1 * lc2 * py_pow(dtheta1, 2) * std::sin(theta2) - phi2) /
        (m2 * py_pow(lc2, 2) + I2 - py_pow(d2, 2) / d1);
    const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    out[0] = dtheta1;
    out[1] = dtheta2;
    out[2] = ddtheta1;
    out[3] = ddtheta2;
  }

  static double wrap(double x, double m, double M) {
    const double diff = M - m;
    // Gymnasium loops here forever on inf and for ages on huge angles.
    if (!std::isfinite(x)) return x;
    if (std::fabs(x) > 1e6) x = std::fmod(x, diff);
    while (x > M) x = x - diff;
    while (x < m) x = x + diff;
    return x;
  }
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_ACROBOT_HPP_
