#include "pgfast/baselines.hpp"

#include <algorithm>
#include <cmath>

#include "pgfast/collector.hpp"
#include "pgfast/value_fit.hpp"

namespace pgfast {

void mean_baseline_stats(const Collector& batch, const double* psi, std::int64_t j0,
                         std::int64_t j1, double* episode_sum, std::vector<double>& out) {
  double total = 0.0, steps = 0.0;
  for (std::int64_t j = j0; j < j1; ++j) {
    const double* p = psi + batch.offset(j);
    const std::int64_t T = batch.record(j).length;
    double s = 0.0;
    for (std::int64_t t = 0; t < T; ++t) s += p[t];
    episode_sum[j] = s;
    total += s;
    steps += static_cast<double>(T);
  }
  out.assign({total, steps});
}

void apply_mean_baseline(const Collector& batch, const double* episode_sum,
                         const std::vector<double>& total, double* base) {
  for (std::int64_t j = 0; j < batch.episodes(); ++j) {
    const std::int64_t T = batch.record(j).length;
    const double others = total[1] - static_cast<double>(T);
    const double b = others > 0 ? (total[0] - episode_sum[j]) / others : 0.0;
    std::fill(base + batch.offset(j), base + batch.offset(j) + T, b);
  }
}

void time_baseline_stats(const Collector& batch, const double* psi, std::int64_t j0,
                         std::int64_t j1, std::int64_t min_steps, std::vector<double>& out) {
  std::int64_t longest = min_steps;
  for (std::int64_t j = j0; j < j1; ++j) longest = std::max(longest, batch.record(j).length);
  out.assign(static_cast<std::size_t>(2 * longest), 0.0);
  for (std::int64_t j = j0; j < j1; ++j) {
    const double* p = psi + batch.offset(j);
    for (std::int64_t t = 0; t < batch.record(j).length; ++t) {
      out[static_cast<std::size_t>(2 * t)] += p[t];
      out[static_cast<std::size_t>(2 * t + 1)] += 1.0;
    }
  }
}

void apply_time_baseline(const Collector& batch, const double* psi,
                         const std::vector<double>& total, double* base) {
  for (std::int64_t j = 0; j < batch.episodes(); ++j) {
    const double* p = psi + batch.offset(j);
    double* b = base + batch.offset(j);
    for (std::int64_t t = 0; t < batch.record(j).length; ++t) {
      const double n = total[static_cast<std::size_t>(2 * t + 1)] - 1.0;
      b[t] = n > 0 ? (total[static_cast<std::size_t>(2 * t)] - p[t]) / n : 0.0;
    }
  }
}

void value_baseline(const Collector& batch, const ValueFunction& value, double gamma,
                    bool discounted, std::int64_t width, double* base) {
  if (!value.fitted()) return;
  for (std::int64_t j = 0; j < batch.episodes(); ++j) {
    const EnvBuffer& b = batch.buffer(j);
    const EpisodeRecord& e = batch.record(j);
    double* out = base + batch.offset(j);
    double discount = 1.0;
    for (std::int64_t t = 0; t < e.length; ++t) {
      out[t] = (discounted ? discount : 1.0) * value(b.phi.data() + (e.start + t) * width);
      discount *= gamma;
    }
  }
}

// Two sums rather than one pass of sq / n - mean^2, which loses the variance
// when Psi is large and nearly constant (returns="total").
void advantage_sum(const Collector& batch, const double* psi, const double* base, std::int64_t j0,
                   std::int64_t j1, std::vector<double>& out) {
  double sum = 0.0, steps = 0.0;
  for (std::int64_t j = j0; j < j1; ++j) {
    const std::int64_t o = batch.offset(j), T = batch.record(j).length;
    for (std::int64_t t = o; t < o + T; ++t) sum += psi[t] - base[t];
    steps += static_cast<double>(T);
  }
  out.assign({sum, steps});
}

void advantage_spread(const Collector& batch, const double* psi, const double* base, double mean,
                      std::int64_t j0, std::int64_t j1, std::vector<double>& out) {
  double sq = 0.0;
  for (std::int64_t j = j0; j < j1; ++j) {
    const std::int64_t o = batch.offset(j), T = batch.record(j).length;
    for (std::int64_t t = o; t < o + T; ++t) {
      const double d = psi[t] - base[t] - mean;
      sq += d * d;
    }
  }
  out.assign({sq});
}

void normalize_advantages(std::int64_t steps, double mean, double spread_sum, double count,
                          double* psi, double* base) {
  const double inv_std = 1.0 / (std::sqrt(spread_sum / count) + 1e-8);
  for (std::int64_t k = 0; k < steps; ++k) {
    psi[k] = (psi[k] - base[k] - mean) * inv_std;
    base[k] = 0.0;
  }
}

}  // namespace pgfast
