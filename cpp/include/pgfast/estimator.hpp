// From a batch of episodes to the policy-gradient estimate
//
//   g_hat = (1/m) sum_j sum_t grad log pi(a_t^j | s_t^j) (Psi_t^j - b_t^j)
//
// Psi (returns.hpp), the baselines (baselines.hpp), the gradient with its
// standard errors, and the Fisher matrix of the natural step. Per-episode
// contributions are summed in fixed blocks of kBlockEpisodes episodes in
// episode order, then the blocks in block order, so the bits depend on
// neither the number of threads nor how the blocks are shared out.
#ifndef PGFAST_ESTIMATOR_HPP_
#define PGFAST_ESTIMATOR_HPP_

#include <cstdint>
#include <vector>

#include "pgfast/policies/policy_model.hpp"
#include "pgfast/types.hpp"
#include "pgfast/value_fit.hpp"

namespace pgfast {

class Collector;

// total: Psi_t = R(tau) = sum_k gamma^k r_k. reward_to_go: Psi_t = G_t =
// sum_{k>=t} gamma^(k-t) r_k (the common convention; biased for gamma < 1).
// discounted_reward_to_go: Psi_t = gamma^t G_t (unbiased for grad J).
// gae: Psi_t = GAE(lambda) advantage with the fitted linear value.
enum class Returns { kTotal, kRewardToGo, kDiscountedRewardToGo, kGae };
enum class Baseline { kNone, kMean, kTime, kValue, kOptimal };
enum class FisherKind { kSampled, kExact };

inline constexpr std::int64_t kBlockEpisodes = 16;
// Largest dense matrix the estimator forms: the Fisher matrix (parameters)
// or the value fit's normal equations (features); 4096^2 doubles = 128 MiB.
inline constexpr std::int64_t kMaxDense = 4096;

struct EstimatorConfig {
  double gamma = 0.99;
  Returns returns = Returns::kRewardToGo;
  Baseline baseline = Baseline::kMean;
  double gae_lambda = 0.95;
  bool normalize_advantages = false;
  FisherKind fisher = FisherKind::kSampled;
  double value_ridge = 1e-6;
  // With a fitted value, a truncated episode's returns continue with
  // gamma^(T-t) V(s_T) (the time limit is not part of the task). Off, the
  // estimate targets the time-limited objective exactly.
  bool bootstrap_truncated = true;

  bool uses_value() const { return baseline == Baseline::kValue || returns == Returns::kGae; }
};

class Estimator {
 public:
  Estimator(std::shared_ptr<const PolicyModel> policy, EstimatorConfig config);

  const EstimatorConfig& config() const { return cfg_; }
  std::int64_t n_params() const { return P_; }

  // Psi and the baseline of every step of the batch; with fixed_baseline,
  // b = *fixed_baseline everywhere instead of the configured baseline.
  void advantages(Collector& batch, const double* fixed_baseline = nullptr);
  // g (n_params) = the mean over episodes of their score-weighted sums;
  // stderr_out (n_params, may be null) from the per-episode contributions.
  void gradient(Collector& batch, const PolicyParams& p, double* g, double* stderr_out);
  // The Fisher matrix (n_params x n_params, row-major) of the batch:
  // (1/m) sum_j sum_t gamma^t s_t s_t^T, or with the expectation over the
  // softmax's actions taken exactly (FisherKind::kExact).
  void fisher(const Collector& batch, const PolicyParams& p, double* out);
  // Fits the value on this batch's returns, for the next batch.
  void fit_value(const Collector& batch);
  // Sizes the per-episode workspaces for episodes of up to `steps` steps
  // (the env's time limit), so that a long episode late in a run does not
  // grow them.
  void reserve(std::int64_t steps);

  // Batch-wide per-step arrays of the last advantages() call (episodes in
  // order, see Collector::offset): Psi, the baseline, the value targets.
  const std::vector<double>& psi() const { return psi_; }
  const std::vector<double>& base() const { return base_; }
  const ValueFunction& value() const { return value_; }

 private:
  struct Workspace {
    std::vector<double> W, adv, gj, extra, scratch, score;
  };
  void compute_psi(Collector& batch);
  void compute_psi(const Collector& batch, std::int64_t j0, std::int64_t j1);
  template <class Policy>
  void episode_gradient(const Policy& policy, const Collector& batch, std::int64_t j,
                        const PolicyParams& p, const double* weight, Workspace& ws) const;
  void sum_blocks(Collector& batch, const PolicyParams& p, bool optimal, double* g,
                  double* stderr_out);
  template <class Policy>
  void add_sampled_fisher(const Policy& policy, const Collector& batch, std::int64_t j,
                          const PolicyParams& p, MatMap& F);
  void add_exact_fisher(const LinearSoftmax& policy, const Collector& batch, std::int64_t j,
                        MatMap& F);
  void add_exact_fisher(const StateActionSoftmax& policy, const Collector& batch, std::int64_t j,
                        MatMap& F);

  std::shared_ptr<const PolicyModel> policy_;
  EstimatorConfig cfg_;
  std::int64_t P_ = 0, R_ = 0, C_ = 0, K_ = 0, D_ = 0, width_ = 0;
  ValueFunction value_;
  // Batch-wide, grown and then reused.
  std::vector<double> psi_, base_, target_, ones_, discount_;
  std::vector<double> time_sum_, time_count_, episode_sum_;
  // Per thread.
  std::vector<Workspace> ws_;
  // Per block: sums of g_j and g_j^2; per episode (optimal baseline): s_j.
  std::vector<double> block_sum_, block_sq_, score_sums_, s2r_, s2_;
  // Fisher accumulation.
  std::vector<double> fisher_block_, rows_, cov_, block_;
};

}  // namespace pgfast

#endif  // PGFAST_ESTIMATOR_HPP_
