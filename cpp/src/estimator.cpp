#include "pgfast/estimator.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "pgfast/baselines.hpp"
#include "pgfast/check.hpp"
#include "pgfast/collector.hpp"
#include "pgfast/returns.hpp"
#include "pgfast/thread_pool.hpp"
#include "pgfast/workspace.hpp"

namespace pgfast {

namespace {

// G (C x kK) = Phi^T W one row at a time (short rows: G stays in registers),
// or four rows per sweep over G (long rows: a quarter of the traffic to G).
template <int kK>
void transpose_product_fixed(const double* Phi, const double* W, std::int64_t n, std::int64_t C,
                             double* G) {
  for (std::int64_t k = 0; k < C * kK; ++k) G[k] = 0.0;
  std::int64_t t = 0;
  if (C > 16) {
    for (; t + 4 <= n; t += 4) {
      const double* x0 = Phi + t * C;
      const double* x1 = x0 + C;
      const double* x2 = x1 + C;
      const double* x3 = x2 + C;
      const double* w = W + t * kK;
      for (std::int64_t c = 0; c < C; ++c)
        for (int k = 0; k < kK; ++k)
          G[c * kK + k] +=
              (x0[c] * w[k] + x1[c] * w[kK + k]) + (x2[c] * w[2 * kK + k] + x3[c] * w[3 * kK + k]);
    }
  }
  for (; t < n; ++t) {
    const double* x = Phi + t * C;
    const double* w = W + t * kK;
    for (std::int64_t c = 0; c < C; ++c)
      for (int k = 0; k < kK; ++k) G[c * kK + k] += x[c] * w[k];
  }
}

// G (C x K) = Phi^T W, Phi (n x C), W (n x K), all row-major. Narrow
// outputs (few parameters per feature, e.g. Identity features) are faster
// as one pass over the rows than as a GEMM.
void transpose_product(const double* Phi, const double* W, std::int64_t n, std::int64_t C,
                       std::int64_t K, double* G) {
  if (C <= 4096) {
    switch (K) {
      case 1:
        return transpose_product_fixed<1>(Phi, W, n, C, G);
      case 2:
        return transpose_product_fixed<2>(Phi, W, n, C, G);
      case 3:
        return transpose_product_fixed<3>(Phi, W, n, C, G);
      case 4:
        return transpose_product_fixed<4>(Phi, W, n, C, G);
      default:
        break;
    }
  }
  ConstMatMap X(Phi, n, C);
  ConstMatMap Wm(W, n, K);
  MatMap Gm(G, C, K);
  Gm.noalias() = X.transpose() * Wm;
}

// The value function's width: the stored features per step when a value is
// used (checked before its normal equations are allocated), else 0.
std::int64_t value_width(const PolicyModel& p, const EstimatorConfig& cfg) {
  const std::int64_t width = p.rows_per_step() * p.row_width();
  if (!cfg.uses_value()) return 0;
  require(width <= kMaxDense, "the value baseline is a dense ", width, " x ", width,
          " least-squares fit; it supports at most ", kMaxDense, " features");
  return width;
}

}  // namespace

Estimator::Estimator(std::shared_ptr<const PolicyModel> policy, EstimatorConfig config)
    : policy_(std::move(policy)),
      cfg_(config),
      value_(value_width(*policy_, cfg_), config.value_ridge) {
  const PolicyModel& p = *policy_;
  P_ = p.n_params();
  R_ = p.rows_per_step();
  C_ = p.row_width();
  K_ = p.columns();
  D_ = p.action_dim();
  width_ = R_ * C_;
  require(!(cfg_.fisher == FisherKind::kExact && p.kind() == PolicyKind::kGaussian),
          "fisher='exact' is the action-marginalised Fisher of the softmax policies; "
          "use fisher='sampled' for LinearGaussian");
}

// ---- Psi and baselines -----------------------------------------------------

void Estimator::compute_psi(Collector& batch) {
  const std::int64_t rows = batch.rows();
  psi_.resize(static_cast<std::size_t>(rows));
  base_.resize(static_cast<std::size_t>(rows));
  target_.resize(static_cast<std::size_t>(rows));
  // Episodes are independent here: in parallel when the batch is large
  // enough to pay for a wake-up of the pool.
  const std::int64_t m = batch.episodes();
  auto work = [&](std::int64_t begin, std::int64_t end) { compute_psi(batch, begin, end); };
  if (batch.pool() && m >= 2 * kBlockEpisodes) {
    batch.pool()->parallel_for(m, batch.num_threads(), work);
  } else {
    work(0, m);
  }
}

void Estimator::compute_psi(const Collector& batch, std::int64_t j0, std::int64_t j1) {
  const double gamma = cfg_.gamma;
  const bool bootstrap_ok = cfg_.uses_value() && value_.fitted() && cfg_.bootstrap_truncated;
  for (std::int64_t j = j0; j < j1; ++j) {
    const EnvBuffer& b = batch.buffer(j);
    const EpisodeRecord& e = batch.record(j);
    const double* r = b.reward.data() + e.start;
    const std::int64_t o = batch.offset(j);
    double* psi = psi_.data() + o;
    double* base = base_.data() + o;
    double* target = target_.data() + o;
    // A terminated episode ends in a state worth 0, even when it also hit the
    // time limit on that step (Gymnasium then reports both flags).
    const bool bootstrap_here = bootstrap_ok && e.truncated && !e.terminated;
    const double bootstrap = bootstrap_here ? value_(batch.final_phi(j)) : 0.0;
    // Value targets: the state value's reward-to-go, bootstrapped on truncation.
    reward_to_go(r, e.length, gamma, bootstrap, target);
    switch (cfg_.returns) {
      case Returns::kTotal: {
        const double R = discounted_return(r, e.length, gamma, bootstrap);
        std::fill(psi, psi + e.length, R);
        break;
      }
      case Returns::kRewardToGo:
        std::copy(target, target + e.length, psi);
        break;
      case Returns::kDiscountedRewardToGo: {
        double discount = 1.0;
        for (std::int64_t t = 0; t < e.length; ++t, discount *= gamma)
          psi[t] = discount * target[t];
        break;
      }
      case Returns::kGae: {
        for (std::int64_t t = 0; t < e.length; ++t)
          base[t] = value_(b.phi.data() + (e.start + t) * width_);
        gae(r, base, e.length, gamma, cfg_.gae_lambda, bootstrap, psi);
        break;
      }
    }
    std::fill(base, base + e.length, 0.0);
  }
}

void Estimator::advantages(Collector& batch, const double* fixed_baseline) {
  compute_psi(batch);
  double* psi = psi_.data();
  double* base = base_.data();
  if (fixed_baseline) {
    std::fill(base_.begin(), base_.end(), *fixed_baseline);
  } else {
    switch (cfg_.baseline) {
      case Baseline::kNone:
      case Baseline::kOptimal:  // per parameter, in gradient()
        break;
      case Baseline::kMean:
        mean_baseline(batch, psi, base, episode_sum_);
        break;
      case Baseline::kTime:
        time_baseline(batch, psi, base, time_sum_, time_count_);
        break;
      case Baseline::kValue:
        value_baseline(batch, value_, cfg_.gamma, cfg_.returns != Returns::kRewardToGo, width_,
                       base);
        break;
    }
  }
  if (cfg_.normalize_advantages) normalize_advantages(batch, psi, base);
}

void Estimator::fit_value(const Collector& batch) {
  if (cfg_.uses_value()) value_.fit(batch, target_.data());
}

void Estimator::reserve(std::int64_t steps) {
  if (steps <= 0) return;
  if (ws_.empty()) ws_.resize(1);
  for (auto& ws : ws_) {
    ensure(ws.W, steps * R_ * K_);
    ensure(ws.adv, steps);
  }
  ensure(time_sum_, steps);
  ensure(time_count_, steps);
  ensure(ones_, steps);
  ensure(discount_, steps);
}

// ---- gradient ----------------------------------------------------------------

// ws.gj = the flat gradient of episode j with per-step weights.
template <class Policy>
void Estimator::episode_gradient(const Policy& policy, const Collector& batch, std::int64_t j,
                                 const PolicyParams& p, const double* weight, Workspace& ws) const {
  const EnvBuffer& b = batch.buffer(j);
  const EpisodeRecord& e = batch.record(j);
  const StepLayout& L = batch.layout();
  const std::int64_t T = e.length;
  double* W = ensure(ws.W, T * R_ * K_);
  double* extra = ensure(ws.extra, std::max<std::int64_t>(D_, 1));
  policy.score_weights(p, b.out.data() + e.start * L.out, b.act_i.data() + e.start,
                       b.act_c.data() + e.start * L.action, weight, T, W, extra);
  transpose_product(b.phi.data() + e.start * L.phi, W, T * R_, C_, K_, ws.gj.data());
  if (policy_->learn_std())
    for (std::int64_t d = 0; d < D_; ++d) ws.gj[static_cast<std::size_t>(C_ * K_ + d)] = extra[d];
}

void Estimator::gradient(Collector& batch, const PolicyParams& p, double* g, double* stderr_out) {
  sum_blocks(batch, p, cfg_.baseline == Baseline::kOptimal && cfg_.returns == Returns::kTotal, g,
             stderr_out);
}

void Estimator::sum_blocks(Collector& batch, const PolicyParams& p, bool optimal, double* g,
                           double* stderr_out) {
  const std::int64_t m = batch.episodes();
  const std::int64_t P = P_;
  const std::int64_t blocks = (m + kBlockEpisodes - 1) / kBlockEpisodes;
  const int threads = batch.pool() && blocks >= 2 ? batch.num_threads() : 1;
  if (static_cast<int>(ws_.size()) < threads) {
    ws_.resize(static_cast<std::size_t>(threads));
    for (auto& ws : ws_) {
      ensure(ws.W, static_cast<std::int64_t>(ws_[0].W.size()));
      ensure(ws.adv, static_cast<std::int64_t>(ws_[0].adv.size()));
    }
  }
  for (auto& ws : ws_) ensure(ws.gj, P);
  ensure(block_sum_, blocks * P);
  if (stderr_out) ensure(block_sq_, blocks * P);
  std::int64_t longest = 0;
  for (std::int64_t j = 0; j < m; ++j) longest = std::max(longest, batch.record(j).length);
  if (optimal) {
    ensure(ones_, longest);
    std::fill(ones_.begin(), ones_.begin() + longest, 1.0);
    ensure(score_sums_, m * P);
    ensure(s2r_, blocks * P);
    ensure(s2_, blocks * P);
  }

  // Runs fn(block, workspace) for every block, the blocks shared out in
  // contiguous runs, one per thread.
  auto for_blocks = [&](auto&& fn) {
    auto run = [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t tid = begin; tid < end; ++tid) {
        const auto [b0, b1] = chunk_bounds(blocks, threads, static_cast<int>(tid));
        for (std::int64_t blk = b0; blk < b1; ++blk) fn(blk, ws_[static_cast<std::size_t>(tid)]);
      }
    };
    if (threads > 1) {
      batch.pool()->parallel_for(threads, threads, run);
    } else {
      run(0, 1);
    }
  };
  auto episodes_of = [&](std::int64_t blk) {
    return std::make_pair(blk * kBlockEpisodes, std::min(m, (blk + 1) * kBlockEpisodes));
  };

  policy_->visit([&](const auto& policy) {
    if (optimal) {
      // b_k for episode j from the other episodes:
      // b_k = sum_{i != j} s_ik^2 R_i / sum_{i != j} s_ik^2, s_i the score sum.
      for_blocks([&](std::int64_t blk, Workspace& ws) {
        double* s2r = s2r_.data() + blk * P;
        double* s2 = s2_.data() + blk * P;
        std::fill(s2r, s2r + P, 0.0);
        std::fill(s2, s2 + P, 0.0);
        const auto [j0, j1] = episodes_of(blk);
        for (std::int64_t j = j0; j < j1; ++j) {
          episode_gradient(policy, batch, j, p, ones_.data(), ws);
          const double R = psi_[static_cast<std::size_t>(batch.offset(j))];
          double* s = score_sums_.data() + j * P;
          for (std::int64_t k = 0; k < P; ++k) {
            s[k] = ws.gj[static_cast<std::size_t>(k)];
            s2r[k] += s[k] * s[k] * R;
            s2[k] += s[k] * s[k];
          }
        }
      });
      // Totals in block order, kept in block 0's row.
      for (std::int64_t blk = 1; blk < blocks; ++blk)
        for (std::int64_t k = 0; k < P; ++k) {
          s2r_[static_cast<std::size_t>(k)] += s2r_[static_cast<std::size_t>(blk * P + k)];
          s2_[static_cast<std::size_t>(k)] += s2_[static_cast<std::size_t>(blk * P + k)];
        }
    }
    for_blocks([&](std::int64_t blk, Workspace& ws) {
      double* sum = block_sum_.data() + blk * P;
      double* sq = stderr_out ? block_sq_.data() + blk * P : nullptr;
      std::fill(sum, sum + P, 0.0);
      if (sq) std::fill(sq, sq + P, 0.0);
      const auto [j0, j1] = episodes_of(blk);
      for (std::int64_t j = j0; j < j1; ++j) {
        double* gj = ws.gj.data();
        if (optimal) {
          const double R = psi_[static_cast<std::size_t>(batch.offset(j))];
          const double* s = score_sums_.data() + j * P;
          for (std::int64_t k = 0; k < P; ++k) {
            const double den = s2_[static_cast<std::size_t>(k)] - s[k] * s[k];
            const double b =
                den > 0 ? (s2r_[static_cast<std::size_t>(k)] - s[k] * s[k] * R) / den : 0.0;
            gj[k] = s[k] * (R - b);
          }
        } else {
          // Psi - b per episode, in the (parallel) gradient pass.
          const std::int64_t o = batch.offset(j), T = batch.record(j).length;
          double* adv = ensure(ws.adv, T);
          for (std::int64_t t = 0; t < T; ++t)
            adv[t] = psi_[static_cast<std::size_t>(o + t)] - base_[static_cast<std::size_t>(o + t)];
          episode_gradient(policy, batch, j, p, adv, ws);
        }
        for (std::int64_t k = 0; k < P; ++k) sum[k] += gj[k];
        if (sq)
          for (std::int64_t k = 0; k < P; ++k) sq[k] += gj[k] * gj[k];
      }
    });
  });

  std::fill(g, g + P, 0.0);
  for (std::int64_t blk = 0; blk < blocks; ++blk)
    for (std::int64_t k = 0; k < P; ++k) g[k] += block_sum_[static_cast<std::size_t>(blk * P + k)];
  const double inv_m = 1.0 / static_cast<double>(m);
  for (std::int64_t k = 0; k < P; ++k) g[k] *= inv_m;
  if (stderr_out) {
    for (std::int64_t k = 0; k < P; ++k) {
      double sq = 0.0;
      for (std::int64_t blk = 0; blk < blocks; ++blk)
        sq += block_sq_[static_cast<std::size_t>(blk * P + k)];
      const double var =
          m > 1 ? (sq - static_cast<double>(m) * g[k] * g[k]) / static_cast<double>(m - 1) : 0.0;
      stderr_out[k] = std::sqrt(std::max(var, 0.0) * inv_m);
    }
  }
}

}  // namespace pgfast
