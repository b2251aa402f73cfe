// VecEnv<Model>: num_envs copies of one environment model behind VecEnvBase,
// with Gymnasium's TimeLimit and next-step autoreset semantics. Instantiated
// only in cpp/src/*.cpp, never in the bindings.
#ifndef PGFAST_ENVS_VEC_ENV_HPP_
#define PGFAST_ENVS_VEC_ENV_HPP_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pgfast/check.hpp"
#include "pgfast/collector.hpp"
#include "pgfast/envs/env.hpp"
#include "pgfast/rng.hpp"
#include "pgfast/thread_pool.hpp"
#include "pgfast/user_code.hpp"

namespace pgfast {

// Models may offer step_block(params, states, actions, n, reward, terminated)
// to step n consecutive envs at once (see CartPole).
template <class Model, class = void>
struct has_step_block : std::false_type {};
template <class Model>
struct has_step_block<Model, std::void_t<decltype(std::declval<const Model&>().step_block(
                                 std::declval<const typename Model::Params*>(),
                                 std::declval<double*>(), std::declval<const std::int64_t*>(),
                                 std::int64_t{}, std::declval<double*>(), std::declval<bool*>()))>>
    : std::true_type {};

// Models may offer step_observe(params, state, action, rng, scratch, obs):
// step() then observe() in one call (NativeModel: one callback instead of two).
template <class Model, class Action, class = void>
struct has_step_observe : std::false_type {};
template <class Model, class Action>
struct has_step_observe<Model, Action,
                        std::void_t<decltype(std::declval<const Model&>().step_observe(
                            std::declval<const typename Model::Params&>(), std::declval<double*>(),
                            std::declval<Action>(), std::declval<Rng&>(), std::declval<double*>(),
                            std::declval<typename Model::Obs*>()))>> : std::true_type {};

// Models that run a user's code (NativeModel) declare kUserCode: their
// calls may throw UserCodeError, which VecEnv completes with the env index.
template <class Model, class = void>
struct runs_user_code : std::false_type {};
template <class Model>
struct runs_user_code<Model, std::void_t<decltype(Model::kUserCode)>>
    : std::bool_constant<Model::kUserCode> {};

// Keeps every buffer (num_envs times a row width) far from overflow and
// from exhausting memory: 2**24 CartPoles already hold ~1 GiB of state.
inline constexpr std::int64_t kMaxEnvs = std::int64_t{1} << 24;

template <class Model>
class VecEnv final : public VecEnvBase {
 public:
  using Params = typename Model::Params;
  using Obs = typename Model::Obs;

  VecEnv(Model model, std::int64_t num_envs, std::uint64_t seed_value, int num_threads)
      : model_(std::move(model)), num_envs_(num_envs) {
    require(num_envs >= 1 && num_envs <= kMaxEnvs, "num_envs must be in [1, ", kMaxEnvs, "], got ",
            num_envs);
    require(num_threads >= 1 && num_threads <= ThreadPool::kMaxThreads,
            "num_threads must be in [1, ", ThreadPool::kMaxThreads, "], got ", num_threads);
    state_dim_ = model_.state_dim();
    obs_size_ = model_.observation_space().flat_size();
    action_dim_ = model_.action_space().flat_size();
    max_episode_steps_ = model_.max_episode_steps();
    const auto n = static_cast<std::size_t>(num_envs);
    params_.assign(n, Params{});
    rngs_.resize(n);
    state_.assign(n * static_cast<std::size_t>(state_dim_), 0.0);
    scratch_.assign(n * static_cast<std::size_t>(model_.scratch_dim()), 0.0);
    obs_scratch_.assign(n * static_cast<std::size_t>(obs_size_), Obs{});
    elapsed_.assign(n, 0);
    needs_reset_.assign(n, 0);
    if (num_threads > 1) pool_ = std::make_unique<ThreadPool>(num_threads);
    num_threads_ = num_threads;
    seed(seed_value);
    reset_range(0, num_envs_, nullptr, nullptr);
  }

  std::string id() const override { return model_.id(); }
  std::int64_t num_envs() const override { return num_envs_; }
  std::int64_t state_dim() const override { return state_dim_; }
  SpaceSpec observation_space() const override { return model_.observation_space(); }
  SpaceSpec action_space() const override { return model_.action_space(); }
  std::int64_t max_episode_steps() const override { return max_episode_steps_; }
  void set_max_episode_steps(std::int64_t steps) override {
    require(steps >= 0, "max_episode_steps must be >= 0 (0 for no limit), got ", steps);
    max_episode_steps_ = steps;
  }
  int num_threads() const override { return num_threads_; }
  const Model& model() const { return model_; }

  void seed(std::uint64_t seed) override {
    for (std::int64_t i = 0; i < num_envs_; ++i)
      rngs_[static_cast<std::size_t>(i)].reseed(seed, static_cast<std::uint64_t>(i));
  }
  void seed_each(const std::uint64_t* seeds, const bool* has_seed) override {
    for (std::int64_t i = 0; i < num_envs_; ++i)
      if (has_seed[i]) rngs_[static_cast<std::size_t>(i)].reseed(seeds[i], 0);
  }
  bool seed_episode(std::int64_t i, std::uint64_t seed, std::uint64_t stream) override {
    rngs_[static_cast<std::size_t>(i)].reseed(seed, stream);
    return true;
  }

  void reset(const bool* mask, void* obs) override {
    Obs* out = static_cast<Obs*>(obs);
    after_user_error_reset_all(
        [&] { parallel([&](std::int64_t b, std::int64_t e) { reset_range(b, e, mask, out); }); });
  }

  void step(const void* actions, void* obs, double* reward, bool* terminated,
            bool* truncated) override {
    check_actions(actions);
    Obs* out = static_cast<Obs*>(obs);
    after_user_error_reset_all([&] {
      parallel([&](std::int64_t b, std::int64_t e) {
        step_range_unchecked(b, e, actions, out, reward, terminated, truncated);
      });
    });
  }

  void get_state(double* out) const override { std::copy(state_.begin(), state_.end(), out); }
  void set_state(const double* states) override {
    for (std::int64_t i = 0; i < num_envs_; ++i) {
      const double* row = states + i * state_dim_;
      for (std::int64_t k = 0; k < state_dim_; ++k)
        require(std::isfinite(row[k]), "states[", i, ", ", k, "] must be finite, got ", row[k]);
      model_.check_state(row, i);
    }
    std::copy(states, states + num_envs_ * state_dim_, state_.begin());
    std::fill(needs_reset_.begin(), needs_reset_.end(), 0);
  }
  void get_observation(void* obs, const bool* skip) const override {
    Obs* out = static_cast<Obs*>(obs);
    for (std::int64_t i = 0; i < num_envs_; ++i)
      if (!skip || !skip[i])
        at_env(i, [&] {
          model_.observe(params_[static_cast<std::size_t>(i)], state_row(i), out + i * obs_size_);
        });
  }
  std::vector<std::int64_t> elapsed_steps() const override { return elapsed_; }

  std::int64_t obs_size() const override { return obs_size_; }
  void env_reset(std::int64_t i, double* obs) final {
    reset_one(i);
    observe_double(i, obs);
  }
  StepResult env_step(std::int64_t i, std::int64_t action, const double* continuous,
                      double* obs) final {
    const auto k = static_cast<std::size_t>(i);
    StepResult r;
    if constexpr (Model::kDiscreteAction) {
      (void)continuous;
      r = model_.step(params_[k], state_row(i), action, rngs_[k], scratch_row(i));
    } else {
      (void)action;
      r = model_.step(params_[k], state_row(i), continuous, rngs_[k], scratch_row(i));
    }
    observe_double(i, obs);
    return r;
  }
  void require_reset_all() override { std::fill(needs_reset_.begin(), needs_reset_.end(), 1); }

  // The collector's episode loop compiled for this model: env i stepped
  // inline, with no virtual call per step. Envs whose state and observation
  // exceed the stepper's registers' worth go through the generic loop.
  void collect(std::int64_t i, const EpisodeJob& job, EnvBuffer& buffer, Rng& rng) override {
    if (state_dim_ > Stepper::kMaxLocal || obs_size_ > Stepper::kMaxLocal) {
      VecEnvBase::collect(i, job, buffer, rng);
      return;
    }
    Stepper stepper(*this, i);
    collect_episode(stepper, job, buffer, rng);
  }

  std::vector<std::string> param_names() const override {
    std::vector<std::string> names;
    for (const auto& f : Model::param_fields()) names.emplace_back(f.name);
    return names;
  }
  std::vector<double> get_param(const std::string& name) const override {
    const auto& field = find_field(name);
    std::vector<double> values;
    values.reserve(params_.size());
    for (const auto& p : params_) values.push_back(p.*(field.member));
    return values;
  }
  void set_param(const std::string& name, const double* values) override {
    const auto& field = find_field(name);
    for (std::int64_t i = 0; i < num_envs_; ++i) check_domain(field, i, values[i]);
    for (std::int64_t i = 0; i < num_envs_; ++i)
      params_[static_cast<std::size_t>(i)].*(field.member) = values[i];
  }

 private:
  // Env i for one episode, with its state, parameters and stream copied in:
  // the compiler keeps them in registers instead of storing and reloading
  // them around every step's other stores (a step is one long dependency
  // chain, so each round trip through memory adds to it). They are written
  // back when the episode ends, or is abandoned by an exception.
  class Stepper {
   public:
    static constexpr bool kDiscreteAction = Model::kDiscreteAction;
    static constexpr std::int64_t kMaxLocal = 8;

    // The stream and state are loaded here, not only in reset(): if reset()
    // throws, the destructor writes back what the env had.
    Stepper(VecEnv& env, std::int64_t i)
        : env_(env),
          i_(i),
          params_(env.params_[static_cast<std::size_t>(i)]),
          rng_(env.rngs_[static_cast<std::size_t>(i)]) {
      const double* row = env.state_row(i);
      std::copy(row, row + env.state_dim_, state_);
    }
    Stepper(const Stepper&) = delete;
    Stepper& operator=(const Stepper&) = delete;
    ~Stepper() {
      std::copy(state_, state_ + env_.state_dim_, env_.state_row(i_));
      env_.rngs_[static_cast<std::size_t>(i_)] = rng_;
    }

    void reset(double* obs) {
      env_.reset_one(i_);
      const double* row = env_.state_row(i_);
      std::copy(row, row + env_.state_dim_, state_);
      rng_ = env_.rngs_[static_cast<std::size_t>(i_)];
      observe(obs);
    }
    StepResult step(std::int64_t action, const double* continuous, double* obs) {
      if constexpr (Model::kDiscreteAction) {
        (void)continuous;
        return step_with(action, obs);
      } else {
        (void)action;
        return step_with(continuous, obs);
      }
    }

   private:
    template <class Action>
    StepResult step_with(Action action, double* obs) {
      if constexpr (has_step_observe<Model, Action>::value) {
        Obs typed[kMaxLocal] = {};
        const StepResult r =
            env_.model_.step_observe(params_, state_, action, rng_, env_.scratch_row(i_), typed);
        for (std::int64_t k = 0; k < env_.obs_size_; ++k) obs[k] = static_cast<double>(typed[k]);
        return r;
      } else {
        const StepResult r = env_.model_.step(params_, state_, action, rng_, env_.scratch_row(i_));
        observe(obs);
        return r;
      }
    }

    void observe(double* obs) {
      Obs typed[kMaxLocal] = {};
      env_.model_.observe(params_, state_, typed);
      for (std::int64_t k = 0; k < env_.obs_size_; ++k) obs[k] = static_cast<double>(typed[k]);
    }

    VecEnv& env_;
    std::int64_t i_;
    Params params_;
    Rng rng_;
    double state_[kMaxLocal] = {};
  };

  double* state_row(std::int64_t i) { return state_.data() + i * state_dim_; }
  const double* state_row(std::int64_t i) const { return state_.data() + i * state_dim_; }
  double* scratch_row(std::int64_t i) { return scratch_.data() + i * model_.scratch_dim(); }

  void observe_double(std::int64_t i, double* obs) {
    // Small observations go through a local array the compiler can keep in
    // registers: a round trip through memory lengthens every step's chain.
    constexpr std::int64_t kLocal = 8;
    if (obs_size_ <= kLocal) {
      Obs typed[kLocal] = {};
      model_.observe(params_[static_cast<std::size_t>(i)], state_row(i), typed);
      for (std::int64_t k = 0; k < obs_size_; ++k) obs[k] = static_cast<double>(typed[k]);
      return;
    }
    Obs* typed = obs_scratch_.data() + i * obs_size_;
    model_.observe(params_[static_cast<std::size_t>(i)], state_row(i), typed);
    for (std::int64_t k = 0; k < obs_size_; ++k) obs[k] = static_cast<double>(typed[k]);
  }

  // A user's code failing mid-batch leaves some envs stepped and the caller
  // with none of their results: every env then starts a new episode on the
  // next step() (documented: after a UserCodeError, reset()).
  template <class F>
  void after_user_error_reset_all(F&& f) {
    if constexpr (runs_user_code<Model>::value) {
      try {
        f();
      } catch (const UserCodeError&) {
        require_reset_all();
        throw;
      }
    } else {
      f();
    }
  }

  // Runs f for env i; a user callback's error learns which env it was.
  template <class F>
  static void at_env(std::int64_t i, F&& f) {
    if constexpr (runs_user_code<Model>::value) {
      try {
        f();
      } catch (UserCodeError& e) {
        if (e.env_index < 0) e.env_index = i;
        throw;
      }
    } else {
      (void)i;
      f();
    }
  }

  // Threads only pay off once each gets enough envs to amortise the wake-up.
  template <class F>
  void parallel(F&& fn) {
    const std::int64_t chunks = pool_ ? num_envs_ / Model::kParallelGrain : 1;
    if (chunks < 2) {
      fn(0, num_envs_);
      return;
    }
    const int k = static_cast<int>(std::min<std::int64_t>(chunks, num_threads_));
    if constexpr (runs_user_code<Model>::value) {
      // An exception must not leave a worker thread (it would end the
      // process): the lowest range's is rethrown here, so that which error
      // is reported does not depend on timing.
      std::mutex mutex;
      std::exception_ptr error;
      std::int64_t error_begin = num_envs_;
      auto guarded = [&](std::int64_t b, std::int64_t e) {
        try {
          fn(b, e);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex);
          if (b < error_begin) {
            error_begin = b;
            error = std::current_exception();
          }
        }
      };
      pool_->parallel_for(num_envs_, k, guarded);
      if (error) std::rethrow_exception(error);
    } else {
      pool_->parallel_for(num_envs_, k, fn);
    }
  }

  void check_actions(const void* actions) const {
    if constexpr (Model::kDiscreteAction) {
      const auto* a = static_cast<const std::int64_t*>(actions);
      const std::int64_t n = model_.action_space().n;
      for (std::int64_t i = 0; i < num_envs_; ++i)
        require(a[i] >= 0 && a[i] < n, "actions[", i, "] must be in [0, ", n, "), got ", a[i]);
    } else {
      const auto* a = static_cast<const double*>(actions);
      // Gymnasium would clip an infinite torque, but an infinite action is
      // always a bug upstream (and turns LQR states into NaN).
      for (std::int64_t i = 0; i < num_envs_ * action_dim_; ++i)
        require(std::isfinite(a[i]), "actions[", i / action_dim_, ", ", i % action_dim_,
                "] must be finite, got ", a[i]);
    }
  }

  void reset_one(std::int64_t i) {
    const auto k = static_cast<std::size_t>(i);
    if constexpr (runs_user_code<Model>::value) {
      try {
        model_.reset(params_[k], rngs_[k], state_row(i));
      } catch (...) {
        // A user's reset failed: the env holds no episode and resets again
        // before its next step.
        std::fill(state_row(i), state_row(i) + state_dim_, 0.0);
        needs_reset_[k] = 1;
        throw;
      }
    } else {
      model_.reset(params_[k], rngs_[k], state_row(i));
    }
    elapsed_[k] = 0;
    needs_reset_[k] = 0;
  }

  void reset_range(std::int64_t begin, std::int64_t end, const bool* mask, Obs* obs) {
    for (std::int64_t i = begin; i < end; ++i) {
      if (mask && !mask[i]) continue;
      at_env(i, [&] {
        reset_one(i);
        if (obs)
          model_.observe(params_[static_cast<std::size_t>(i)], state_row(i), obs + i * obs_size_);
      });
    }
  }

  void step_range_unchecked(std::int64_t begin, std::int64_t end, const void* actions, Obs* obs,
                            double* reward, bool* terminated, bool* truncated) {
    if constexpr (has_step_block<Model>::value) {
      // Steps every env of the range, including those about to be reset:
      // their results are overwritten below.
      model_.step_block(params_.data() + begin, state_row(begin),
                        static_cast<const std::int64_t*>(actions) + begin, end - begin,
                        reward + begin, terminated + begin);
    }
    for (std::int64_t i = begin; i < end; ++i) {
      const auto k = static_cast<std::size_t>(i);
      if (needs_reset_[k]) {
        // Next-step autoreset: the action is ignored and the first
        // observation of the new episode is returned with reward 0.
        at_env(i, [&] { reset_one(i); });
        reward[i] = 0.0;
        terminated[i] = false;
        truncated[i] = false;
      } else {
        if constexpr (!has_step_block<Model>::value) {
          StepResult r;
          at_env(i, [&] {
            if constexpr (Model::kDiscreteAction) {
              r = model_.step(params_[k], state_row(i),
                              static_cast<const std::int64_t*>(actions)[i], rngs_[k],
                              scratch_row(i));
            } else {
              r = model_.step(params_[k], state_row(i),
                              static_cast<const double*>(actions) + i * action_dim_, rngs_[k],
                              scratch_row(i));
            }
          });
          reward[i] = r.reward;
          terminated[i] = r.terminated;
        }
        ++elapsed_[k];
        const bool trunc = max_episode_steps_ > 0 && elapsed_[k] >= max_episode_steps_;
        truncated[i] = trunc;
        needs_reset_[k] = terminated[i] || trunc;
      }
    }
    // A separate pass: for CartPole-like observations it vectorises.
    for (std::int64_t i = begin; i < end; ++i)
      at_env(i, [&] {
        model_.observe(params_[static_cast<std::size_t>(i)], state_row(i), obs + i * obs_size_);
      });
  }

  static const ParamField<Params>& find_field(const std::string& name) {
    std::string known;
    for (const auto& f : Model::param_fields()) {
      if (name == f.name) return f;
      known += known.empty() ? "" : ", ";
      known += f.name;
    }
    throw std::invalid_argument(concat(
        "unknown parameter '", name, "'; this environment has: ", known.empty() ? "none" : known));
  }

  static void check_domain(const ParamField<Params>& f, std::int64_t i, double v) {
    require(std::isfinite(v), f.name, "[", i, "] must be finite, got ", v);
    if (f.domain == Domain::kPositive) require(v > 0, f.name, "[", i, "] must be > 0, got ", v);
    if (f.domain == Domain::kNonNegative)
      require(v >= 0, f.name, "[", i, "] must be >= 0, got ", v);
  }

  Model model_;
  std::int64_t num_envs_;
  std::int64_t state_dim_ = 0, obs_size_ = 0, action_dim_ = 0;
  std::int64_t max_episode_steps_ = 0;
  int num_threads_ = 1;
  std::vector<Params> params_;
  std::vector<Rng> rngs_;
  std::vector<double> state_;
  std::vector<double> scratch_;
  std::vector<Obs> obs_scratch_;  // per env, for the float64 view the engine reads
  std::vector<std::int64_t> elapsed_;
  std::vector<std::uint8_t> needs_reset_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_VEC_ENV_HPP_
