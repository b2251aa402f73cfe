// The batched-environment contract shared by every pgfast environment.
//
// An environment *model* (CartPole, Pendulum, TabularMdpModel, ...) is a
// plain class that steps one environment in place:
//
//   using Params = ...;                  // per-env physical constants
//   using Obs = float | double | int64_t;
//   static constexpr bool kDiscreteAction;
//   static constexpr std::int64_t kParallelGrain;  // envs per thread worth waking it
//   std::string id() const;
//   std::int64_t state_dim() const, scratch_dim() const, max_episode_steps() const;
//   SpaceSpec observation_space() const, action_space() const;
//   static const std::vector<ParamField<Params>>& param_fields();
//   void reset(const Params&, Rng&, double* state) const;
//   StepResult step(const Params&, double* state, Action, Rng&, double* scratch) const;
//   void observe(const Params&, const double* state, Obs* obs) const;
//   void check_state(const double* state, int64_t row) const;  // throws, naming states[row, k]
//
// with Action = std::int64_t for discrete models and const double* (one row
// of action_dim values) for continuous ones. VecEnv<Model> (vec_env.hpp)
// turns a model into a vector of environments behind VecEnvBase.
#ifndef PGFAST_ENVS_ENV_HPP_
#define PGFAST_ENVS_ENV_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/spaces.hpp"

namespace pgfast {

class Rng;
struct EnvBuffer;
struct EpisodeJob;

struct StepResult {
  double reward;
  bool terminated;
  // Only envs that keep their own time limit (Gymnasium envs driven from
  // Python) set this; VecEnv applies max_episode_steps itself.
  bool truncated = false;
};

enum class Domain { kFinite, kPositive, kNonNegative };

// One documented constant of a model, settable per environment index.
template <class Params>
struct ParamField {
  const char* name;
  double Params::* member;
  Domain domain;
};

// Envs whose copies can only be stepped all together (a Gymnasium
// VectorEnv driven from Python: one call steps every env). The Collector
// runs their batches in lockstep (collector.cpp).
class LockstepEnv {
 public:
  virtual ~LockstepEnv() = default;
  // True when an env whose episode ended was reset within the same step call
  // (its row of obs is already the next episode's first observation);
  // false for next-step autoreset, where the next call ignores that env's
  // action and returns its first observation.
  virtual bool resets_in_step() const = 0;
  // Resets every env; obs: num_envs x obs_size float64.
  virtual void reset_all(double* obs) = 0;
  // Steps every env. actions: int64 (num_envs) for Discrete actions, float64
  // (num_envs x action_dim) otherwise. For envs whose episode ended,
  // final_obs holds its last observation.
  virtual void step_all(const void* actions, double* obs, double* reward, bool* terminated,
                        bool* truncated, double* final_obs) = 0;
};

// What the Python bindings see: a batch of num_envs environments with
// Gymnasium's next-step autoreset. Buffers are caller-allocated, row-major,
// with one row per environment.
class VecEnvBase {
 public:
  virtual ~VecEnvBase() = default;

  virtual std::string id() const = 0;
  virtual std::int64_t num_envs() const = 0;
  virtual std::int64_t state_dim() const = 0;
  virtual SpaceSpec observation_space() const = 0;
  virtual SpaceSpec action_space() const = 0;
  // 0 means no time limit.
  virtual std::int64_t max_episode_steps() const = 0;
  virtual void set_max_episode_steps(std::int64_t steps) = 0;
  virtual int num_threads() const = 0;

  // Env i draws from stream (seed, i).
  virtual void seed(std::uint64_t seed) = 0;
  // Env i draws from stream (seeds[i], 0), as a lone env seeded seeds[i]
  // would; only where has_seed[i] is true.
  virtual void seed_each(const std::uint64_t* seeds, const bool* has_seed) = 0;
  // Env i draws from stream (seed, stream) from now on; the collector calls
  // it before each episode of a batch, so that an episode's randomness
  // depends on its index in the batch and not on the env that runs it.
  // Returns false (and changes nothing) for envs whose randomness pgfast
  // does not own: Python-driven envs keep their continuing streams.
  virtual bool seed_episode(std::int64_t i, std::uint64_t seed, std::uint64_t stream) {
    (void)i, (void)seed, (void)stream;
    return false;
  }

  // Resets the envs where mask[i] (all when mask is null) and writes their
  // observations into obs (num_envs x obs_size, of observation dtype);
  // other rows are left untouched.
  virtual void reset(const bool* mask, void* obs) = 0;
  // actions: int64 (num_envs,) for discrete action spaces, float64
  // (num_envs, action_dim) otherwise. Throws std::invalid_argument before
  // touching any env when an action is invalid.
  virtual void step(const void* actions, void* obs, double* reward, bool* terminated,
                    bool* truncated) = 0;

  virtual void get_state(double* out) const = 0;
  // Validates every row first; on success replaces the states and cancels
  // pending autoresets (elapsed step counts are kept).
  virtual void set_state(const double* states) = 0;
  // Rows where skip[i] is true are left untouched (skip may be null).
  virtual void get_observation(void* obs, const bool* skip = nullptr) const = 0;
  virtual std::vector<std::int64_t> elapsed_steps() const = 0;

  // Single-env access for the training engine: no autoreset and no time
  // limit (the engine counts steps itself); observations as float64, after
  // rounding to the observation dtype. A discrete action is passed in
  // `action`, a continuous one in `continuous` (action_dim values). Callers
  // guarantee valid actions and may run different i concurrently.
  virtual std::int64_t obs_size() const = 0;
  virtual void env_reset(std::int64_t i, double* obs) = 0;
  virtual StepResult env_step(std::int64_t i, std::int64_t action, const double* continuous,
                              double* obs) = 0;
  // After the engine used the envs directly: every env starts a new episode
  // on the next step() (as after an episode end).
  virtual void require_reset_all() = 0;
  // One episode of env i for the collector (collector.hpp). VecEnv<Model>
  // overrides it with a loop compiled for its model; this default steps
  // through env_reset/env_step (two virtual calls per step).
  virtual void collect(std::int64_t i, const EpisodeJob& job, EnvBuffer& buffer, Rng& rng);
  // Non-null for envs stepped all together; collect() is then never called.
  virtual LockstepEnv* lockstep() { return nullptr; }

  virtual std::vector<std::string> param_names() const = 0;
  virtual std::vector<double> get_param(const std::string& name) const = 0;
  // values has num_envs entries; validated before anything changes.
  virtual void set_param(const std::string& name, const double* values) = 0;
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_ENV_HPP_
