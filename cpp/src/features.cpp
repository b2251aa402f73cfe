#include "pgfast/features.hpp"

#include <cmath>
#include <limits>
#include <utility>

#include "pgfast/check.hpp"

namespace pgfast {

namespace {

constexpr double kPi = 3.141592653589793;
// Feature counts beyond this are a configuration mistake (and would not fit
// in memory as a parameter matrix anyway).
constexpr std::int64_t kMaxFeatures = std::int64_t{1} << 24;

std::int64_t checked_power(std::int64_t base, std::int64_t exponent, const char* what) {
  std::int64_t result = 1;
  for (std::int64_t k = 0; k < exponent; ++k) {
    require(result <= kMaxFeatures / base, what, " would have more than ", kMaxFeatures,
            " features (", base, "^", exponent, ")");
    result *= base;
  }
  return result;
}

// Validated [low, high] box and the rescaling to [0, 1] with clipping.
class Box01 {
 public:
  // Grids over more dimensions than this cannot have a sane feature count.
  static constexpr std::int64_t kMaxDim = 32;

  Box01(std::vector<double> low, std::vector<double> high) : low_(std::move(low)) {
    require(!low_.empty(), "low and high must have at least one entry");
    require(static_cast<std::int64_t>(low_.size()) <= kMaxDim, "low and high may have at most ",
            kMaxDim, " entries, got ", low_.size());
    require(high.size() == low_.size(), "low and high must have the same length, got ",
            low_.size(), " and ", high.size());
    inv_width_.resize(low_.size());
    for (std::size_t k = 0; k < low_.size(); ++k) {
      require(std::isfinite(low_[k]) && std::isfinite(high[k]), "low[", k, "] and high[", k,
              "] must be finite, got ", low_[k], " and ", high[k],
              " (choose bounds covering the values visited)");
      require(low_[k] < high[k], "low[", k, "] must be < high[", k, "], got ", low_[k],
              " >= ", high[k]);
      inv_width_[k] = 1.0 / (high[k] - low_[k]);
    }
  }
  std::int64_t dim() const { return static_cast<std::int64_t>(low_.size()); }
  double unit(const double* obs, std::int64_t k) const {
    const auto j = static_cast<std::size_t>(k);
    const double u = (obs[k] - low_[j]) * inv_width_[j];
    return u < 0.0 ? 0.0 : (u > 1.0 ? 1.0 : u);  // NaN-free: clips inf too
  }
  // x[0..dim) = the observation rescaled to [0, 1].
  void unit_all(const double* obs, double* x) const {
    for (std::int64_t k = 0; k < dim(); ++k) x[k] = unit(obs, k);
  }

 private:
  std::vector<double> low_, inv_width_;
};

class Identity final : public FeatureMap {
 public:
  explicit Identity(std::int64_t dim) : dim_(dim) {
    require(dim >= 1 && dim < kMaxFeatures, "dim must be >= 1, got ", dim);
  }
  std::string kind() const override { return "identity"; }
  std::int64_t obs_dim() const override { return dim_; }
  std::int64_t n_features() const override { return dim_ + 1; }
  void compute(const double* obs, double* out) const override {
    for (std::int64_t k = 0; k < dim_; ++k) out[k] = obs[k];
    out[dim_] = 1.0;
  }

 private:
  std::int64_t dim_;
};

class OneHot final : public FeatureMap {
 public:
  explicit OneHot(std::int64_t n) : n_(n) {
    require(n >= 1 && n <= kMaxFeatures, "n must be in [1, ", kMaxFeatures, "], got ", n);
  }
  std::string kind() const override { return "one_hot"; }
  std::int64_t obs_dim() const override { return 1; }
  std::int64_t n_features() const override { return n_; }
  void compute(const double* obs, double* out) const override {
    for (std::int64_t k = 0; k < n_; ++k) out[k] = 0.0;
    out[static_cast<std::int64_t>(obs[0])] = 1.0;
  }
  void check_obs(const double* obs, std::int64_t row) const override {
    require(obs[0] == std::floor(obs[0]) && obs[0] >= 0 && obs[0] < static_cast<double>(n_),
            "obs[", row, "] must be an integer in [0, ", n_, ") for OneHot features, got ",
            obs[0]);
  }

 private:
  std::int64_t n_;
};

class Polynomial final : public FeatureMap {
 public:
  Polynomial(std::int64_t dim, std::int64_t degree) : dim_(dim) {
    require(dim >= 1, "dim must be >= 1, got ", dim);
    require(degree >= 0 && degree <= 64, "degree must be in [0, 64], got ", degree);
    // Monomials of degree d extend those of degree d-1 by one variable with
    // index >= the last one used, which enumerates each monomial once.
    parent_ = {-1};
    var_ = {-1};
    std::vector<std::int64_t> last_var = {0};
    std::int64_t begin = 0, end = 1;
    for (std::int64_t d = 1; d <= degree; ++d) {
      for (std::int64_t m = begin; m < end; ++m) {
        for (std::int64_t v = last_var[static_cast<std::size_t>(m)]; v < dim; ++v) {
          require(static_cast<std::int64_t>(parent_.size()) < kMaxFeatures,
                  "Polynomial(dim=", dim, ", degree=", degree, ") has too many features");
          parent_.push_back(m);
          var_.push_back(v);
          last_var.push_back(v);
        }
      }
      begin = end;
      end = static_cast<std::int64_t>(parent_.size());
    }
  }
  std::string kind() const override { return "polynomial"; }
  std::int64_t obs_dim() const override { return dim_; }
  std::int64_t n_features() const override { return static_cast<std::int64_t>(parent_.size()); }
  void compute(const double* obs, double* out) const override {
    out[0] = 1.0;
    for (std::size_t m = 1; m < parent_.size(); ++m)
      out[m] = out[static_cast<std::size_t>(parent_[m])] * obs[var_[m]];
  }

 private:
  std::int64_t dim_;
  std::vector<std::int64_t> parent_, var_;
};

class Fourier final : public FeatureMap {
 public:
  Fourier(std::int64_t order, std::vector<double> low, std::vector<double> high)
      : box_(std::move(low), std::move(high)) {
    require(order >= 0, "order must be >= 0, got ", order);
    const std::int64_t dim = box_.dim();
    n_ = checked_power(order + 1, dim, "Fourier");
    // Row k of coef_ is c_k in base (order + 1), first dimension fastest.
    coef_.resize(static_cast<std::size_t>(n_ * dim));
    for (std::int64_t k = 0; k < n_; ++k) {
      std::int64_t rest = k;
      for (std::int64_t j = 0; j < dim; ++j) {
        coef_[static_cast<std::size_t>(k * dim + j)] = static_cast<double>(rest % (order + 1));
        rest /= order + 1;
      }
    }
  }
  std::string kind() const override { return "fourier"; }
  std::int64_t obs_dim() const override { return box_.dim(); }
  std::int64_t n_features() const override { return n_; }
  void compute(const double* obs, double* out) const override {
    const std::int64_t dim = box_.dim();
    double x[Box01::kMaxDim];
    box_.unit_all(obs, x);
    for (std::int64_t k = 0; k < n_; ++k) {
      const double* c = coef_.data() + k * dim;
      double dot = 0.0;
      for (std::int64_t j = 0; j < dim; ++j) dot += c[j] * x[j];
      out[k] = std::cos(kPi * dot);
    }
  }

 private:
  Box01 box_;
  std::int64_t n_ = 0;
  std::vector<double> coef_;
};

class Rbf final : public FeatureMap {
 public:
  Rbf(std::int64_t centers_per_dim, std::vector<double> low, std::vector<double> high,
      double width)
      : box_(std::move(low), std::move(high)), k_(centers_per_dim) {
    require(centers_per_dim >= 1, "centers_per_dim must be >= 1, got ", centers_per_dim);
    require(std::isfinite(width) && width > 0, "width must be > 0, got ", width);
    n_centres_ = checked_power(centers_per_dim, box_.dim(), "RBF");
    inv_two_var_ = 1.0 / (2.0 * width * width);
  }
  std::string kind() const override { return "rbf"; }
  std::int64_t obs_dim() const override { return box_.dim(); }
  std::int64_t n_features() const override { return n_centres_ + 1; }
  void compute(const double* obs, double* out) const override {
    const std::int64_t dim = box_.dim();
    const double spacing = k_ > 1 ? 1.0 / static_cast<double>(k_ - 1) : 0.0;
    const double offset = k_ > 1 ? 0.0 : 0.5;
    double x[Box01::kMaxDim];
    box_.unit_all(obs, x);
    for (std::int64_t c = 0; c < n_centres_; ++c) {
      std::int64_t rest = c;
      double sq = 0.0;
      for (std::int64_t j = 0; j < dim; ++j) {
        const double centre = offset + static_cast<double>(rest % k_) * spacing;
        rest /= k_;
        const double d = x[j] - centre;
        sq += d * d;
      }
      out[c] = std::exp(-sq * inv_two_var_);
    }
    out[n_centres_] = 1.0;
  }

 private:
  Box01 box_;
  std::int64_t k_;
  std::int64_t n_centres_ = 0;
  double inv_two_var_ = 0.0;
};

class TileCoding final : public FeatureMap {
 public:
  TileCoding(std::int64_t tilings, std::int64_t tiles_per_dim, std::vector<double> low,
             std::vector<double> high)
      : box_(std::move(low), std::move(high)), tilings_(tilings), tiles_(tiles_per_dim) {
    require(tilings >= 1, "tilings must be >= 1, got ", tilings);
    require(tiles_per_dim >= 1, "tiles_per_dim must be >= 1, got ", tiles_per_dim);
    per_tiling_ = checked_power(tiles_per_dim + 1, box_.dim(), "TileCoding");
    require(per_tiling_ <= kMaxFeatures / tilings, "TileCoding has too many features");
  }
  std::string kind() const override { return "tile_coding"; }
  std::int64_t obs_dim() const override { return box_.dim(); }
  std::int64_t n_features() const override { return tilings_ * per_tiling_; }
  void compute(const double* obs, double* out) const override {
    const std::int64_t n = n_features(), dim = box_.dim();
    for (std::int64_t k = 0; k < n; ++k) out[k] = 0.0;
    const double tiles = static_cast<double>(tiles_);
    for (std::int64_t t = 0; t < tilings_; ++t) {
      std::int64_t index = 0, stride = 1;
      for (std::int64_t j = 0; j < dim; ++j) {
        // Asymmetric offsets (1, 3, 5, ...) * t / tilings of a tile, as
        // Sutton & Barto (2018, sec. 9.5.4) recommend.
        const double shift = static_cast<double>((2 * j + 1) * t % tilings_) / static_cast<double>(tilings_);
        auto cell = static_cast<std::int64_t>(box_.unit(obs, j) * tiles + shift);
        if (cell > tiles_) cell = tiles_;
        index += cell * stride;
        stride *= tiles_ + 1;
      }
      out[t * per_tiling_ + index] = 1.0;
    }
  }

 private:
  Box01 box_;
  std::int64_t tilings_, tiles_;
  std::int64_t per_tiling_ = 0;
};

}  // namespace

void FeatureMap::check_obs(const double* obs, std::int64_t row) const {
  for (std::int64_t k = 0; k < obs_dim(); ++k)
    require(!std::isnan(obs[k]), "obs[", row, ", ", k, "] is NaN");
}

std::shared_ptr<FeatureMap> make_identity(std::int64_t dim) { return std::make_shared<Identity>(dim); }
std::shared_ptr<FeatureMap> make_one_hot(std::int64_t n) { return std::make_shared<OneHot>(n); }
std::shared_ptr<FeatureMap> make_polynomial(std::int64_t dim, std::int64_t degree) {
  return std::make_shared<Polynomial>(dim, degree);
}
std::shared_ptr<FeatureMap> make_fourier(std::int64_t order, std::vector<double> low,
                                         std::vector<double> high) {
  return std::make_shared<Fourier>(order, std::move(low), std::move(high));
}
std::shared_ptr<FeatureMap> make_rbf(std::int64_t centers_per_dim, std::vector<double> low,
                                     std::vector<double> high, double width) {
  return std::make_shared<Rbf>(centers_per_dim, std::move(low), std::move(high), width);
}
std::shared_ptr<FeatureMap> make_tile_coding(std::int64_t tilings, std::int64_t tiles_per_dim,
                                             std::vector<double> low, std::vector<double> high) {
  return std::make_shared<TileCoding>(tilings, tiles_per_dim, std::move(low), std::move(high));
}

}  // namespace pgfast
