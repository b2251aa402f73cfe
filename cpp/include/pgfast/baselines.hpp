// Baselines b_t subtracted from Psi_t, over a collector's per-step arrays
// (episodes in order, Collector::offset). Each leaves out the episode it is
// applied to (or was fitted on an earlier batch), so none biases the
// estimate. The optimal baseline works per parameter and lives with the
// gradient (estimator.cpp).
//
// The mean and time baselines need sums over the whole batch: *_stats()
// writes one block's share (summed over the batch along the estimator's
// tree, see estimator.hpp), and apply_*() uses the batch-wide sum.
#ifndef PGFAST_BASELINES_HPP_
#define PGFAST_BASELINES_HPP_

#include <cstdint>
#include <vector>

namespace pgfast {

class Collector;
class ValueFunction;

// b = the mean Psi over the steps of the other episodes. Stats: [sum of
// Psi, steps] over episodes [j0, j1); episode_sum[j] = episode j's sum.
void mean_baseline_stats(const Collector& batch, const double* psi, std::int64_t j0,
                         std::int64_t j1, double* episode_sum, std::vector<double>& out);
void apply_mean_baseline(const Collector& batch, const double* episode_sum,
                         const std::vector<double>& total, double* base);
// b_t = the mean Psi_t over the other episodes that reach step t. Stats:
// [sum of Psi_t, episodes reaching t] for each t, interleaved, for at least
// min_steps steps (the time limit: then the vectors never grow).
void time_baseline_stats(const Collector& batch, const double* psi, std::int64_t j0,
                         std::int64_t j1, std::int64_t min_steps, std::vector<double>& out);
void apply_time_baseline(const Collector& batch, const double* psi,
                         const std::vector<double>& total, double* base);
// b_t = gamma^t V(s_t) (discounted) or V(s_t), V fitted on the previous batch.
void value_baseline(const Collector& batch, const ValueFunction& value, double gamma,
                    bool discounted, std::int64_t width, double* base);
// Psi - b standardised over the batch (biased, but often faster), in two
// sums: [sum of Psi - b, steps], then [sum of (Psi - b - mean)^2].
void advantage_sum(const Collector& batch, const double* psi, const double* base, std::int64_t j0,
                   std::int64_t j1, std::vector<double>& out);
void advantage_spread(const Collector& batch, const double* psi, const double* base, double mean,
                      std::int64_t j0, std::int64_t j1, std::vector<double>& out);
// psi = (Psi - b - mean) / (std + 1e-8), base = 0, over every step.
void normalize_advantages(std::int64_t steps, double mean, double spread_sum, double count,
                          double* psi, double* base);

}  // namespace pgfast

#endif  // PGFAST_BASELINES_HPP_
