#include "pgfast/features.hpp"

#include <algorithm>
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
    require(high.size() == low_.size(), "low and high must have the same length, got ", low_.size(),
            " and ", high.size());
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
    return u < 0.0 ? 0.0 : (u > 1.0 ? 1.0 : u);  // clips inf too; NaN stays NaN
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
    require(obs[0] == std::floor(obs[0]) && obs[0] >= 0 && obs[0] < static_cast<double>(n_), "obs[",
            row, "] must be an integer in [0, ", n_, ") for OneHot features, got ", obs[0]);
  }

 private:
  std::int64_t n_;
};

class Table final : public FeatureMap {
 public:
  Table(std::vector<double> matrix, std::int64_t n_states, std::int64_t n_features)
      : matrix_(std::move(matrix)), S_(n_states), F_(n_features) {
    require(n_states >= 1, "the table needs at least one state, got ", n_states);
    require(n_features >= 1, "the table needs at least one feature, got ", n_features);
    require(n_states <= kMaxFeatures * 16 / n_features, "the table is too large (", n_states, " x ",
            n_features, ")");
    require(static_cast<std::int64_t>(matrix_.size()) == n_states * n_features,
            "the table must have ", n_states * n_features, " values, got ", matrix_.size());
    for (std::size_t k = 0; k < matrix_.size(); ++k)
      require(std::isfinite(matrix_[k]), "matrix[", k / static_cast<std::size_t>(n_features), ", ",
              k % static_cast<std::size_t>(n_features), "] must be finite, got ", matrix_[k]);
  }
  std::string kind() const override { return "table"; }
  std::int64_t obs_dim() const override { return 1; }
  std::int64_t n_features() const override { return F_; }
  void compute(const double* obs, double* out) const override {
    const double* row = matrix_.data() + static_cast<std::int64_t>(obs[0]) * F_;
    for (std::int64_t k = 0; k < F_; ++k) out[k] = row[k];
  }
  void check_obs(const double* obs, std::int64_t row) const override {
    require(obs[0] == std::floor(obs[0]) && obs[0] >= 0 && obs[0] < static_cast<double>(S_), "obs[",
            row, "] must be an integer in [0, ", S_, ") for Table features, got ", obs[0]);
  }

 private:
  std::vector<double> matrix_;
  std::int64_t S_, F_;
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
          require(static_cast<std::int64_t>(parent_.size()) < kMaxFeatures, "Polynomial(dim=", dim,
                  ", degree=", degree, ") has too many features");
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

// cos(pi c.x) = Re prod_j e^{i pi c_j x_j}: the features are the real parts
// of a product tree built one dimension per level, so each costs a couple of
// multiplies instead of a libm cos (about 20x faster at order 3 on 4 dims).
//
// Storage: `out` itself, since the row of features is the only memory that
// grows with the feature count, and compute() must neither allocate nor keep
// state (several threads share a map). Level L holds m = (order + 1)^L
// complex partial products, real parts in out[0, m) and imaginary parts in
// out[n - m, n); the two ends stay apart until the last level, as
// m <= n / (order + 1) <= n / 2 before it. Level L + 1 is level L times
// e^{i pi c x_L}, c = 0..order, in blocks of m, which makes the first
// dimension fastest (feature k = sum_j c_j (order + 1)^j, the layout
// documented in Python). Block 0 is level L itself, so its real parts stay
// where they are; only the block c = order lands on level L's imaginary
// parts, element for element, so it is computed last, in place.
//
// e^{i pi c x_L} is rotated up from one cos/sin of pi x_L by angle addition,
// whose error grows by about an ulp a step; the direct formula's rounding of
// its argument pi c.x grows with c the same way. Measured over random,
// boundary and clipped observations up to order 5 on 4 dims: at most 9.9e-15
// from cos(pi * dot(c, x)) in double, but against a quad-precision
// evaluation the product is off by at most 4.2e-15 and the direct formula by
// 1.0e-14 (at order 31: 1.6e-14 and 5.6e-14).
class Fourier final : public FeatureMap {
 public:
  Fourier(std::int64_t order, std::vector<double> low, std::vector<double> high)
      : box_(std::move(low), std::move(high)), order_(order) {
    require(order >= 0, "order must be >= 0, got ", order);
    n_ = checked_power(order + 1, box_.dim(), "Fourier");
  }
  std::string kind() const override { return "fourier"; }
  std::int64_t obs_dim() const override { return box_.dim(); }
  std::int64_t n_features() const override { return n_; }
  void compute(const double* obs, double* out) const override {
    // Order 0 is the constant alone (n = 1), where the two ends would meet.
    if (order_ == 0) {
      out[0] = 1.0;
      return;
    }
    const std::int64_t last = box_.dim() - 1, n = n_, blocks = order_ + 1;
    out[0] = 1.0;  // level 0: the empty product 1 + 0i
    out[n - 1] = 0.0;
    std::int64_t m = 1;
    for (std::int64_t j = 0; j <= last; ++j, m *= blocks) {
      const double angle = kPi * box_.unit(obs, j);
      const double cos1 = std::cos(angle), sin1 = std::sin(angle);
      double cos_c = 1.0, sin_c = 0.0;
      const auto rotate = [&] {
        const double t = cos_c * cos1 - sin_c * sin1;
        sin_c = cos_c * sin1 + sin_c * cos1;
        cos_c = t;
      };
      const double* re = out;
      double* im = out + (n - m);
      if (j == last) {  // real parts only
        for (std::int64_t c = 1; c < order_; ++c) {
          rotate();
          double* re_c = out + c * m;
          for (std::int64_t i = 0; i < m; ++i) re_c[i] = re[i] * cos_c - im[i] * sin_c;
        }
        rotate();
        for (std::int64_t i = 0; i < m; ++i) im[i] = re[i] * cos_c - im[i] * sin_c;
        return;
      }
      double* im_next = out + (n - m * blocks);
      for (std::int64_t i = 0; i < m; ++i) im_next[i] = im[i];
      // Separate loops for the disjoint blocks and the in-place one let the
      // compiler vectorise both.
      for (std::int64_t c = 1; c < order_; ++c) {
        rotate();
        double* re_c = out + c * m;
        double* im_c = im_next + c * m;
        for (std::int64_t i = 0; i < m; ++i) {
          const double r = re[i], s = im[i];
          re_c[i] = r * cos_c - s * sin_c;
          im_c[i] = r * sin_c + s * cos_c;
        }
      }
      rotate();
      double* re_c = out + order_ * m;
      for (std::int64_t i = 0; i < m; ++i) {
        const double r = re[i], s = im[i];
        re_c[i] = r * cos_c - s * sin_c;
        im[i] = r * sin_c + s * cos_c;
      }
    }
  }

 private:
  Box01 box_;
  std::int64_t order_;
  std::int64_t n_ = 0;
};

// exp(-|x - c|^2 / (2 w^2)) = prod_j exp(-(x_j - c_j)^2 / (2 w^2)): a product
// tree over the dimensions as in Fourier (level L in out[0, k^L); block c of
// level L + 1 is level L times the factor of centre c; block 0 is scaled last,
// in place), so centers_per_dim * dim exps instead of one per centre (about
// 24x faster at 5 centres on 4 dims). The product of rounded factors and the
// exp of the rounded sum differ in the last bits: measured, at most 4.4e-16
// (the values are <= 1). Relative to a quad-precision evaluation both are
// off by a few ulps times 1 + a, a = |x - c|^2 / (2 w^2) (the rounding of
// the exponent): at most 2.2 ulp (1 + a) for the product, 2.7 for the sum.
class Rbf final : public FeatureMap {
 public:
  Rbf(std::int64_t centers_per_dim, std::vector<double> low, std::vector<double> high, double width)
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
    out[0] = 1.0;
    std::int64_t m = 1;
    for (std::int64_t j = 0; j < dim; ++j) {
      const double x = box_.unit(obs, j);
      // Blocks 1..k-1 read block 0, so it is scaled last, in place.
      for (std::int64_t c = k_ - 1; c >= 0; --c) {
        const double d = x - (offset + static_cast<double>(c) * spacing);
        const double factor = std::exp(-(d * d) * inv_two_var_);
        if (c == 0) {
          for (std::int64_t i = 0; i < m; ++i) out[i] *= factor;
        } else {
          double* block = out + c * m;
          for (std::int64_t i = 0; i < m; ++i) block[i] = out[i] * factor;
        }
      }
      m *= k_;
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
    // Asymmetric offsets (1, 3, 5, ...) * t / tilings of a tile, as Sutton &
    // Barto (2018, sec. 9.5.4) recommend. Tabulated, since an integer and a
    // floating division per tiling and dimension were most of the index
    // computation; the table has dim / (tiles_per_dim + 1)^dim <= 1/2 as
    // many values as a row of features.
    const std::int64_t dim = box_.dim();
    shift_.resize(static_cast<std::size_t>(tilings * dim));
    for (std::int64_t t = 0; t < tilings; ++t)
      for (std::int64_t j = 0; j < dim; ++j)
        shift_[static_cast<std::size_t>(t * dim + j)] =
            static_cast<double>((2 * j + 1) * t % tilings) / static_cast<double>(tilings);
  }
  std::string kind() const override { return "tile_coding"; }
  std::int64_t obs_dim() const override { return box_.dim(); }
  std::int64_t n_features() const override { return tilings_ * per_tiling_; }
  void compute(const double* obs, double* out) const override {
    // The zero fill (a memset) is most of the cost at any size worth timing:
    // 8 tilings of 8 tiles on 4 dims are 52488 features, 410 KiB a row, for
    // 8 active ones. It cannot go: the caller's row holds the last step's.
    std::fill_n(out, n_features(), 0.0);
    const std::int64_t dim = box_.dim();
    const double tiles = static_cast<double>(tiles_);
    double scaled[Box01::kMaxDim];
    for (std::int64_t j = 0; j < dim; ++j) scaled[j] = box_.unit(obs, j) * tiles;
    const double* shift = shift_.data();
    for (std::int64_t t = 0; t < tilings_; ++t, shift += dim) {
      std::int64_t index = 0, stride = 1;
      for (std::int64_t j = 0; j < dim; ++j) {
        // v is in [0, tiles + 1); testing it before the conversion, rather
        // than clamping after, also keeps a NaN observation (trusted input,
        // but an environment can diverge) inside the row: converting NaN is
        // UB.
        const double v = scaled[j] + shift[j];
        const std::int64_t cell = v < tiles ? static_cast<std::int64_t>(v) : tiles_;
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
  std::vector<double> shift_;  // shift_[t * dim + j]: tiling t's offset, in tiles
};

}  // namespace

void FeatureMap::check_obs(const double* obs, std::int64_t row) const {
  for (std::int64_t k = 0; k < obs_dim(); ++k)
    require(!std::isnan(obs[k]), "obs[", row, ", ", k, "] is NaN");
}

std::shared_ptr<FeatureMap> make_identity(std::int64_t dim) {
  return std::make_shared<Identity>(dim);
}
std::shared_ptr<FeatureMap> make_one_hot(std::int64_t n) { return std::make_shared<OneHot>(n); }
std::shared_ptr<FeatureMap> make_table(std::vector<double> matrix, std::int64_t n_states,
                                       std::int64_t n_features) {
  return std::make_shared<Table>(std::move(matrix), n_states, n_features);
}
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
