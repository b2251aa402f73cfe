#include "pgfast/optimizers.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "pgfast/check.hpp"

namespace pgfast {

double Optimizer::condition() const { return std::numeric_limits<double>::quiet_NaN(); }

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, std::int64_t n) {
  switch (config.kind) {
    case OptimizerKind::kSgd:
      return std::make_unique<Sgd>(config.lr, n);
    case OptimizerKind::kAdam:
      return std::make_unique<Adam>(config, n);
    case OptimizerKind::kNatural:
      return std::make_unique<NaturalGradient>(config, n);
  }
  throw std::logic_error("unknown optimizer");
}

void Sgd::direction(const double* g, const double* /*fisher*/, double* step) {
  for (std::int64_t k = 0; k < n_; ++k) step[k] = lr_ * g[k];
}

Adam::Adam(const OptimizerConfig& config, std::int64_t n)
    : lr_(config.lr),
      beta1_(config.adam_beta1),
      beta2_(config.adam_beta2),
      eps_(config.adam_eps),
      m_(static_cast<std::size_t>(n), 0.0),
      v_(static_cast<std::size_t>(n), 0.0),
      prev_m_(static_cast<std::size_t>(n), 0.0),
      prev_v_(static_cast<std::size_t>(n), 0.0) {}

void Adam::direction(const double* g, const double* /*fisher*/, double* step) {
  prev_m_ = m_;  // same sizes: copies, never allocations
  prev_v_ = v_;
  ++t_;
  const double c1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
  const double c2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
  for (std::size_t k = 0; k < m_.size(); ++k) {
    m_[k] = beta1_ * m_[k] + (1.0 - beta1_) * g[k];
    v_[k] = beta2_ * v_[k] + (1.0 - beta2_) * g[k] * g[k];
    if (!std::isfinite(v_[k])) {
      // g^2 overflowed: Adam would silently take a zero step.
      undo();
      throw std::runtime_error(
          "the gradient is too large for Adam (its square overflows); scale the rewards");
    }
    step[k] = lr_ * (m_[k] / c1) / (std::sqrt(v_[k] / c2) + eps_);
  }
}

void Adam::undo() {
  m_ = prev_m_;
  v_ = prev_v_;
  --t_;
}

void Adam::save() {
  saved_m_ = m_;
  saved_v_ = v_;
  saved_t_ = t_;
}

void Adam::restore() {
  m_ = saved_m_;
  v_ = saved_v_;
  t_ = saved_t_;
}

NaturalGradient::NaturalGradient(const OptimizerConfig& config, std::int64_t n)
    : lr_(config.lr),
      damping_(config.damping),
      max_kl_(config.max_kl),
      n_(n),
      A_(n, n),
      x_(n),
      ldlt_(n),
      condition_(std::numeric_limits<double>::quiet_NaN()) {}

void NaturalGradient::direction(const double* g, const double* fisher, double* step) {
  A_ = ConstMatMap(fisher, n_, n_);
  A_.diagonal().array() += damping_;
  ldlt_.compute(A_);
  require(ldlt_.info() == Eigen::Success, "the damped Fisher matrix could not be factorised");
  const ConstVecMap gv(g, n_);
  x_ = ldlt_.solve(gv);
  const double gx = gv.dot(x_);
  double alpha = lr_;
  if (max_kl_ > 0 && gx > 0) alpha = std::sqrt(2.0 * max_kl_ / gx);
  for (std::int64_t k = 0; k < n_; ++k) step[k] = alpha * x_(k);
  // The ratio of the largest to the smallest pivot of the LDL^T factors: a
  // cheap estimate of the condition number that allocates nothing.
  const auto D = ldlt_.vectorD().cwiseAbs();
  const double lo = D.minCoeff();
  condition_ = lo > 0 ? D.maxCoeff() / lo : std::numeric_limits<double>::infinity();
}

}  // namespace pgfast
