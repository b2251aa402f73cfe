// Likelihood-ratio policy gradient (Williams 1992, REINFORCE) and its
// variance-reduced and natural-gradient relatives:
//
//   g_hat = (1/m) sum_i sum_t grad log pi(a_t^i | s_t^i) (Psi_t^i - b_t^i)
//
// Reinforce composes the pieces, one file each: the Collector runs the
// episodes (collector.hpp), the Estimator turns them into Psi, baselines,
// the gradient and the Fisher matrix (estimator.hpp, baselines.hpp,
// value_fit.hpp), and an Optimizer turns the gradient into a step
// (optimizers.hpp). One update reads: rollout -> estimate -> step.
#ifndef PGFAST_REINFORCE_HPP_
#define PGFAST_REINFORCE_HPP_

#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "pgfast/collector.hpp"
#include "pgfast/envs/env.hpp"
#include "pgfast/estimator.hpp"
#include "pgfast/optimizers.hpp"
#include "pgfast/policies/policy_model.hpp"
#include "pgfast/reduction.hpp"

namespace pgfast {

struct ReinforceConfig {
  double lr = 0.05;
  double gamma = 0.99;
  std::int64_t episodes_per_update = 32;
  // > 0: instead of episodes_per_update, each of the N envs runs whole
  // episodes until it has ceil(steps_per_update / N) steps.
  std::int64_t steps_per_update = 0;
  Returns returns = Returns::kRewardToGo;
  Baseline baseline = Baseline::kMean;
  double gae_lambda = 0.95;
  bool normalize_advantages = false;
  OptimizerKind optimizer = OptimizerKind::kAdam;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  FisherKind fisher = FisherKind::kSampled;
  double damping = 1e-4;  // added to the Fisher diagonal (absolute)
  double max_kl = 0.0;    // > 0: natural step alpha = sqrt(2 max_kl / g'F^-1 g)
  double value_ridge = 1e-6;
  bool bootstrap_truncated = true;  // see EstimatorConfig
  bool online = false;              // Williams' form: one update per episode
  std::uint64_t seed = 0;
  int num_threads = 1;

  void validate() const;  // throws std::invalid_argument naming the field
  EstimatorConfig estimator() const;
  OptimizerConfig optimizer_config() const;
};

struct IterationStats {
  double return_mean = 0, return_std = 0, return_min = 0, return_max = 0;
  double length_mean = 0;
  double episodes = 0;
  double env_steps = 0;
  double grad_norm = 0;
  double entropy = 0;           // mean over an evenly spaced sample of the batch's states
  double kl = 0;                // mean KL(old || new) over the same sample
  double fisher_condition = 0;  // natural gradient only, else NaN
};

// The statistics by name, in the order History shows them: the one list
// the bindings and the Python side read. Counts are integral.
struct StatField {
  const char* name;
  double IterationStats::* member;
  bool integral;
};
inline constexpr std::array<StatField, 11> kIterationStats{{
    {"return_mean", &IterationStats::return_mean, false},
    {"return_std", &IterationStats::return_std, false},
    {"return_min", &IterationStats::return_min, false},
    {"return_max", &IterationStats::return_max, false},
    {"length_mean", &IterationStats::length_mean, false},
    {"episodes", &IterationStats::episodes, true},
    {"env_steps", &IterationStats::env_steps, true},
    {"grad_norm", &IterationStats::grad_norm, false},
    {"entropy", &IterationStats::entropy, false},
    {"kl", &IterationStats::kl, false},
    {"fisher_condition", &IterationStats::fisher_condition, false},
}};

struct GradientEstimate {
  std::vector<double> mean;     // flat: theta row-major, then log_std (if learned)
  std::vector<double> stderr_;  // per coordinate, from per-episode contributions
  std::int64_t episodes = 0;
};

enum class EstimateKind { kUpdate, kGradient, kFisher };

// What a driver needs of a batch besides the estimate's sums: every
// episode's return and length (the statistics) and a fixed sample of its
// steps (the entropy and KL diagnostics). Shards append theirs in episode
// order.
struct BatchSummary {
  std::vector<double> returns;  // undiscounted
  std::vector<std::int64_t> lengths;
  // The sample's features and policy outputs, kDiagnosticStates rows at
  // most, chosen by episode index and length alone (so by no split).
  std::vector<double> sample_phi, sample_out;
  void clear() {
    returns.clear();
    lengths.clear();
    sample_phi.clear();
    sample_out.clear();
  }
};

// Thrown when the should_stop callback asked to stop (Ctrl-C); nothing was
// updated by the interrupted call.
struct InterruptedError : std::exception {
  const char* what() const noexcept override { return "interrupted"; }
};

// Euclidean norm, scaled so that huge finite entries do not overflow.
double scaled_norm(const std::vector<double>& g);

class Reinforce {
 public:
  // The env must outlive this object and not be used by anyone else during
  // calls.
  Reinforce(VecEnvBase& env, std::shared_ptr<const PolicyModel> policy, ReinforceConfig config);
  ~Reinforce();
  Reinforce(const Reinforce&) = delete;
  Reinforce& operator=(const Reinforce&) = delete;

  const ReinforceConfig& config() const { return cfg_; }
  std::int64_t n_params() const { return P_; }
  // Updates applied so far (an interrupted or rejected iterate() applies none).
  std::int64_t completed() const { return completed_; }
  // Polled from the calling thread at most every 20 ms; returning true
  // interrupts the call with InterruptedError.
  void set_should_stop(std::function<bool()> fn);

  // One update of theta (n_theta) and log_std (action_dim, Gaussian) in
  // place. Throws std::runtime_error, leaving the parameters as they were,
  // if the gradient or the new parameters are not finite.
  IterationStats iterate(double* theta, double* log_std);
  GradientEstimate gradient(const double* theta, const double* log_std, std::int64_t episodes);
  // The Fisher matrix the natural step would use, (n_params x n_params)
  // row-major, estimated from `episodes` episodes; no update.
  std::vector<double> fisher(const double* theta, const double* log_std, std::int64_t episodes);

  // ---- A distributed update (pgfast.distributed) splits these calls
  // between processes; iterate(), gradient() and fisher() make the same
  // calls in this one, so both give the same bits.
  //
  // Shard: collects episodes [first, first + count) of batch `batch`, a
  // batch of batch_episodes, with parameters theta/log_std (copied) and the
  // value weights the driver sent (null: this object's own), and starts
  // the estimate. Returns the rounds to run.
  const std::vector<Round>& shard_begin(const double* theta, const double* log_std,
                                        const double* value_weights, bool value_fitted,
                                        std::uint64_t batch, std::int64_t first, std::int64_t count,
                                        std::int64_t batch_episodes, EstimateKind kind);
  // This shard's tree nodes of round r, then (all rounds but kFinal) the
  // batch-wide sum of round r.
  const TreeNodes& shard_round(Round r);
  void shard_receive(Round r, const std::vector<double>& sum);
  // Appends this shard's episodes to a batch summary.
  void shard_summary(BatchSummary& out) const;
  // Driver: the number of the next batch (every collection has its own);
  // what the final round of an update, a gradient() or a fisher() sums.
  std::uint64_t take_batch() { return batches_++; }
  FinalParts parts(EstimateKind kind) const;
  // Applies an update from the final round's batch-wide sum: the step, the
  // statistics, the value fit. Throws, leaving everything as it was, as
  // iterate() does.
  IterationStats finish_update(double* theta, double* log_std, const std::vector<double>& sum,
                               const BatchSummary& summary);
  GradientEstimate finish_gradient(const std::vector<double>& sum, std::int64_t episodes);
  std::vector<double> finish_fisher(const std::vector<double>& sum, std::int64_t episodes) const;

  // The last batch, for the tests' slow twins and for studies.
  const Collector& collector() const { return collector_; }
  const Estimator& estimator() const { return estimator_; }

 private:
  IterationStats step(double* theta, double* log_std);
  // All the rounds of an estimate over this process's batch (collected by
  // shard_begin as the whole batch); returns the final round's sum.
  const std::vector<double>& run_rounds();
  void begin_shard(const double* theta, const double* log_std, const BatchSpec& spec,
                   std::int64_t batch_episodes, const FinalParts& parts);
  // The Fisher matrix (n_params^2) from the lower triangle of its sum over m episodes.
  void fisher_from(const double* lower, std::int64_t m, double* out) const;
  IterationStats step_online(double* theta, double* log_std);
  void online_episode(std::int64_t j, double* theta, double* log_std, IterationStats& stats,
                      double& entropy_sum, double& grad_sq);
  // Applies params + step to theta/log_std, or throws leaving them alone.
  void apply(double* theta, double* log_std);
  void batch_stats(const BatchSummary& summary, IterationStats& s) const;
  void sample_entropy_kl(const BatchSummary& summary, const PolicyParams& old,
                         const PolicyParams& next, double* entropy, double* kl);
  void flatten(const double* theta, const double* log_std, std::vector<double>& out) const;
  void unflatten(const std::vector<double>& p, double* theta, double* log_std) const;
  void require_finite_gradient() const;

  VecEnvBase& env_;
  std::shared_ptr<const PolicyModel> policy_;
  ReinforceConfig cfg_;
  Collector collector_;
  Estimator estimator_;
  std::unique_ptr<Optimizer> optimizer_;
  std::function<bool()> should_stop_;
  std::int64_t P_ = 0, n_theta_ = 0, D_ = 0;
  bool learn_std_ = false;
  std::vector<double> grad_, step_, before_, updated_, fisher_, scratch_;
  std::vector<double> old_log_std_;
  std::int64_t completed_ = 0;
  std::uint64_t batches_ = 0;
  // The shard's copy of the parameters it collected with, and its round.
  std::vector<double> shard_theta_, shard_log_std_;
  FinalParts shard_parts_;
  std::int64_t shard_batch_episodes_ = 0;
  TreeNodes shard_nodes_;
  std::vector<double> sum_;
  BatchSummary summary_;
  // Online form: running mean of past episodes' mean Psi (the baseline).
  double running_mean_ = 0.0;
  std::int64_t episodes_seen_ = 0;
};

}  // namespace pgfast

#endif  // PGFAST_REINFORCE_HPP_
