// Baselines b_t subtracted from Psi_t, over batch-wide per-step arrays
// (episodes in order, Collector::offset). Each leaves out the episode it is
// applied to (or was fitted on an earlier batch), so none biases the
// estimate. The optimal baseline works per parameter and lives with the
// gradient (estimator.cpp).
#ifndef PGFAST_BASELINES_HPP_
#define PGFAST_BASELINES_HPP_

#include <cstdint>
#include <vector>

namespace pgfast {

class Collector;
class ValueFunction;

// b = the mean Psi over the steps of the other episodes.
void mean_baseline(const Collector& batch, const double* psi, double* base,
                   std::vector<double>& episode_sum);
// b_t = the mean Psi_t over the other episodes that reach step t.
void time_baseline(const Collector& batch, const double* psi, double* base,
                   std::vector<double>& sum, std::vector<double>& count);
// b_t = gamma^t V(s_t) (discounted) or V(s_t), V fitted on the previous batch.
void value_baseline(const Collector& batch, const ValueFunction& value, double gamma,
                    bool discounted, std::int64_t width, double* base);
// Psi - b standardised over the batch (into psi; base becomes 0). Biased,
// but often faster.
void normalize_advantages(const Collector& batch, double* psi, double* base);

}  // namespace pgfast

#endif  // PGFAST_BASELINES_HPP_
