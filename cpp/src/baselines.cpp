#include "pgfast/baselines.hpp"

#include <algorithm>
#include <cmath>

#include "pgfast/collector.hpp"
#include "pgfast/value_fit.hpp"

namespace pgfast {

void mean_baseline(const Collector& batch, const double* psi, double* base,
                   std::vector<double>& episode_sum) {
  const std::int64_t m = batch.episodes();
  episode_sum.resize(static_cast<std::size_t>(m));
  double total = 0.0;
  for (std::int64_t j = 0; j < m; ++j) {
    const double* p = psi + batch.offset(j);
    double s = 0.0;
    for (std::int64_t t = 0; t < batch.record(j).length; ++t) s += p[t];
    episode_sum[static_cast<std::size_t>(j)] = s;
    total += s;
  }
  const std::int64_t rows = batch.rows();
  for (std::int64_t j = 0; j < m; ++j) {
    const std::int64_t T = batch.record(j).length;
    const std::int64_t others = rows - T;
    const double b = others > 0 ? (total - episode_sum[static_cast<std::size_t>(j)]) /
                                      static_cast<double>(others)
                                : 0.0;
    std::fill(base + batch.offset(j), base + batch.offset(j) + T, b);
  }
}

void time_baseline(const Collector& batch, const double* psi, double* base,
                   std::vector<double>& sum, std::vector<double>& count) {
  const std::int64_t m = batch.episodes();
  std::int64_t longest = 0;
  for (std::int64_t j = 0; j < m; ++j) longest = std::max(longest, batch.record(j).length);
  // resize grows geometrically (assign would allocate exactly, again and
  // again as the longest episode creeps up).
  sum.resize(static_cast<std::size_t>(longest));
  count.resize(static_cast<std::size_t>(longest));
  std::fill(sum.begin(), sum.end(), 0.0);
  std::fill(count.begin(), count.end(), 0.0);
  for (std::int64_t j = 0; j < m; ++j) {
    const double* p = psi + batch.offset(j);
    for (std::int64_t t = 0; t < batch.record(j).length; ++t) {
      sum[static_cast<std::size_t>(t)] += p[t];
      count[static_cast<std::size_t>(t)] += 1.0;
    }
  }
  for (std::int64_t j = 0; j < m; ++j) {
    const double* p = psi + batch.offset(j);
    double* b = base + batch.offset(j);
    for (std::int64_t t = 0; t < batch.record(j).length; ++t) {
      const double n = count[static_cast<std::size_t>(t)] - 1.0;
      b[t] = n > 0 ? (sum[static_cast<std::size_t>(t)] - p[t]) / n : 0.0;
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

void normalize_advantages(const Collector& batch, double* psi, double* base) {
  // Two passes: the one-pass sq/n - mean^2 loses the variance when Psi is
  // large and nearly constant (returns="total").
  const std::int64_t n = batch.rows();
  double sum = 0.0;
  for (std::int64_t k = 0; k < n; ++k) sum += psi[k] - base[k];
  const double mean = sum / static_cast<double>(n);
  double sq = 0.0;
  for (std::int64_t k = 0; k < n; ++k) {
    const double d = psi[k] - base[k] - mean;
    sq += d * d;
  }
  const double inv_std = 1.0 / (std::sqrt(sq / static_cast<double>(n)) + 1e-8);
  for (std::int64_t k = 0; k < n; ++k) {
    psi[k] = (psi[k] - base[k] - mean) * inv_std;
    base[k] = 0.0;
  }
}

}  // namespace pgfast
