#include "pgfast/value_fit.hpp"

#include <algorithm>

#include "pgfast/collector.hpp"

namespace pgfast {

ValueFunction::ValueFunction(std::int64_t width, double ridge)
    : width_(width),
      ridge_(ridge),
      A_(width, width),
      rhs_(width),
      w_(Vector::Zero(width)),
      solution_(width),
      ldlt_(width) {}

void ValueFunction::fit(const Collector& batch, const double* targets) {
  const std::int64_t W = width_;
  A_.setZero();
  rhs_.setZero();
  for (std::int64_t j = 0; j < batch.episodes(); ++j) {
    const EnvBuffer& b = batch.buffer(j);
    const EpisodeRecord& e = batch.record(j);
    ConstMatMap X(b.phi.data() + e.start * W, e.length, W);
    ConstVecMap G(targets + batch.offset(j), e.length);
    A_.selfadjointView<Eigen::Lower>().rankUpdate(X.transpose());
    rhs_.noalias() += X.transpose() * G;
  }
  A_.triangularView<Eigen::StrictlyUpper>() = A_.transpose();
  const double scale = std::max(1.0, A_.diagonal().mean());
  A_.diagonal().array() += ridge_ * scale;
  ldlt_.compute(A_);
  solution_ = ldlt_.solve(rhs_);
  if (!solution_.allFinite()) return;  // keep the previous value function
  w_ = solution_;
  fitted_ = true;
}

}  // namespace pgfast
