// The policies' members that are not worth inlining into the collector.
#include <cmath>
#include <string>
#include <utility>

#include "pgfast/check.hpp"
#include "pgfast/policies/policy_model.hpp"

namespace pgfast {

namespace {
// Large enough for any realistic table; bounded so that S * A * d stays far
// from overflow and the per-step copy of A * d values stays sane.
constexpr std::int64_t kMaxTable = std::int64_t{1} << 28;
constexpr std::int64_t kMaxActions = std::int64_t{1} << 20;
}  // namespace

LinearSoftmax::LinearSoftmax(std::shared_ptr<const FeatureMap> features, std::int64_t n_actions,
                             std::vector<double> psi, std::int64_t k)
    : features_(std::move(features)), A_(n_actions), psi_(std::move(psi)) {
  require(features_ != nullptr, "features must not be None");
  require(n_actions >= 1 && n_actions <= kMaxActions, "n_actions must be in [1, ", kMaxActions,
          "], got ", n_actions);
  F_ = features_->n_features();
  const std::string kind = features_->kind();
  if (kind == "identity") identity_dim_ = features_->obs_dim();
  sparse_ = kind == "one_hot" || kind == "tile_coding" || kind == "table";
  if (psi_.empty()) {
    K_ = A_;
  } else {
    require(k >= 1 && k <= kMaxColumns, "action features must have between 1 and ", kMaxColumns,
            " columns, got ", k);
    require(static_cast<std::int64_t>(psi_.size()) == A_ * k, "action features must have shape (",
            A_, ", ", k, "), got ", psi_.size(), " values");
    for (std::size_t j = 0; j < psi_.size(); ++j)
      require(std::isfinite(psi_[j]), "action_features[", j / static_cast<std::size_t>(k), ", ",
              j % static_cast<std::size_t>(k), "] must be finite, got ", psi_[j]);
    K_ = k;
  }
  require(F_ <= kMaxTable / K_, "the policy would have more than ", kMaxTable, " parameters");
}

void LinearSoftmax::score_weights(const PolicyParams& /*p*/, const double* out,
                                  const std::int64_t* actions, const double* /*cont*/,
                                  const double* weight, std::int64_t T, double* W,
                                  double* /*extra*/) const {
  if (psi_.empty()) {
    for (std::int64_t t = 0; t < T; ++t) {
      const double* pi = out + t * A_;
      double* w = W + t * A_;
      for (std::int64_t a = 0; a < A_; ++a) w[a] = -weight[t] * pi[a];
      w[actions[t]] += weight[t];
    }
    return;
  }
  switch (K_) {
    case 1:
      return factored_weights<1>(out, actions, weight, T, W);
    case 2:
      return factored_weights<2>(out, actions, weight, T, W);
    case 3:
      return factored_weights<3>(out, actions, weight, T, W);
    case 4:
      return factored_weights<4>(out, actions, weight, T, W);
    default:
      return factored_weights<0>(out, actions, weight, T, W);
  }
}

// w = weight (psi_a - psi^T pi), written as -weight (psi^T pi) + weight psi_a
// so that psi = I gives the bits of the state-feature branch. kK > 0: a
// compile-time width, so that psi^T pi stays in registers (through memory,
// each step would wait on its own stores); 0: any width.
template <int kK>
void LinearSoftmax::factored_weights(const double* out, const std::int64_t* actions,
                                     const double* weight, std::int64_t T, double* W) const {
  const std::int64_t K = kK > 0 ? kK : K_;
  for (std::int64_t t = 0; t < T; ++t) {
    const double* pi = out + t * A_;
    double* w = W + t * K;
    double m[kK > 0 ? kK : 1] = {};
    if constexpr (kK == 0) {
      for (std::int64_t c = 0; c < K; ++c) w[c] = 0.0;
    }
    for (std::int64_t b = 0; b < A_; ++b) {
      const double* psi_b = psi_.data() + b * K;
      if constexpr (kK > 0) {
        for (int c = 0; c < kK; ++c) m[c] += pi[b] * psi_b[c];
      } else {
        for (std::int64_t c = 0; c < K; ++c) w[c] += pi[b] * psi_b[c];
      }
    }
    const double* psi_a = psi_.data() + actions[t] * K;
    for (std::int64_t c = 0; c < K; ++c)
      w[c] = -weight[t] * (kK > 0 ? m[c] : w[c]) + weight[t] * psi_a[c];
  }
}

void LinearSoftmax::score(const PolicyParams& p, const double* row, const double* out,
                          std::int64_t a, const double* cont, double* s, double* scratch) const {
  const double one = 1.0;
  double* w = scratch;  // K values
  score_weights(p, out, &a, cont, &one, 1, w, nullptr);
  for (std::int64_t f = 0; f < F_; ++f)
    for (std::int64_t c = 0; c < K_; ++c) s[f * K_ + c] = row[f] * w[c];
}

void LinearSoftmax::action_covariance(const double* pi, double* C) const {
  if (psi_.empty()) {
    for (std::int64_t a = 0; a < A_; ++a)
      for (std::int64_t c = 0; c < A_; ++c) C[a * A_ + c] = (a == c ? pi[a] : 0.0) - pi[a] * pi[c];
    return;
  }
  // psi^T diag(pi) psi - (psi^T pi)(psi^T pi)^T
  for (std::int64_t i = 0; i < K_ * K_; ++i) C[i] = 0.0;
  for (std::int64_t b = 0; b < A_; ++b) {
    const double* psi_b = psi_.data() + b * K_;
    for (std::int64_t i = 0; i < K_; ++i)
      for (std::int64_t j = 0; j < K_; ++j) C[i * K_ + j] += pi[b] * psi_b[i] * psi_b[j];
  }
  for (std::int64_t i = 0; i < K_; ++i) {
    double mi = 0.0;
    for (std::int64_t b = 0; b < A_; ++b) mi += pi[b] * psi_[static_cast<std::size_t>(b * K_ + i)];
    for (std::int64_t j = 0; j < K_; ++j) {
      double mj = 0.0;
      for (std::int64_t b = 0; b < A_; ++b)
        mj += pi[b] * psi_[static_cast<std::size_t>(b * K_ + j)];
      C[i * K_ + j] -= mi * mj;
    }
  }
}

StateActionSoftmax::StateActionSoftmax(std::vector<double> table, std::int64_t n_states,
                                       std::int64_t n_actions, std::int64_t d)
    : S_(n_states), A_(n_actions), d_(d) {
  require(n_states >= 1, "the table needs at least one state, got ", n_states);
  require(n_actions >= 1 && n_actions <= kMaxActions, "the table needs between 1 and ", kMaxActions,
          " actions, got ", n_actions);
  require(d >= 1, "the table needs at least one feature, got ", d);
  require(n_states <= kMaxTable / n_actions && n_states * n_actions <= kMaxTable / d,
          "the table has more than ", kMaxTable, " entries");
  require(static_cast<std::int64_t>(table.size()) == n_states * n_actions * d,
          "the table must have ", n_states * n_actions * d, " values, got ", table.size());
  for (std::size_t j = 0; j < table.size(); ++j)
    require(std::isfinite(table[j]), "table entries must be finite; entry ", j, " is ", table[j]);
  table_ = std::make_shared<const std::vector<double>>(std::move(table));
}

void StateActionSoftmax::check_obs(const double* obs, std::int64_t row) const {
  require(obs[0] == std::floor(obs[0]) && obs[0] >= 0 && obs[0] < static_cast<double>(S_), "obs[",
          row, "] must be a state index in [0, ", S_, ") for a state-action table, got ", obs[0]);
}

LinearGaussian::LinearGaussian(std::shared_ptr<const FeatureMap> features, std::int64_t action_dim)
    : features_(std::move(features)), D_(action_dim) {
  require(features_ != nullptr, "features must not be None");
  require(action_dim >= 1 && action_dim <= 4096, "action_dim must be in [1, 4096], got ",
          action_dim);
  F_ = features_->n_features();
  require(F_ <= kMaxTable / D_, "the policy would have more than ", kMaxTable, " parameters");
}

void PolicyModel::check_obs(const double* obs, std::int64_t row) const {
  visit([&](const auto& p) {
    if constexpr (std::is_same_v<std::decay_t<decltype(p)>, StateActionSoftmax>) {
      p.check_obs(obs, row);
    } else {
      p.features().check_obs(obs, row);
    }
  });
}

}  // namespace pgfast
