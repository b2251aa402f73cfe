#include "pgfast/estimator.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>
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
std::int64_t checked_value_width(const PolicyModel& p, const EstimatorConfig& cfg) {
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
      uses_value_(cfg_.uses_value()),
      value_(checked_value_width(*policy_, cfg_), config.value_ridge) {
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
  ensure(psi_, rows);
  ensure(base_, rows);
  ensure(target_, rows);
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

// ---- rounds ------------------------------------------------------------------

void Estimator::begin(Collector& shard, std::int64_t batch_episodes, const double* fixed_baseline) {
  const std::int64_t first = shard.first_episode(), count = shard.episodes();
  require(count >= 1 && batch_episodes >= first + count && first % kBlockEpisodes == 0 &&
              (count % kBlockEpisodes == 0 || first + count == batch_episodes),
          "a shard holds whole blocks of ", kBlockEpisodes, " episodes of its batch; got episodes ",
          first, "..", first + count - 1, " of ", batch_episodes);
  batch_episodes_ = batch_episodes;
  tree_.reset((batch_episodes + kBlockEpisodes - 1) / kBlockEpisodes);
  fixed_baseline_ = fixed_baseline != nullptr;
  compute_psi(shard);
  if (fixed_baseline) std::fill(base_.begin(), base_.begin() + shard.rows(), *fixed_baseline);
  if (cfg_.baseline == Baseline::kValue && !fixed_baseline)
    value_baseline(shard, value_, cfg_.gamma, cfg_.returns != Returns::kRewardToGo, width_,
                   base_.data());
  rounds_.clear();
  const bool batch_baseline =
      !fixed_baseline && (cfg_.baseline == Baseline::kMean || cfg_.baseline == Baseline::kTime);
  if (batch_baseline) rounds_.push_back(Round::kBaseline);
  if (cfg_.normalize_advantages) {
    rounds_.push_back(Round::kAdvantageMean);
    rounds_.push_back(Round::kAdvantageSpread);
  }
  if (optimal()) rounds_.push_back(Round::kOptimal);
  rounds_.push_back(Round::kFinal);
  if (optimal()) {
    // Score sums weigh every step by 1.
    std::int64_t longest = 0;
    for (std::int64_t j = 0; j < count; ++j) longest = std::max(longest, shard.record(j).length);
    ensure(score_sums_, count * P_);
    if (static_cast<std::int64_t>(ones_.size()) < longest) {
      ones_.resize(static_cast<std::size_t>(longest));
      std::fill(ones_.begin(), ones_.end(), 1.0);
    }
  }
  if (batch_baseline) ensure(episode_sum_, count);
}

bool Estimator::optimal() const {
  return !fixed_baseline_ && cfg_.baseline == Baseline::kOptimal && cfg_.returns == Returns::kTotal;
}

std::pair<std::int64_t, std::int64_t> Estimator::block_episodes(const Collector& shard,
                                                                std::int64_t k) const {
  const std::int64_t first = shard.first_episode();
  const std::int64_t j0 = k * kBlockEpisodes - first;
  const std::int64_t j1 = std::min(batch_episodes_, (k + 1) * kBlockEpisodes) - first;
  return {j0, j1};
}

template <class Block>
void Estimator::for_blocks(Collector& shard, Block&& block, TreeNodes& out) {
  const std::int64_t b0 = shard.first_episode() / kBlockEpisodes;
  const std::int64_t b1 = b0 + (shard.episodes() + kBlockEpisodes - 1) / kBlockEpisodes;
  const std::int64_t blocks = b1 - b0;
  const int threads = shard.pool() && blocks >= 2 ? shard.num_threads() : 1;
  if (static_cast<int>(ws_.size()) < threads) {
    ws_.resize(static_cast<std::size_t>(threads));
    for (auto& ws : ws_) {
      ensure(ws.W, static_cast<std::int64_t>(ws_[0].W.size()));
      ensure(ws.adv, static_cast<std::int64_t>(ws_[0].adv.size()));
    }
  }
  out.clear();
  if (threads == 1) {
    tree_.nodes(b0, b1, [&](std::int64_t k, std::vector<double>& v) { block(k, v, ws_[0]); }, out);
    return;
  }
  // Each thread its own tree (they share only the block count) and a
  // contiguous run of blocks; their nodes are merged on this thread.
  if (static_cast<int>(trees_.size()) < threads) trees_.resize(static_cast<std::size_t>(threads));
  auto run = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t tid = begin; tid < end; ++tid) {
      const auto [c0, c1] = chunk_bounds(blocks, threads, static_cast<int>(tid));
      Workspace& ws = ws_[static_cast<std::size_t>(tid)];
      PairwiseTree& tree = trees_[static_cast<std::size_t>(tid)];
      tree.reset(tree_.blocks());
      ws.nodes.clear();
      tree.nodes(
          b0 + c0, b0 + c1, [&](std::int64_t k, std::vector<double>& v) { block(k, v, ws); },
          ws.nodes);
    }
  };
  shard.pool()->parallel_for(threads, threads, run);
  if (static_cast<int>(parts_.size()) < threads) parts_.resize(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    parts_[static_cast<std::size_t>(t)].clear();
    parts_[static_cast<std::size_t>(t)].append(ws_[static_cast<std::size_t>(t)].nodes);
  }
  tree_.merge(b0, b1, parts_.data(), static_cast<std::size_t>(threads), out);
}

void Estimator::local(Round r, Collector& shard, const PolicyParams& p, const FinalParts& parts,
                      TreeNodes& out) {
  if (r == Round::kFinal) {
    const FinalLayout at = final_layout(parts);
    for_blocks(
        shard,
        [&](std::int64_t k, std::vector<double>& v, Workspace& ws) {
          block_final(shard, p, parts, at, k, v, ws);
        },
        out);
  } else {
    for_blocks(
        shard,
        [&](std::int64_t k, std::vector<double>& v, Workspace& ws) {
          block_stats(r, shard, p, k, v, ws);
        },
        out);
  }
}

void Estimator::block_stats(Round r, const Collector& shard, const PolicyParams& p, std::int64_t k,
                            std::vector<double>& out, Workspace& ws) {
  const auto [j0, j1] = block_episodes(shard, k);
  switch (r) {
    case Round::kBaseline:
      if (cfg_.baseline == Baseline::kMean) {
        mean_baseline_stats(shard, psi_.data(), j0, j1, episode_sum_.data(), out);
      } else {
        time_baseline_stats(shard, psi_.data(), j0, j1, reserved_steps_, out);
      }
      return;
    case Round::kAdvantageMean:
      advantage_sum(shard, psi_.data(), base_.data(), j0, j1, out);
      return;
    case Round::kAdvantageSpread:
      advantage_spread(shard, psi_.data(), base_.data(), adv_mean_, j0, j1, out);
      return;
    case Round::kOptimal: {
      // Per parameter k: [sum_j s_jk^2 R_j, sum_j s_jk^2], s_j the score sum.
      const std::int64_t P = P_;
      out.assign(static_cast<std::size_t>(2 * P), 0.0);
      double* s2r = out.data();
      double* s2 = s2r + P;
      ensure(ws.gj, P);
      policy_->visit([&](const auto& policy) {
        for (std::int64_t j = j0; j < j1; ++j) {
          episode_gradient(policy, shard, j, p, ones_.data(), ws);
          const double R = psi_[static_cast<std::size_t>(shard.offset(j))];
          double* s = score_sums_.data() + j * P;
          for (std::int64_t c = 0; c < P; ++c) {
            s[c] = ws.gj[static_cast<std::size_t>(c)];
            s2r[c] += s[c] * s[c] * R;
            s2[c] += s[c] * s[c];
          }
        }
      });
      return;
    }
    case Round::kFinal:
      break;
  }
}

void Estimator::receive(Round r, const Collector& shard, const std::vector<double>& sum) {
  const std::int64_t rows = shard.rows();
  switch (r) {
    case Round::kBaseline:
      if (cfg_.baseline == Baseline::kMean) {
        require(sum.size() == 2, "the mean baseline's sum has 2 entries, got ", sum.size());
        apply_mean_baseline(shard, episode_sum_.data(), sum, base_.data());
      } else {
        std::int64_t longest = 0;
        for (std::int64_t j = 0; j < shard.episodes(); ++j)
          longest = std::max(longest, shard.record(j).length);
        require(static_cast<std::int64_t>(sum.size()) >= 2 * longest,
                "the time baseline's sum is shorter than this shard's episodes");
        apply_time_baseline(shard, psi_.data(), sum, base_.data());
      }
      return;
    case Round::kAdvantageMean:
      require(sum.size() == 2 && sum[1] > 0, "the advantages' sum has 2 entries");
      adv_mean_ = sum[0] / sum[1];
      adv_count_ = sum[1];
      return;
    case Round::kAdvantageSpread:
      require(sum.size() == 1, "the advantages' spread has 1 entry");
      normalize_advantages(rows, adv_mean_, sum[0], adv_count_, psi_.data(), base_.data());
      return;
    case Round::kOptimal:
      require(static_cast<std::int64_t>(sum.size()) == 2 * P_,
              "the optimal baseline's sums have 2 n_params entries");
      optimal_.assign(sum.begin(), sum.end());
      return;
    case Round::kFinal:
      throw std::logic_error("the final round's sum is the estimate's, not the shard's");
  }
}

FinalLayout Estimator::final_layout(const FinalParts& parts) const {
  FinalLayout at;
  auto take = [&](bool want, std::int64_t n, std::int64_t& where) {
    if (!want) return;
    where = at.size;
    at.size += n;
  };
  take(parts.gradient, P_, at.gradient);
  take(parts.squares, P_, at.squares);
  take(parts.fisher, P_ * P_, at.fisher);
  take(parts.value && uses_value_, width_ * width_, at.value_matrix);
  take(parts.value && uses_value_, width_, at.value_rhs);
  return at;
}

void Estimator::block_final(const Collector& shard, const PolicyParams& p, const FinalParts& parts,
                            const FinalLayout& at, std::int64_t k, std::vector<double>& out,
                            Workspace& ws) {
  const auto [j0, j1] = block_episodes(shard, k);
  const std::int64_t P = P_;
  out.assign(static_cast<std::size_t>(at.size), 0.0);
  const bool opt = optimal();
  policy_->visit([&](const auto& policy) {
    using Policy = std::decay_t<decltype(policy)>;
    for (std::int64_t j = j0; j < j1; ++j) {
      if (at.gradient >= 0) {
        double* gj = ensure(ws.gj, P);
        if (opt) {
          // b_k for episode j from the other episodes:
          // b_k = sum_{i != j} s_ik^2 R_i / sum_{i != j} s_ik^2.
          const double R = psi_[static_cast<std::size_t>(shard.offset(j))];
          const double* s = score_sums_.data() + j * P;
          for (std::int64_t c = 0; c < P; ++c) {
            const double s2 = optimal_[static_cast<std::size_t>(P + c)];
            const double s2r = optimal_[static_cast<std::size_t>(c)];
            const double den = s2 - s[c] * s[c];
            const double b = den > 0 ? (s2r - s[c] * s[c] * R) / den : 0.0;
            gj[c] = s[c] * (R - b);
          }
        } else {
          const std::int64_t o = shard.offset(j), T = shard.record(j).length;
          double* adv = ensure(ws.adv, T);
          for (std::int64_t t = 0; t < T; ++t)
            adv[t] = psi_[static_cast<std::size_t>(o + t)] - base_[static_cast<std::size_t>(o + t)];
          episode_gradient(policy, shard, j, p, adv, ws);
        }
        double* sum = out.data() + at.gradient;
        for (std::int64_t c = 0; c < P; ++c) sum[c] += gj[c];
        if (at.squares >= 0) {
          double* sq = out.data() + at.squares;
          for (std::int64_t c = 0; c < P; ++c) sq[c] += gj[c] * gj[c];
        }
      }
      if (at.fisher >= 0) {
        MatMap F(out.data() + at.fisher, P, P);
        bool done = false;
        if constexpr (Policy::kDiscrete) {
          if (cfg_.fisher == FisherKind::kExact) {
            add_exact_fisher(policy, shard, j, F, ws);
            done = true;
          }
        }
        if (!done) add_sampled_fisher(policy, shard, j, p, F, ws);
      }
      if (at.value_matrix >= 0) {
        const EnvBuffer& b = shard.buffer(j);
        const EpisodeRecord& e = shard.record(j);
        value_.accumulate(b.phi.data() + e.start * width_, target_.data() + shard.offset(j),
                          e.length, out.data() + at.value_matrix, out.data() + at.value_rhs);
      }
    }
  });
}

const std::vector<double>& Estimator::estimate(Collector& batch, const PolicyParams& p,
                                               const FinalParts& parts,
                                               const double* fixed_baseline) {
  begin(batch, batch.episodes(), fixed_baseline);
  for (const Round r : rounds_) {
    local(r, batch, p, parts, round_nodes_);
    tree_.root(&round_nodes_, 1, sum_);
    if (r != Round::kFinal) receive(r, batch, sum_);
  }
  return sum_;
}

void Estimator::reserve(std::int64_t steps, bool fisher) {
  if (steps <= 0) return;
  reserved_steps_ = steps;
  if (ws_.empty()) ws_.resize(1);
  for (auto& ws : ws_) {
    ensure(ws.W, steps * R_ * K_);
    ensure(ws.adv, steps);
    if (fisher) {
      ensure(ws.rows, steps * std::max(P_, R_ * C_));
      ensure(ws.block, std::max(C_ * C_, steps * C_));
      ensure(ws.cov, steps * K_ * K_);
      ensure(ws.discount, steps);
    }
  }
  ensure(ones_, steps);
  std::fill(ones_.begin(), ones_.end(), 1.0);
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

}  // namespace pgfast
