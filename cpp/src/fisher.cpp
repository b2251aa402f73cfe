// The Fisher matrix of the natural step, accumulated from a batch: sampled
// (per-step score outer products) or exact over the softmax's actions.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "pgfast/check.hpp"
#include "pgfast/collector.hpp"
#include "pgfast/estimator.hpp"
#include "pgfast/workspace.hpp"

namespace pgfast {

template <class Policy>
void Estimator::add_sampled_fisher(const Policy& policy, const Collector& batch, std::int64_t j,
                                   const PolicyParams& p, MatMap& F) {
  const EnvBuffer& b = batch.buffer(j);
  const EpisodeRecord& e = batch.record(j);
  const StepLayout& L = batch.layout();
  const std::int64_t T = e.length, P = P_;
  Workspace& ws = ws_[0];
  double* s = ensure(ws.score, policy.n_theta() + D_);
  double* scratch = ensure(ws.scratch, std::max<std::int64_t>(policy.scratch_size(), 1));
  double* rows = ensure(rows_, T * P);
  double discount = 1.0;
  for (std::int64_t t = 0; t < T; ++t, discount *= cfg_.gamma) {
    const std::int64_t k = e.start + t;
    policy.score(p, b.phi.data() + k * L.phi, b.out.data() + k * L.out,
                 b.act_i[static_cast<std::size_t>(k)], b.act_c.data() + k * L.action, s, scratch);
    const double root = std::sqrt(discount);
    for (std::int64_t c = 0; c < P; ++c) rows[t * P + c] = root * s[c];
  }
  ConstMatMap S(rows, T, P);
  F.template selfadjointView<Eigen::Lower>().rankUpdate(S.transpose());
}

// sum_t gamma^t (phi phi^T) (x) C_t, one (a, c) block of columns at a time.
void Estimator::add_exact_fisher(const LinearSoftmax& policy, const Collector& batch,
                                 std::int64_t j, MatMap& F) {
  const EnvBuffer& b = batch.buffer(j);
  const EpisodeRecord& e = batch.record(j);
  const StepLayout& L = batch.layout();
  const std::int64_t T = e.length, Fn = C_, K = K_;
  double* cov = ensure(cov_, T * K * K);
  double* discount = ensure(discount_, T);
  double d = 1.0;
  for (std::int64_t t = 0; t < T; ++t, d *= cfg_.gamma) {
    discount[t] = d;
    policy.action_covariance(b.out.data() + (e.start + t) * L.out, cov + t * K * K);
  }
  ConstMatMap Phi(b.phi.data() + e.start * L.phi, T, Fn);
  MatMap scaled(ensure(rows_, T * Fn), T, Fn);
  MatMap block(ensure(block_, Fn * Fn), Fn, Fn);
  for (std::int64_t a = 0; a < K; ++a) {
    for (std::int64_t c = 0; c < K; ++c) {
      for (std::int64_t t = 0; t < T; ++t)
        scaled.row(t) = (discount[t] * cov[t * K * K + a * K + c]) * Phi.row(t);
      block.noalias() = Phi.transpose() * scaled;
      // The whole block; fisher() keeps the lower triangle.
      for (std::int64_t f = 0; f < Fn; ++f)
        for (std::int64_t h = 0; h < Fn; ++h) F(f * K + a, h * K + c) += block(f, h);
    }
  }
}

// sum_t gamma^t (X_t^T diag(pi) X_t - xbar xbar^T), X_t the step's A x d rows.
void Estimator::add_exact_fisher(const StateActionSoftmax& policy, const Collector& batch,
                                 std::int64_t j, MatMap& F) {
  const EnvBuffer& b = batch.buffer(j);
  const EpisodeRecord& e = batch.record(j);
  const StepLayout& L = batch.layout();
  const std::int64_t T = e.length, A = policy.n_actions(), d = C_;
  MatMap plus(ensure(rows_, T * A * d), T * A, d);
  MatMap minus(ensure(block_, T * d), T, d);
  double disc = 1.0;
  for (std::int64_t t = 0; t < T; ++t, disc *= cfg_.gamma) {
    const double* X = b.phi.data() + (e.start + t) * L.phi;
    const double* pi = b.out.data() + (e.start + t) * L.out;
    const double root = std::sqrt(disc);
    for (std::int64_t k = 0; k < d; ++k) minus(t, k) = 0.0;
    for (std::int64_t a = 0; a < A; ++a) {
      const double w = std::sqrt(disc * pi[a]);
      for (std::int64_t k = 0; k < d; ++k) {
        plus(t * A + a, k) = w * X[a * d + k];
        minus(t, k) += root * pi[a] * X[a * d + k];
      }
    }
  }
  F.selfadjointView<Eigen::Lower>().rankUpdate(plus.transpose());
  F.selfadjointView<Eigen::Lower>().rankUpdate(minus.transpose(), -1.0);
}

void Estimator::fisher(const Collector& batch, const PolicyParams& p, double* out) {
  const std::int64_t m = batch.episodes(), P = P_;
  require(P <= kMaxDense, "the Fisher matrix of ", P, " parameters is too large to form (at most ",
          kMaxDense, ")");
  if (ws_.empty()) ws_.resize(1);
  MatMap total(out, P, P);
  total.setZero();
  MatMap block(ensure(fisher_block_, P * P), P, P);
  const bool exact = cfg_.fisher == FisherKind::kExact;
  policy_->visit([&](const auto& policy) {
    using Policy = std::decay_t<decltype(policy)>;
    for (std::int64_t j0 = 0; j0 < m; j0 += kBlockEpisodes) {
      block.setZero();
      for (std::int64_t j = j0; j < std::min(m, j0 + kBlockEpisodes); ++j) {
        if constexpr (Policy::kDiscrete) {
          if (exact) {
            add_exact_fisher(policy, batch, j, block);
            continue;
          }
        }
        add_sampled_fisher(policy, batch, j, p, block);
      }
      total.triangularView<Eigen::Lower>() += block;
    }
  });
  total.triangularView<Eigen::StrictlyUpper>() = total.transpose();
  total /= static_cast<double>(m);
}

}  // namespace pgfast
