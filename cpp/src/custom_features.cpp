// pg.features.Custom: a feature map written in Python and compiled by numba,
// called by the engine through a function pointer.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "pgfast/check.hpp"
#include "pgfast/features.hpp"
#include "pgfast/user_code.hpp"

namespace pgfast {

namespace {

// As for the built-in maps: more features than this is a configuration mistake.
constexpr std::int64_t kMaxCustomSize = std::int64_t{1} << 24;

class Custom final : public FeatureMap {
 public:
  Custom(CustomFeaturesFn fn, std::int64_t obs_dim, std::int64_t n_features, std::uint64_t token)
      : fn_(fn), obs_dim_(obs_dim), n_features_(n_features), token_(token) {
    require(fn != nullptr, "a Custom feature map needs a compiled function");
    require(obs_dim >= 1 && obs_dim <= kMaxCustomSize, "obs_dim must be in [1, ", kMaxCustomSize,
            "], got ", obs_dim);
    require(n_features >= 1 && n_features <= kMaxCustomSize, "n_features must be in [1, ",
            kMaxCustomSize, "], got ", n_features);
  }

  std::string kind() const override { return "custom"; }
  std::int64_t obs_dim() const override { return obs_dim_; }
  std::int64_t n_features() const override { return n_features_; }

  void compute(const double* obs, double* out) const override {
    std::fill(out, out + n_features_, 0.0);  // entries fn leaves alone are 0, not stale
    const std::int32_t status = fn_(obs, out);
    if (status != kUserOk) {
      fail(status == kUserRaised ? UserCodeError::Kind::kRaised : UserCodeError::Kind::kBadStatus,
           -1, static_cast<double>(status), obs);
    }
    if (!all_finite(out, n_features_, 0.0)) {
      const std::int64_t k = first_non_finite(out, n_features_);
      fail(UserCodeError::Kind::kBadOutput, k, out[k], obs);
    }
  }

 private:
  [[noreturn]] void fail(UserCodeError::Kind kind, std::int64_t index, double value,
                         const double* obs) const {
    UserCodeError e(token_, "features", kind, index, value);
    e.obs.assign(obs, obs + obs_dim_);
    throw e;
  }

  CustomFeaturesFn fn_;
  std::int64_t obs_dim_, n_features_;
  std::uint64_t token_;
};

}  // namespace

std::shared_ptr<FeatureMap> make_custom(CustomFeaturesFn fn, std::int64_t obs_dim,
                                        std::int64_t n_features, std::uint64_t token) {
  return std::make_shared<Custom>(fn, obs_dim, n_features, token);
}

}  // namespace pgfast
