// PolicyModel: one of the policy types, chosen at run time by Python and
// visited once per episode or per call (never per step) by the engine.
// Adding a policy type: its header, one entry in Variant, one binding.
#ifndef PGFAST_POLICIES_POLICY_MODEL_HPP_
#define PGFAST_POLICIES_POLICY_MODEL_HPP_

#include <cstdint>
#include <utility>
#include <variant>

#include "pgfast/policies/linear_gaussian.hpp"
#include "pgfast/policies/linear_softmax.hpp"
#include "pgfast/policies/policy.hpp"
#include "pgfast/policies/state_action_softmax.hpp"

namespace pgfast {

class PolicyModel {
 public:
  using Variant = std::variant<LinearSoftmax, StateActionSoftmax, LinearGaussian>;

  // learn_std: whether a Gaussian policy's log_std is a trained parameter.
  explicit PolicyModel(Variant policy, bool learn_std = false)
      : policy_(std::move(policy)), learn_std_(learn_std && kind() == PolicyKind::kGaussian) {}

  template <class Fn>
  decltype(auto) visit(Fn&& fn) const {
    return std::visit(std::forward<Fn>(fn), policy_);
  }

  PolicyKind kind() const {
    return visit([](const auto& p) { return std::decay_t<decltype(p)>::kKind; });
  }
  bool discrete() const {
    return visit([](const auto& p) { return std::decay_t<decltype(p)>::kDiscrete; });
  }
  bool learn_std() const { return learn_std_; }
  std::int64_t n_params() const {
    return visit([&](const auto& p) { return p.n_params(learn_std_); });
  }
  std::int64_t n_theta() const {
    return visit([](const auto& p) { return p.n_theta(); });
  }
  std::int64_t obs_dim() const {
    return visit([](const auto& p) { return p.obs_dim(); });
  }
  std::int64_t n_actions() const {
    return visit([](const auto& p) { return p.n_actions(); });
  }
  std::int64_t action_dim() const {
    return visit([](const auto& p) { return p.action_dim(); });
  }
  std::int64_t rows_per_step() const {
    return visit([](const auto& p) { return p.rows_per_step(); });
  }
  std::int64_t row_width() const {
    return visit([](const auto& p) { return p.row_width(); });
  }
  std::int64_t columns() const {
    return visit([](const auto& p) { return p.columns(); });
  }
  std::int64_t out_width() const {
    return visit([](const auto& p) { return p.out_width(); });
  }
  std::int64_t scratch_size() const {
    return visit([](const auto& p) { return p.scratch_size(); });
  }
  // Throws std::invalid_argument if obs (one row of obs_dim values) is not
  // an observation the policy can read.
  void check_obs(const double* obs, std::int64_t row) const;

 private:
  Variant policy_;
  bool learn_std_ = false;
};

}  // namespace pgfast

#endif  // PGFAST_POLICIES_POLICY_MODEL_HPP_
