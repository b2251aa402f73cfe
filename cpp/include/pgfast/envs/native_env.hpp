// NativeEnv: an environment whose reset, step and observe are C callbacks
// (plain Python functions compiled by numba, see python/pgfast/native.py).
// The engine calls them through function pointers with the GIL released.
//
// Randomness reaches the callbacks only as uniforms in [0, 1) drawn from env
// i's pgfast stream (reset_uniforms per reset, step_uniforms per step), so a
// run is bitwise identical for any num_threads, as for built-in envs.
#ifndef PGFAST_ENVS_NATIVE_ENV_HPP_
#define PGFAST_ENVS_NATIVE_ENV_HPP_

#include <cstdint>
#include <memory>
#include <string>

#include "pgfast/envs/env.hpp"
#include "pgfast/spaces.hpp"

namespace pgfast {

// Each returns kUserOk or kUserRaised (user_code.hpp).
// state: state_dim values to fill (zeroed first); uniforms: reset_uniforms.
using NativeResetFn = std::int32_t (*)(double* state, const double* uniforms);
// Updates state in place; action: action_dim values (a Discrete action's
// index as action[0]); result[0] = reward, result[1] = 1 if terminated else 0.
using NativeStepFn = std::int32_t (*)(double* state, const double* action, const double* uniforms,
                                      double* result);
// obs: obs_dim values of the observation space's dtype (float32, float64, or
// int64 for a Discrete space).
using NativeObserveFn = std::int32_t (*)(const double* state, void* obs);
// step then observe in one call, for the training loop: one indirect call per
// step instead of two. Returns kUserOk, kUserRaised when step raised, or
// kObserveRaised when observe did.
using NativeStepObserveFn = std::int32_t (*)(double* state, const double* action,
                                             const double* uniforms, double* result, void* obs);
inline constexpr std::int32_t kObserveRaised = 2;

struct NativeEnvConfig {
  std::string id;
  std::int64_t state_dim = 0;
  SpaceSpec observation_space;
  SpaceSpec action_space;
  std::int64_t max_episode_steps = 0;  // 0: no time limit
  std::int64_t reset_uniforms = 0;
  std::int64_t step_uniforms = 0;
  NativeResetFn reset = nullptr;
  NativeStepFn step = nullptr;
  NativeObserveFn observe = nullptr;
  NativeStepObserveFn step_observe = nullptr;
  std::uint64_t token = 0;  // names the Python object in UserCodeError
};

// Uniforms one call may draw; more is surely a mistake (each is a stack slot).
inline constexpr std::int64_t kMaxNativeUniforms = 256;

// Validates the config (throws std::invalid_argument) and builds the envs.
std::unique_ptr<VecEnvBase> make_native_env(const NativeEnvConfig& config, std::int64_t num_envs,
                                            std::uint64_t seed, int num_threads);

}  // namespace pgfast

#endif  // PGFAST_ENVS_NATIVE_ENV_HPP_
