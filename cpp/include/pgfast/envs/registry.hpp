// Factories for every built-in environment, so that the bindings never
// instantiate VecEnv<Model> (and never compile the models) themselves.
#ifndef PGFAST_ENVS_REGISTRY_HPP_
#define PGFAST_ENVS_REGISTRY_HPP_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pgfast/envs/env.hpp"
#include "pgfast/envs/lqr.hpp"
#include "pgfast/envs/tabular_mdp.hpp"

namespace pgfast {

// Ids of the physics environments ported from Gymnasium's classic control.
std::vector<std::string> classic_env_ids();

// Throws std::invalid_argument listing the known ids for an unknown one.
std::unique_ptr<VecEnvBase> make_classic_env(const std::string& id, std::int64_t num_envs,
                                             std::uint64_t seed, int num_threads);
std::unique_ptr<VecEnvBase> make_tabular_env(TabularMdp mdp, std::int64_t num_envs,
                                             std::uint64_t seed, int num_threads);
std::unique_ptr<VecEnvBase> make_bandit_env(std::vector<double> means, std::vector<double> stds,
                                            std::int64_t num_envs, std::uint64_t seed,
                                            int num_threads);
std::unique_ptr<VecEnvBase> make_continuous_bandit_env(std::vector<double> a_star, double noise_std,
                                                       std::vector<double> low,
                                                       std::vector<double> high,
                                                       std::int64_t num_envs, std::uint64_t seed,
                                                       int num_threads);
std::unique_ptr<VecEnvBase> make_lqr_env(LqrConfig config, std::int64_t num_envs,
                                         std::uint64_t seed, int num_threads);

// Gymnasium's toy-text tables, built by pgfast (Gymnasium is not needed).
// map_name "4x4" or "8x8".
TabularMdp frozen_lake(const std::string& map_name, bool is_slippery,
                       std::int64_t max_episode_steps);
TabularMdp cliff_walking(std::int64_t max_episode_steps);

}  // namespace pgfast

#endif  // PGFAST_ENVS_REGISTRY_HPP_
