// Feature maps phi(obs): one row of observation in, one row of n_features
// values out, with no allocation (the engine calls them on every step).
//
// Bounded maps (Fourier, RBF, TileCoding) first rescale each dimension to
// [0, 1] with the given low/high and clip values outside; for unbounded
// dimensions (CartPole's velocities) choose bounds that cover the values a
// good policy visits, e.g. +-3 for cart velocity and +-3.5 for pole angular
// velocity.
#ifndef PGFAST_FEATURES_HPP_
#define PGFAST_FEATURES_HPP_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pgfast {

class FeatureMap {
 public:
  virtual ~FeatureMap() = default;
  virtual std::string kind() const = 0;
  // Length of the observation row the map reads (1 for OneHot).
  virtual std::int64_t obs_dim() const = 0;
  virtual std::int64_t n_features() const = 0;
  // out[0..n_features) = phi(obs[0..obs_dim)). Observations are trusted:
  // the engine produces them; Python input goes through check_obs first.
  virtual void compute(const double* obs, double* out) const = 0;
  // Throws std::invalid_argument if obs is not a valid input row.
  virtual void check_obs(const double* obs, std::int64_t row) const;
};

// [obs, 1]: the observation and a bias.
std::shared_ptr<FeatureMap> make_identity(std::int64_t dim);
// e_s for a discrete observation s in [0, n).
std::shared_ptr<FeatureMap> make_one_hot(std::int64_t n);
// matrix[s] for a discrete observation s: hand-made features of a finite
// state space (state aliasing); matrix (n_states x n_features) row-major.
std::shared_ptr<FeatureMap> make_table(std::vector<double> matrix, std::int64_t n_states,
                                       std::int64_t n_features);
// Every monomial of total degree <= degree (the constant 1 included), in
// graded order: 1, x0, x1, ..., x0^2, x0 x1, ...
std::shared_ptr<FeatureMap> make_polynomial(std::int64_t dim, std::int64_t degree);
// cos(pi c . x01) for every c in {0..order}^dim (Konidaris et al. 2011),
// x01 the observation rescaled to [0, 1]: (order + 1)^dim features.
std::shared_ptr<FeatureMap> make_fourier(std::int64_t order, std::vector<double> low,
                                         std::vector<double> high);
// exp(-|x01 - c|^2 / (2 width^2)) for centres c on a grid of centers_per_dim
// points per dimension over [0, 1], then a bias: centers_per_dim^dim + 1.
std::shared_ptr<FeatureMap> make_rbf(std::int64_t centers_per_dim, std::vector<double> low,
                                     std::vector<double> high, double width);
// tilings offset grids of tiles_per_dim tiles per dimension (plus one to
// cover the offsets); one active binary feature per tiling:
// tilings * (tiles_per_dim + 1)^dim features.
std::shared_ptr<FeatureMap> make_tile_coding(std::int64_t tilings, std::int64_t tiles_per_dim,
                                             std::vector<double> low, std::vector<double> high);

// A user's map compiled by numba (python/pgfast/native.py): fn(obs, out)
// returns kUserOk or kUserRaised (user_code.hpp). Failures and non-finite
// features throw UserCodeError naming `token`. In custom_features.cpp.
using CustomFeaturesFn = std::int32_t (*)(const double* obs, double* out);
std::shared_ptr<FeatureMap> make_custom(CustomFeaturesFn fn, std::int64_t obs_dim,
                                        std::int64_t n_features, std::uint64_t token);

}  // namespace pgfast

#endif  // PGFAST_FEATURES_HPP_
