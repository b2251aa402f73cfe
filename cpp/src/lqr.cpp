#include "pgfast/envs/lqr.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/LU>
#include <cmath>
#include <memory>
#include <utility>

#include "pgfast/check.hpp"
#include "pgfast/envs/registry.hpp"
#include "pgfast/envs/vec_env.hpp"

namespace pgfast {

namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const Matrix>;

ConstMap view(const std::vector<double>& data, std::int64_t rows, std::int64_t cols) {
  return ConstMap(data.data(), rows, cols);
}

void check_finite(const std::vector<double>& data, const char* name) {
  for (std::size_t k = 0; k < data.size(); ++k)
    require(std::isfinite(data[k]), name, " must be finite; entry ", k, " is ", data[k]);
}

// The smallest eigenvalue of a symmetric matrix by cyclic Jacobi rotations:
// called once per env construction on small matrices, and a fraction of
// what Eigen's SelfAdjointEigenSolver costs to compile (15 of this file's
// 37 s).
double min_eigenvalue(Matrix a) {
  const Eigen::Index n = a.rows();
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (Eigen::Index p = 0; p < n; ++p)
      for (Eigen::Index q = p + 1; q < n; ++q) off += a(p, q) * a(p, q);
    if (off <= 1e-30 * (1.0 + a.squaredNorm())) break;
    for (Eigen::Index p = 0; p < n; ++p) {
      for (Eigen::Index q = p + 1; q < n; ++q) {
        if (a(p, q) == 0.0) continue;
        const double theta = (a(q, q) - a(p, p)) / (2.0 * a(p, q));
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (Eigen::Index k = 0; k < n; ++k) {  // columns p, q
          const double akp = a(k, p), akq = a(k, q);
          a(k, p) = c * akp - s * akq;
          a(k, q) = s * akp + c * akq;
        }
        for (Eigen::Index k = 0; k < n; ++k) {  // rows p, q
          const double apk = a(p, k), aqk = a(q, k);
          a(p, k) = c * apk - s * aqk;
          a(q, k) = s * apk + c * aqk;
        }
      }
    }
  }
  return a.diagonal().minCoeff();
}

// rho(M) = lim ||M^k||^(1/k) (Gelfand), at k = 2^40 by repeated squaring,
// rescaled each time: avoids Eigen's general eigensolver for one check.
double spectral_radius(const Matrix& m) {
  Matrix s = m;
  double log_norm = 0.0;  // log of the scale divided out of s so far
  constexpr int kSquarings = 40;
  for (int i = 0; i < kSquarings; ++i) {
    const double norm = s.cwiseAbs().maxCoeff();
    if (norm == 0.0) return 0.0;
    s /= norm;
    log_norm = 2.0 * (log_norm + std::log(norm));
    s = s * s;
  }
  const double norm = s.cwiseAbs().maxCoeff();
  if (norm == 0.0) return 0.0;
  return std::exp((log_norm + std::log(norm)) / std::ldexp(1.0, kSquarings));
}

bool is_symmetric(const Matrix& M) {
  return (M - M.transpose()).cwiseAbs().maxCoeff() <= 1e-10 * (1.0 + M.cwiseAbs().maxCoeff());
}

}  // namespace

void LqrConfig::validate() const {
  require(n >= 1, "A must be a non-empty square matrix, got n=", n);
  require(m >= 1, "B must have at least one column, got m=", m);
  const auto N = static_cast<std::size_t>(n), M = static_cast<std::size_t>(m);
  require(A.size() == N * N, "A must have shape (n, n) = (", n, ", ", n, ")");
  require(B.size() == N * M, "B must have shape (n, m) = (", n, ", ", m, ")");
  require(Q.size() == N * N, "Q must have shape (n, n) = (", n, ", ", n, ")");
  require(R.size() == M * M, "R must have shape (m, m) = (", m, ", ", m, ")");
  check_finite(A, "A");
  check_finite(B, "B");
  check_finite(Q, "Q");
  check_finite(R, "R");
  require(std::isfinite(init_std) && init_std >= 0, "init_std must be >= 0, got ", init_std);
  require(std::isfinite(noise_std) && noise_std >= 0, "noise_std must be >= 0, got ", noise_std);
  require(max_episode_steps >= 0, "max_episode_steps must be >= 0 (0 for no limit), got ",
          max_episode_steps);
  const Matrix q = view(Q, n, n), r = view(R, m, m);
  require(is_symmetric(q), "Q must be symmetric");
  require(is_symmetric(r), "R must be symmetric");
  const double q_min = min_eigenvalue(q);
  require(q_min >= -1e-10 * (1.0 + q.cwiseAbs().maxCoeff()),
          "Q must be positive semi-definite, its smallest eigenvalue is ", q_min);
  const double r_min = min_eigenvalue(r);
  require(r_min > 0, "R must be positive definite, its smallest eigenvalue is ", r_min);
}

RiccatiSolution lqr_riccati(const LqrConfig& c, double gamma) {
  c.validate();
  require(gamma > 0 && gamma <= 1, "gamma must be in (0, 1], got ", gamma);
  const std::int64_t n = c.n;
  const double root = std::sqrt(gamma);
  const Matrix A = root * view(c.A, n, n);
  const Matrix B = root * view(c.B, n, c.m);
  const Matrix Q = view(c.Q, n, n);
  const Matrix R = view(c.R, c.m, c.m);
  const Matrix I = Matrix::Identity(n, n);

  // Structure-preserving doubling (Chu, Fan, Lin & Wang 2004): H_k -> P
  // quadratically when (A, B) is stabilisable and (A, Q) detectable.
  Matrix Ak = A;
  Matrix Gk = B * R.llt().solve(B.transpose());
  Matrix Hk = Q;
  RiccatiSolution out;
  constexpr int kMaxIterations = 200;
  bool converged = false;
  for (int it = 1; it <= kMaxIterations && !converged; ++it) {
    Eigen::PartialPivLU<Matrix> W(I + Gk * Hk);
    const Matrix WA = W.solve(Ak);
    const Matrix WG = W.solve(Gk);
    const Matrix H_next = Hk + Ak.transpose() * Hk * WA;
    Gk = Gk + Ak * WG * Ak.transpose();
    Ak = Ak * WA;
    const double change = (H_next - Hk).cwiseAbs().maxCoeff();
    Hk = H_next;
    out.iterations = it;
    require(Hk.allFinite(), "the Riccati iteration diverged: (A, B) is not stabilisable",
            gamma < 1 ? " at this discount" : "");
    converged = change <= 1e-14 * (1.0 + Hk.cwiseAbs().maxCoeff());
  }
  require(converged, "the Riccati iteration did not converge in ", kMaxIterations,
          " doublings; check that (A, B) is stabilisable and (A, Q) detectable");
  const Matrix P = 0.5 * (Hk + Hk.transpose());
  const Matrix K = (R + B.transpose() * P * B).llt().solve(B.transpose() * P * A);
  const Matrix closed_loop = A - B * K;
  const double radius = spectral_radius(closed_loop);
  require(radius < 1.0, "the Riccati solution does not stabilise the system (spectral radius ",
          radius, "); check that (A, Q) is detectable");
  out.P.assign(P.data(), P.data() + P.size());
  // K was computed for the scaled system; it is already the gain for the
  // discounted problem: u = -K x.
  out.K.assign(K.data(), K.data() + K.size());
  return out;
}

LqrModel::LqrModel(LqrConfig config) : c_(std::move(config)) { c_.validate(); }

std::unique_ptr<VecEnvBase> make_lqr_env(LqrConfig config, std::int64_t num_envs,
                                         std::uint64_t seed, int num_threads) {
  return std::make_unique<VecEnv<LqrModel>>(LqrModel(std::move(config)), num_envs, seed,
                                            num_threads);
}

}  // namespace pgfast
