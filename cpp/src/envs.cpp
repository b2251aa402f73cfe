// The classic-control registry: the only translation unit that compiles the
// physics models into VecEnv instances.
#include <memory>
#include <string>
#include <vector>

#include "pgfast/check.hpp"
#include "pgfast/envs/acrobot.hpp"
#include "pgfast/envs/cartpole.hpp"
#include "pgfast/envs/mountain_car.hpp"
#include "pgfast/envs/mountain_car_continuous.hpp"
#include "pgfast/envs/pendulum.hpp"
#include "pgfast/envs/registry.hpp"
#include "pgfast/envs/vec_env.hpp"

namespace pgfast {

std::vector<std::string> classic_env_ids() {
  return {"CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1", "Acrobot-v1"};
}

std::unique_ptr<VecEnvBase> make_classic_env(const std::string& id, std::int64_t num_envs,
                                             std::uint64_t seed, int num_threads) {
  if (id == "CartPole-v1")
    return std::make_unique<VecEnv<CartPole>>(CartPole{}, num_envs, seed, num_threads);
  if (id == "MountainCar-v0")
    return std::make_unique<VecEnv<MountainCar>>(MountainCar{}, num_envs, seed, num_threads);
  if (id == "MountainCarContinuous-v0")
    return std::make_unique<VecEnv<MountainCarContinuous>>(MountainCarContinuous{}, num_envs, seed,
                                                           num_threads);
  if (id == "Pendulum-v1")
    return std::make_unique<VecEnv<Pendulum>>(Pendulum{}, num_envs, seed, num_threads);
  if (id == "Acrobot-v1")
    return std::make_unique<VecEnv<Acrobot>>(Acrobot{}, num_envs, seed, num_threads);
  std::string known;
  for (const auto& k : classic_env_ids()) known += (known.empty() ? "" : ", ") + k;
  throw std::invalid_argument(concat("unknown environment id '", id, "'; known ids: ", known));
}

}  // namespace pgfast
