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
                                   const PolicyParams& p, MatMap& F, Workspace& ws) const {
  const EnvBuffer& b = batch.buffer(j);
  const EpisodeRecord& e = batch.record(j);
  const StepLayout& L = batch.layout();
  const std::int64_t T = e.length, P = P_;
  double* s = ensure(ws.score, policy.n_theta() + D_);
  double* scratch = ensure(ws.scratch, std::max<std::int64_t>(policy.scratch_size(), 1));
  double* rows = ensure(ws.rows, T * P);
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
                                 std::int64_t j, MatMap& F, Workspace& ws) const {
  const EnvBuffer& b = batch.buffer(j);
  const EpisodeRecord& e = batch.record(j);
  const StepLayout& L = batch.layout();
  const std::int64_t T = e.length, Fn = C_, K = K_;
  double* cov = ensure(ws.cov, T * K * K);
  double* discount = ensure(ws.discount, T);
  double d = 1.0;
  for (std::int64_t t = 0; t < T; ++t, d *= cfg_.gamma) {
    discount[t] = d;
    policy.action_covariance(b.out.data() + (e.start + t) * L.out, cov + t * K * K);
  }
  ConstMatMap Phi(b.phi.data() + e.start * L.phi, T, Fn);
  MatMap scaled(ensure(ws.rows, T * Fn), T, Fn);
  MatMap block(ensure(ws.block, Fn * Fn), Fn, Fn);
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
                                 std::int64_t j, MatMap& F, Workspace& ws) const {
  const EnvBuffer& b = batch.buffer(j);
  const EpisodeRecord& e = batch.record(j);
  const StepLayout& L = batch.layout();
  const std::int64_t T = e.length, A = policy.n_actions(), d = C_;
  MatMap plus(ensure(ws.rows, T * A * d), T * A, d);
  MatMap minus(ensure(ws.block, T * d), T, d);
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

// Explicit instantiations: the final round (estimator.cpp) calls these.
#define PGFAST_SAMPLED_FISHER(Policy)                                                          \
  template void Estimator::add_sampled_fisher<Policy>(                                         \
      const Policy&, const Collector&, std::int64_t, const PolicyParams&, MatMap&, Workspace&) \
      const;
PGFAST_SAMPLED_FISHER(LinearSoftmax)
PGFAST_SAMPLED_FISHER(StateActionSoftmax)
PGFAST_SAMPLED_FISHER(LinearGaussian)
#undef PGFAST_SAMPLED_FISHER

}  // namespace pgfast
