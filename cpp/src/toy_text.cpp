// Gymnasium's toy-text tables, rebuilt outcome by outcome in the order
// Gymnasium lists them, so that summed probabilities round the same way.
// https://github.com/Farama-Foundation/Gymnasium/blob/main/gymnasium/envs/toy_text/frozen_lake.py
// https://github.com/Farama-Foundation/Gymnasium/blob/main/gymnasium/envs/toy_text/cliffwalking.py
#include <array>
#include <string>
#include <vector>

#include "pgfast/check.hpp"
#include "pgfast/envs/registry.hpp"

namespace pgfast {

namespace {

TabularMdp empty_mdp(std::int64_t n_states, std::int64_t n_actions) {
  TabularMdp mdp;
  mdp.n_states = n_states;
  mdp.n_actions = n_actions;
  const auto size = static_cast<std::size_t>(n_states * n_actions * n_states);
  mdp.P.assign(size, 0.0);
  mdp.R.assign(size, 0.0);
  mdp.initial.assign(static_cast<std::size_t>(n_states), 0.0);
  mdp.terminal.assign(static_cast<std::size_t>(n_states), false);
  return mdp;
}

// Adds one Gymnasium outcome (p, s', r) of (s, a). Outcomes that share s'
// must share r, which holds for every table built here.
void add_outcome(TabularMdp& mdp, std::int64_t s, std::int64_t a, std::int64_t next, double p,
                 double r) {
  const auto k = static_cast<std::size_t>((s * mdp.n_actions + a) * mdp.n_states + next);
  mdp.P[k] += p;
  mdp.R[k] = r;
}

const std::vector<std::string>& frozen_lake_map(const std::string& map_name) {
  static const std::vector<std::string> k4x4 = {"SFFF", "FHFH", "FFFH", "HFFG"};
  static const std::vector<std::string> k8x8 = {"SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF",
                                                "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG"};
  if (map_name == "4x4") return k4x4;
  if (map_name == "8x8") return k8x8;
  throw std::invalid_argument(concat("map_name must be '4x4' or '8x8', got '", map_name, "'"));
}

}  // namespace

TabularMdp frozen_lake(const std::string& map_name, bool is_slippery,
                       std::int64_t max_episode_steps) {
  const auto& desc = frozen_lake_map(map_name);
  const auto nrow = static_cast<std::int64_t>(desc.size());
  const auto ncol = static_cast<std::int64_t>(desc[0].size());
  enum { kLeft = 0, kDown = 1, kRight = 2, kUp = 3 };
  TabularMdp mdp = empty_mdp(nrow * ncol, 4);
  mdp.id = map_name == "4x4" ? "FrozenLake-v1" : "FrozenLake8x8-v1";
  mdp.max_episode_steps = max_episode_steps;
  const double success_rate = 1.0 / 3.0;
  const double fail_rate = (1.0 - success_rate) / 2.0;
  auto letter = [&](std::int64_t row, std::int64_t col) {
    return desc[static_cast<std::size_t>(row)][static_cast<std::size_t>(col)];
  };
  double n_start = 0;
  for (std::int64_t row = 0; row < nrow; ++row)
    for (std::int64_t col = 0; col < ncol; ++col) n_start += letter(row, col) == 'S' ? 1 : 0;
  for (std::int64_t row = 0; row < nrow; ++row) {
    for (std::int64_t col = 0; col < ncol; ++col) {
      const std::int64_t s = row * ncol + col;
      const char here = letter(row, col);
      mdp.terminal[static_cast<std::size_t>(s)] = here == 'G' || here == 'H';
      if (here == 'S') mdp.initial[static_cast<std::size_t>(s)] = 1.0 / n_start;
      for (std::int64_t a = 0; a < 4; ++a) {
        if (here == 'G' || here == 'H') {
          add_outcome(mdp, s, a, s, 1.0, 0.0);
          continue;
        }
        auto move = [&](std::int64_t b, double p) {
          std::int64_t r = row, c = col;
          if (b == kLeft) c = c - 1 > 0 ? c - 1 : 0;
          if (b == kDown) r = r + 1 < nrow - 1 ? r + 1 : nrow - 1;
          if (b == kRight) c = c + 1 < ncol - 1 ? c + 1 : ncol - 1;
          if (b == kUp) r = r - 1 > 0 ? r - 1 : 0;
          add_outcome(mdp, s, a, r * ncol + c, p, letter(r, c) == 'G' ? 1.0 : 0.0);
        };
        if (is_slippery) {
          for (std::int64_t b : {(a + 3) % 4, a, (a + 1) % 4})
            move(b, b == a ? success_rate : fail_rate);
        } else {
          move(a, 1.0);
        }
      }
    }
  }
  return mdp;
}

TabularMdp cliff_walking(std::int64_t max_episode_steps) {
  constexpr std::int64_t kRows = 4, kCols = 12;
  // UP, RIGHT, DOWN, LEFT as (row, col) deltas.
  constexpr std::array<std::array<std::int64_t, 2>, 4> kMoves = {
      {{-1, 0}, {0, 1}, {1, 0}, {0, -1}}};
  TabularMdp mdp = empty_mdp(kRows * kCols, 4);
  mdp.id = "CliffWalking-v1";
  mdp.max_episode_steps = max_episode_steps;
  const std::int64_t start = 3 * kCols + 0, goal = 3 * kCols + kCols - 1;
  mdp.initial[static_cast<std::size_t>(start)] = 1.0;
  mdp.terminal[static_cast<std::size_t>(goal)] = true;
  for (std::int64_t s = 0; s < kRows * kCols; ++s) {
    const std::int64_t row = s / kCols, col = s % kCols;
    for (std::int64_t a = 0; a < 4; ++a) {
      std::int64_t r = row + kMoves[static_cast<std::size_t>(a)][0];
      std::int64_t c = col + kMoves[static_cast<std::size_t>(a)][1];
      r = r < 0 ? 0 : (r > kRows - 1 ? kRows - 1 : r);
      c = c < 0 ? 0 : (c > kCols - 1 ? kCols - 1 : c);
      const bool cliff = r == 3 && c >= 1 && c <= kCols - 2;
      if (cliff) {
        add_outcome(mdp, s, a, start, 1.0, -100.0);
      } else {
        add_outcome(mdp, s, a, r * kCols + c, 1.0, -1.0);
      }
    }
  }
  return mdp;
}

}  // namespace pgfast
