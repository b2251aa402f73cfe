// https://github.com/Farama-Foundation/Gymnasium/blob/main/gymnasium/envs/classic_control/continuous_mountain_car.py
//
// MountainCarContinuous-v0: a force in [-1, 1] (float32, clipped) drives the
// car. Observation (float32): position in [-1.2, 0.6], velocity in
// [-0.07, 0.07]. Reward -0.1 a^2 per step on the unclipped action, +100 on
// reaching position >= 0.45 with velocity >= goal_velocity (terminated);
// truncated after 999 steps. Initial position uniform in [-0.6, -0.4).
//
// Gymnasium stores this env's state as float32 after the first step, so its
// arithmetic mixes float32 and float64 under NumPy 2's promotion rules (a
// Python float meeting a float32 becomes float32). step() replays those rules;
// a state whose entries are all float32 values is treated as float32.
#ifndef PGFAST_ENVS_MOUNTAIN_CAR_CONTINUOUS_HPP_
#define PGFAST_ENVS_MOUNTAIN_CAR_CONTINUOUS_HPP_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/envs/classic_common.hpp"
#include "pgfast/envs/env.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

struct MountainCarContinuousParams {
  double power = 0.0015;
  double goal_velocity = 0.0;
};

class MountainCarContinuous {
 public:
  using Params = MountainCarContinuousParams;
  using Obs = float;
  static constexpr bool kDiscreteAction = false;
  static constexpr std::int64_t kParallelGrain = 2048;
  static constexpr double kMinAction = -1.0;
  static constexpr double kMaxAction = 1.0;
  static constexpr double kMinPosition = -1.2;
  static constexpr double kMaxPosition = 0.6;
  static constexpr double kMaxSpeed = 0.07;
  static constexpr double kGoalPosition = 0.45;

  std::string id() const { return "MountainCarContinuous-v0"; }
  std::int64_t state_dim() const { return 2; }
  std::int64_t scratch_dim() const { return 0; }
  std::int64_t max_episode_steps() const { return 999; }
  SpaceSpec observation_space() const {
    return SpaceSpec::make_box({kMinPosition, -kMaxSpeed}, {kMaxPosition, kMaxSpeed},
                               Dtype::kFloat32);
  }
  SpaceSpec action_space() const {
    return SpaceSpec::make_box({kMinAction}, {kMaxAction}, Dtype::kFloat32);
  }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> fields = {
        {"power", &Params::power, Domain::kFinite},
        {"goal_velocity", &Params::goal_velocity, Domain::kFinite},
    };
    return fields;
  }

  void reset(const Params&, Rng& rng, double* s) const {
    s[0] = rng.uniform(-0.6, -0.4);
    s[1] = 0.0;
  }

  StepResult step(const Params& p, double* s, const double* action, Rng&, double*) const {
    using classic::is_float32;
    // The action reaches Gymnasium as a float32 array (the action space dtype).
    const float a = static_cast<float>(action[0]);
    const bool f32 = is_float32(s[0]) && is_float32(s[1]);
    // A value is "f32" while it is a NumPy float32 scalar; assigning a Python
    // constant (clipping) turns it into a float64 for the rest of the step.
    double position = s[0], velocity = s[1];
    bool pos_f32 = f32, vel_f32 = f32;

    const double cos3p = f32 ? std::cos(static_cast<double>(3.0f * static_cast<float>(position)))
                             : std::cos(3 * position);
    const double c = 0.0025 * cos3p;
    if (a < kMinAction || a > kMaxAction) {
      // min(max(a, -1.0), 1.0) returned the Python float bound.
      const double delta = (a < kMinAction ? kMinAction : kMaxAction) * p.power - c;
      velocity = f32 ? static_cast<float>(static_cast<float>(velocity) + static_cast<float>(delta))
                     : velocity + delta;
    } else {
      const float delta = a * static_cast<float>(p.power) - static_cast<float>(c);
      velocity = f32 ? static_cast<float>(static_cast<float>(velocity) + delta)
                     : velocity + static_cast<double>(delta);
    }
    if (greater(velocity, vel_f32, kMaxSpeed)) {
      velocity = kMaxSpeed;
      vel_f32 = false;
    }
    if (less(velocity, vel_f32, -kMaxSpeed)) {
      velocity = -kMaxSpeed;
      vel_f32 = false;
    }
    // position is float32 throughout when the state is, whatever velocity is.
    position = f32 ? static_cast<float>(static_cast<float>(position) + static_cast<float>(velocity))
                   : position + velocity;
    if (greater(position, pos_f32, kMaxPosition)) {
      position = kMaxPosition;
      pos_f32 = false;
    }
    if (less(position, pos_f32, kMinPosition)) {
      position = kMinPosition;
      pos_f32 = false;
    }
    if (equal(position, pos_f32, kMinPosition) && velocity < 0) velocity = 0;
    const bool terminated = greater_equal(position, pos_f32, kGoalPosition) &&
                            greater_equal(velocity, vel_f32, p.goal_velocity);
    s[0] = static_cast<float>(position);
    s[1] = static_cast<float>(velocity);
    const double reward =
        (terminated ? 100.0 : 0.0) - classic::py_pow(static_cast<double>(a), 2) * 0.1;
    return {reward, terminated};
  }

  void observe(const Params&, const double* s, float* obs) const {
    obs[0] = static_cast<float>(s[0]);
    obs[1] = static_cast<float>(s[1]);
  }
  void check_state(const double*, std::int64_t) const {}

 private:
  // NumPy compares a float32 scalar with a Python float in float32.
  static bool greater(double x, bool x_f32, double c) {
    return x_f32 ? static_cast<float>(x) > static_cast<float>(c) : x > c;
  }
  static bool less(double x, bool x_f32, double c) {
    return x_f32 ? static_cast<float>(x) < static_cast<float>(c) : x < c;
  }
  static bool equal(double x, bool x_f32, double c) {
    return x_f32 ? static_cast<float>(x) == static_cast<float>(c) : x == c;
  }
  static bool greater_equal(double x, bool x_f32, double c) {
    return x_f32 ? static_cast<float>(x) >= static_cast<float>(c) : x >= c;
  }
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_MOUNTAIN_CAR_CONTINUOUS_HPP_
