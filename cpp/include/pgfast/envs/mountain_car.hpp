// https://github.com/Farama-Foundation/Gymnasium/blob/main/gymnasium/envs/classic_control/mountain_car.py
//
// MountainCar-v0: accelerate left (0), not at all (1) or right (2) to drive
// an underpowered car up the right hill. Observation (float32): position in
// [-1.2, 0.6], velocity in [-0.07, 0.07]. Reward -1 per step. Terminates at
// position >= 0.5 with velocity >= goal_velocity; truncated after 200 steps.
// Initial position uniform in [-0.6, -0.4), velocity 0.
#ifndef PGFAST_ENVS_MOUNTAIN_CAR_HPP_
#define PGFAST_ENVS_MOUNTAIN_CAR_HPP_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/envs/classic_common.hpp"
#include "pgfast/envs/env.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

struct MountainCarParams {
  double force = 0.001;
  double gravity = 0.0025;
  double goal_velocity = 0.0;
};

class MountainCar {
 public:
  using Params = MountainCarParams;
  using Obs = float;
  static constexpr bool kDiscreteAction = true;
  static constexpr std::int64_t kParallelGrain = 2048;
  static constexpr double kMinPosition = -1.2;
  static constexpr double kMaxPosition = 0.6;
  static constexpr double kMaxSpeed = 0.07;
  static constexpr double kGoalPosition = 0.5;

  std::string id() const { return "MountainCar-v0"; }
  std::int64_t state_dim() const { return 2; }
  std::int64_t scratch_dim() const { return 0; }
  std::int64_t max_episode_steps() const { return 200; }
  SpaceSpec observation_space() const {
    return SpaceSpec::make_box({kMinPosition, -kMaxSpeed}, {kMaxPosition, kMaxSpeed},
                               Dtype::kFloat32);
  }
  SpaceSpec action_space() const { return SpaceSpec::make_discrete(3); }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> fields = {
        {"force", &Params::force, Domain::kFinite},
        {"gravity", &Params::gravity, Domain::kFinite},
        {"goal_velocity", &Params::goal_velocity, Domain::kFinite},
    };
    return fields;
  }

  void reset(const Params&, Rng& rng, double* s) const {
    s[0] = rng.uniform(-0.6, -0.4);
    s[1] = 0.0;
  }

  StepResult step(const Params& p, double* s, std::int64_t action, Rng&, double*) const {
    double position = s[0], velocity = s[1];
    velocity += static_cast<double>(action - 1) * p.force + std::cos(3 * position) * (-p.gravity);
    velocity = classic::clip(velocity, -kMaxSpeed, kMaxSpeed);
    position += velocity;
    position = classic::clip(position, kMinPosition, kMaxPosition);
    if (position == kMinPosition && velocity < 0) velocity = 0;
    s[0] = position;
    s[1] = velocity;
    return {-1.0, position >= kGoalPosition && velocity >= p.goal_velocity};
  }

  void observe(const Params&, const double* s, float* obs) const {
    obs[0] = static_cast<float>(s[0]);
    obs[1] = static_cast<float>(s[1]);
  }
  void check_state(const double*, std::int64_t) const {}
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_MOUNTAIN_CAR_HPP_
