// The NativeEnv model: VecEnv<NativeModel<...>> around a user's compiled
// reset/step/observe (native_env.hpp). The only translation unit that
// compiles it; one instantiation per observation dtype and action kind.
#include "pgfast/envs/native_env.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pgfast/check.hpp"
#include "pgfast/envs/vec_env.hpp"
#include "pgfast/rng.hpp"
#include "pgfast/user_code.hpp"

namespace pgfast {

namespace {

// States beyond this many values belong in a table, not in a per-env row.
constexpr std::int64_t kMaxNativeStateDim = 1 << 16;

template <class ObsT, bool kDiscrete>
class NativeModel {
 public:
  struct Params {};
  using Obs = ObsT;
  static constexpr bool kDiscreteAction = kDiscrete;
  static constexpr bool kUserCode = true;  // may throw UserCodeError (vec_env.hpp)
  // A user's step costs at least tens of nanoseconds: a thread pays off
  // from about a thousand envs.
  static constexpr std::int64_t kParallelGrain = 1024;

  explicit NativeModel(NativeEnvConfig config)
      : config_(std::make_shared<const NativeEnvConfig>(std::move(config))),
        reset_fn_(config_->reset),
        step_fn_(config_->step),
        observe_fn_(config_->observe),
        step_observe_fn_(config_->step_observe),
        state_dim_(config_->state_dim),
        obs_dim_(config_->observation_space.flat_size()),
        action_dim_(config_->action_space.flat_size()),
        n_obs_(config_->observation_space.n),
        float32_actions_(!config_->action_space.discrete &&
                         config_->action_space.dtype == Dtype::kFloat32),
        reset_uniforms_(config_->reset_uniforms),
        step_uniforms_(config_->step_uniforms) {}

  std::string id() const { return config_->id; }
  std::int64_t state_dim() const { return state_dim_; }
  // The state before the current step (to restore it and report the inputs
  // when the step fails), then a copy of a continuous action: the user's code
  // gets its own, never a view of the caller's array.
  std::int64_t scratch_dim() const { return state_dim_ + (kDiscrete ? 0 : action_dim_); }
  std::int64_t max_episode_steps() const { return config_->max_episode_steps; }
  SpaceSpec observation_space() const { return config_->observation_space; }
  SpaceSpec action_space() const { return config_->action_space; }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> none;
    return none;
  }

  void reset(const Params&, Rng& rng, double* s) const {
    double u[kMaxNativeUniforms];
    draw(rng, u, reset_uniforms_);
    std::fill(s, s + state_dim_, 0.0);
    const std::int32_t status = reset_fn_(s, u);
    if (status != kUserOk) {
      std::fill(s, s + state_dim_, 0.0);  // the inputs reset was given
      fail_status("reset", status, s, nullptr, u, reset_uniforms_);
    }
    if (!all_finite(s, state_dim_, 0.0)) {
      const std::int64_t bad = first_non_finite(s, state_dim_);
      auto e = error("reset", UserCodeError::Kind::kNonFiniteState, bad, s[bad]);
      std::fill(s, s + state_dim_, 0.0);  // no NaN left behind; VecEnv marks it for reset
      e.state.assign(static_cast<std::size_t>(state_dim_), 0.0);
      e.uniforms.assign(u, u + reset_uniforms_);
      throw e;
    }
  }

  template <class Action>
  StepResult step(const Params& p, double* s, Action action, Rng& rng, double* before) const {
    return step_impl(p, s, action, rng, before, static_cast<Obs*>(nullptr));
  }

  // step() then observe() through one callback (VecEnv's Stepper uses it in
  // the training loop, where each indirect call costs a measurable share).
  template <class Action>
  StepResult step_observe(const Params& p, double* s, Action action, Rng& rng, double* before,
                          Obs* obs) const {
    return step_impl(p, s, action, rng, before, obs);
  }

  void observe(const Params&, const double* s, Obs* obs) const {
    const std::int32_t status = observe_fn_(s, obs);
    if (status != kUserOk) fail_status("observe", status, s, nullptr, nullptr, 0);
    check_observation(s, obs);
  }

  void check_observation(const double* s, const Obs* obs) const {
    bool ok;
    if constexpr (std::is_integral_v<Obs>) {
      ok = true;
      for (std::int64_t k = 0; k < obs_dim_; ++k) ok &= obs[k] >= 0 && obs[k] < n_obs_;
    } else {
      ok = all_finite(obs, obs_dim_, Obs{0});
    }
    if (!ok) fail_observe(s, obs);
  }

  void check_state(const double*, std::int64_t) const {}

 private:
  template <class Action>
  StepResult step_impl(const Params&, double* s, Action action, Rng& rng, double* before,
                       Obs* obs) const {
    double u[kMaxNativeUniforms];
    draw(rng, u, step_uniforms_);
    std::copy(s, s + state_dim_, before);
    double index;
    const double* a;
    if constexpr (kDiscrete) {
      index = static_cast<double>(action);
      a = &index;
    } else {
      double* copy = before + state_dim_;
      std::copy(action, action + action_dim_, copy);
      // A float32 action space gets float32 values, as Gymnasium would pass
      // (and as the built-in envs round them), then handed over as float64.
      if (float32_actions_)
        for (std::int64_t d = 0; d < action_dim_; ++d)
          copy[d] = static_cast<double>(static_cast<float>(copy[d]));
      a = copy;
    }
    double result[2] = {0.0, 0.0};
    const std::int32_t status =
        obs ? step_observe_fn_(s, a, u, result, obs) : step_fn_(s, a, u, result);
    // The step's own failure first: observe ran on its result.
    const std::int32_t step_status = status == kObserveRaised ? kUserOk : status;
    if (step_status != kUserOk || !all_finite(s, state_dim_, result[0]))
      fail_step(step_status, s, before, a, u, result[0]);
    if (status == kObserveRaised) fail_status("observe", kUserRaised, s, nullptr, nullptr, 0);
    if (obs) check_observation(s, obs);
    return {result[0], result[1] != 0.0};
  }

  static void draw(Rng& rng, double* u, std::int64_t n) {
    for (std::int64_t k = 0; k < n; ++k) u[k] = rng.uniform();
  }

  // The failed step's error, with the env restored to its state before the step.
  [[noreturn]] void fail_step(std::int32_t status, double* s, const double* before, const double* a,
                              const double* u, double reward) const {
    if (status != kUserOk) {
      std::copy(before, before + state_dim_, s);
      fail_status("step", status, before, a, u, step_uniforms_);
    }
    const bool state_ok = all_finite(s, state_dim_, 0.0);
    const std::int64_t bad = state_ok ? -1 : first_non_finite(s, state_dim_);
    auto e = state_ok ? error("step", UserCodeError::Kind::kNonFiniteReward, -1, reward)
                      : error("step", UserCodeError::Kind::kNonFiniteState, bad, s[bad]);
    std::copy(before, before + state_dim_, s);
    fill_inputs(e, before, a, u, step_uniforms_);
    throw e;
  }

  [[noreturn]] void fail_observe(const double* s, const Obs* obs) const {
    std::int64_t k = 0;
    if constexpr (std::is_integral_v<Obs>) {
      while (k + 1 < obs_dim_ && obs[k] >= 0 && obs[k] < n_obs_) ++k;
    } else {
      k = first_non_finite(obs, obs_dim_);
    }
    auto e = error("observe", UserCodeError::Kind::kBadOutput, k, static_cast<double>(obs[k]));
    fill_inputs(e, s, nullptr, nullptr, 0);
    throw e;
  }

  UserCodeError error(const char* function, UserCodeError::Kind kind, std::int64_t index,
                      double value) const {
    return UserCodeError(config_->token, function, kind, index, value);
  }

  void fill_inputs(UserCodeError& e, const double* state, const double* action, const double* u,
                   std::int64_t n_uniforms) const {
    e.state.assign(state, state + state_dim_);
    if (action) e.action.assign(action, action + (kDiscrete ? 1 : action_dim_));
    if (u) e.uniforms.assign(u, u + n_uniforms);
  }

  [[noreturn]] void fail_status(const char* function, std::int32_t status, const double* state,
                                const double* action, const double* u,
                                std::int64_t n_uniforms) const {
    auto e = status == kUserRaised ? error(function, UserCodeError::Kind::kRaised, -1, 0.0)
                                   : error(function, UserCodeError::Kind::kBadStatus, -1,
                                           static_cast<double>(status));
    fill_inputs(e, state, action, u, n_uniforms);
    throw e;
  }

  std::shared_ptr<const NativeEnvConfig> config_;
  NativeResetFn reset_fn_;
  NativeStepFn step_fn_;
  NativeObserveFn observe_fn_;
  NativeStepObserveFn step_observe_fn_;
  std::int64_t state_dim_, obs_dim_, action_dim_, n_obs_;
  bool float32_actions_;
  std::int64_t reset_uniforms_, step_uniforms_;
};

template <class Obs>
std::unique_ptr<VecEnvBase> make_for_obs(const NativeEnvConfig& c, std::int64_t num_envs,
                                         std::uint64_t seed, int num_threads) {
  if (c.action_space.discrete)
    return std::make_unique<VecEnv<NativeModel<Obs, true>>>(NativeModel<Obs, true>(c), num_envs,
                                                            seed, num_threads);
  return std::make_unique<VecEnv<NativeModel<Obs, false>>>(NativeModel<Obs, false>(c), num_envs,
                                                           seed, num_threads);
}

void check_config(const NativeEnvConfig& c) {
  require(!c.id.empty(), "a NativeEnv needs an id");
  require(c.state_dim >= 1 && c.state_dim <= kMaxNativeStateDim, "state_dim must be in [1, ",
          kMaxNativeStateDim, "], got ", c.state_dim);
  require(
      c.reset != nullptr && c.step != nullptr && c.observe != nullptr && c.step_observe != nullptr,
      "a NativeEnv needs reset, step, observe and step_observe callbacks");
  require(c.reset_uniforms >= 0 && c.reset_uniforms <= kMaxNativeUniforms,
          "reset_uniforms must be in [0, ", kMaxNativeUniforms, "], got ", c.reset_uniforms);
  require(c.step_uniforms >= 0 && c.step_uniforms <= kMaxNativeUniforms,
          "step_uniforms must be in [0, ", kMaxNativeUniforms, "], got ", c.step_uniforms);
  require(c.max_episode_steps >= 0, "max_episode_steps must be >= 0 (0 for no limit), got ",
          c.max_episode_steps);
  const SpaceSpec& o = c.observation_space;
  require(o.discrete ? o.n >= 1 : o.shape.size() == 1 && o.shape[0] >= 1,
          "observation_space must be Discrete or a one-dimensional Box");
  require(o.discrete || o.dtype != Dtype::kInt64,
          "a Box observation space must be float32 or "
          "float64");
  const SpaceSpec& a = c.action_space;
  require(a.discrete ? a.n >= 1 : a.shape.size() == 1 && a.shape[0] >= 1,
          "action_space must be Discrete or a one-dimensional Box");
}

}  // namespace

std::unique_ptr<VecEnvBase> make_native_env(const NativeEnvConfig& config, std::int64_t num_envs,
                                            std::uint64_t seed, int num_threads) {
  check_config(config);
  switch (config.observation_space.dtype) {
    case Dtype::kFloat32:
      return make_for_obs<float>(config, num_envs, seed, num_threads);
    case Dtype::kFloat64:
      return make_for_obs<double>(config, num_envs, seed, num_threads);
    case Dtype::kInt64:
      return make_for_obs<std::int64_t>(config, num_envs, seed, num_threads);
  }
  throw std::logic_error("unknown observation dtype");
}

}  // namespace pgfast
