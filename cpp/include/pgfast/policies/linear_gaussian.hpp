// Linear Gaussian policy, actions of dimension D, theta (F, D) row-major and
// log standard deviation omega (D,):
//   mu = theta^T phi(s),  a ~ N(mu, diag(exp(2 omega)))
//   grad_theta log pi = phi(s) ((a - mu) / sigma^2)^T
//   grad_omega log pi = (a - mu)^2 / sigma^2 - 1
// The score uses the sample a itself; the collector clips a copy to the
// action bounds before the env sees it.
#ifndef PGFAST_POLICIES_LINEAR_GAUSSIAN_HPP_
#define PGFAST_POLICIES_LINEAR_GAUSSIAN_HPP_

#include <cmath>
#include <cstdint>
#include <memory>

#include "pgfast/features.hpp"
#include "pgfast/policies/linear_softmax.hpp"
#include "pgfast/policies/policy.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

namespace gaussian {

inline constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(2 pi) / 2

inline double log_prob(const double* a, const double* mu, const double* log_std, std::int64_t D) {
  double lp = 0.0;
  for (std::int64_t d = 0; d < D; ++d) {
    const double z = (a[d] - mu[d]) * std::exp(-log_std[d]);
    lp += -0.5 * z * z - log_std[d] - kHalfLog2Pi;
  }
  return lp;
}

inline double entropy(const double* log_std, std::int64_t D) {
  double h = 0.0;
  for (std::int64_t d = 0; d < D; ++d) h += log_std[d] + kHalfLog2Pi + 0.5;
  return h;
}

// KL(N(mu_p, s_p) || N(mu_q, s_q)) for diagonal Gaussians.
inline double kl(const double* mu_p, const double* log_std_p, const double* mu_q,
                 const double* log_std_q, std::int64_t D) {
  double k = 0.0;
  for (std::int64_t d = 0; d < D; ++d) {
    const double var_ratio = std::exp(2.0 * (log_std_p[d] - log_std_q[d]));
    const double z = (mu_p[d] - mu_q[d]) * std::exp(-log_std_q[d]);
    k += 0.5 * (var_ratio + z * z - 1.0) - (log_std_p[d] - log_std_q[d]);
  }
  return k;
}

}  // namespace gaussian

class LinearGaussian {
 public:
  static constexpr bool kDiscrete = false;
  static constexpr PolicyKind kKind = PolicyKind::kGaussian;

  LinearGaussian(std::shared_ptr<const FeatureMap> features, std::int64_t action_dim);

  const FeatureMap& features() const { return *features_; }
  const std::shared_ptr<const FeatureMap>& features_ptr() const { return features_; }
  std::int64_t obs_dim() const { return features_->obs_dim(); }
  std::int64_t n_actions() const { return 0; }
  std::int64_t action_dim() const { return D_; }
  std::int64_t rows_per_step() const { return 1; }
  std::int64_t row_width() const { return F_; }
  std::int64_t columns() const { return D_; }
  std::int64_t out_width() const { return D_; }
  std::int64_t n_theta() const { return F_ * D_; }
  std::int64_t n_params(bool learn_std) const { return F_ * D_ + (learn_std ? D_ : 0); }

  void phi(const double* obs, double* row) const { features_->compute(obs, row); }

  void mean(const PolicyParams& p, const double* row, double* mu) const {
    softmax::linear(p.theta, row, F_, D_, mu);
  }

  // mu into out and a ~ N(mu, sigma^2) (a = mu when rng is null) into action.
  PGFAST_ALWAYS_INLINE std::int64_t act(const PolicyParams& p, const double* row, double* out,
                                        double* action, Rng* rng, double* /*scratch*/) const {
    mean(p, row, out);
    for (std::int64_t d = 0; d < D_; ++d)
      action[d] = rng ? out[d] + std::exp(p.log_std[d]) * rng->normal() : out[d];
    return 0;
  }

  double log_prob(const PolicyParams& p, const double* out, std::int64_t /*a*/,
                  const double* action) const {
    return gaussian::log_prob(action, out, p.log_std, D_);
  }

  // W (T x D): W_t = weight_t (a_t - mu_t) / sigma^2; extra (D) accumulates
  // sum_t weight_t ((a_t - mu_t)^2 / sigma^2 - 1), the log_std gradient.
  void score_weights(const PolicyParams& p, const double* out, const std::int64_t* /*actions*/,
                     const double* cont, const double* weight, std::int64_t T, double* W,
                     double* extra) const {
    for (std::int64_t d = 0; d < D_; ++d) extra[d] = 0.0;
    for (std::int64_t d = 0; d < D_; ++d) {
      const double inv_var = std::exp(-2.0 * p.log_std[d]);
      for (std::int64_t t = 0; t < T; ++t) {
        const double diff = cont[t * D_ + d] - out[t * D_ + d];
        W[t * D_ + d] = weight[t] * diff * inv_var;
        extra[d] += weight[t] * (diff * diff * inv_var - 1.0);
      }
    }
  }

  // The whole score: grad_theta (F*D) then grad_log_std (D).
  void score(const PolicyParams& p, const double* row, const double* out, std::int64_t /*a*/,
             const double* cont, double* s, double* /*scratch*/) const {
    for (std::int64_t d = 0; d < D_; ++d) {
      const double inv_var = std::exp(-2.0 * p.log_std[d]);
      const double diff = cont[d] - out[d];
      for (std::int64_t f = 0; f < F_; ++f) s[f * D_ + d] = row[f] * diff * inv_var;
      s[F_ * D_ + d] = diff * diff * inv_var - 1.0;
    }
  }

  double entropy(const PolicyParams& p, const double* /*out*/) const {
    return gaussian::entropy(p.log_std, D_);
  }

  double kl(const PolicyParams& old, const PolicyParams& next, const double* row,
            const double* out_old, double* scratch) const {
    mean(next, row, scratch);
    return gaussian::kl(out_old, old.log_std, scratch, next.log_std, D_);
  }

  std::int64_t scratch_size() const { return D_; }

 private:
  std::shared_ptr<const FeatureMap> features_;
  std::int64_t F_ = 0, D_ = 0;
};

}  // namespace pgfast

#endif  // PGFAST_POLICIES_LINEAR_GAUSSIAN_HPP_
