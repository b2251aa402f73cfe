// Sums over a batch's blocks of episodes along one fixed pairwise tree.
//
// A batch of m episodes is cut into n = ceil(m / kBlockEpisodes) blocks.
// Every quantity an estimate sums over the batch (the gradient, baseline
// statistics, the Fisher matrix, the value fit's normal equations) is first
// summed per block in episode order, then over the blocks along this tree:
//
//   node (0, k)     = block k
//   node (l + 1, k) = node (l, 2k) + node (l, 2k + 1)   (node (l, 2k) alone
//                                                        when 2k + 1 is past n)
//   the sum         = node (L, 0), with 2^L >= n
//
// A node depends only on its blocks, so whoever holds a contiguous range of
// blocks (a thread, a process, a Ray worker) computes the maximal nodes
// inside it and sends those; combining them gives the same bits for every
// split. Values may differ in length (the time baseline's per-step sums):
// the shorter is padded with zeros, which adds exactly.
//
// Buffers are kept and reused, so that an in-process update allocates
// nothing once they have grown (tests/test_allocations.py).
#ifndef PGFAST_REDUCTION_HPP_
#define PGFAST_REDUCTION_HPP_

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "pgfast/check.hpp"

namespace pgfast {

struct TreeNode {
  int level = 0;
  std::int64_t index = 0;
  std::vector<double> value;
};

// A list of nodes whose vectors keep their capacity across uses.
class TreeNodes {
 public:
  void clear() { size_ = 0; }
  std::size_t size() const { return size_; }
  const TreeNode& operator[](std::size_t k) const { return nodes_[k]; }
  TreeNode& operator[](std::size_t k) { return nodes_[k]; }
  TreeNode& push(int level, std::int64_t index) {
    if (size_ == nodes_.size()) nodes_.emplace_back();
    TreeNode& node = nodes_[size_++];
    node.level = level;
    node.index = index;
    return node;
  }
  void append(const TreeNodes& other) {
    for (std::size_t k = 0; k < other.size(); ++k)
      push(other[k].level, other[k].index)
          .value.assign(other[k].value.begin(), other[k].value.end());
  }

 private:
  std::vector<TreeNode> nodes_;
  std::size_t size_ = 0;
};

// a += b, padding a with zeros to b's length.
inline void add_padded(std::vector<double>& a, const std::vector<double>& b) {
  if (b.size() > a.size()) a.resize(b.size(), 0.0);
  for (std::size_t k = 0; k < b.size(); ++k) a[k] += b[k];
}

// The height L of the tree over n blocks (2^L >= n).
inline int tree_height(std::int64_t n_blocks) {
  int l = 0;
  while ((std::int64_t{1} << l) < n_blocks) ++l;
  return l;
}

class PairwiseTree {
 public:
  explicit PairwiseTree(std::int64_t n_blocks = 1) { reset(n_blocks); }
  void reset(std::int64_t n_blocks) {
    require(n_blocks >= 1, "a batch has at least one block");
    n_ = n_blocks;
    height_ = tree_height(n_blocks);
    if (scratch_.size() < static_cast<std::size_t>(height_ + 1))
      scratch_.resize(static_cast<std::size_t>(height_ + 1));
  }
  std::int64_t blocks() const { return n_; }

  // The maximal nodes inside blocks [b0, b1), left to right, appended to
  // out; block(k, v) must overwrite v with block k's vector (called for
  // k = b0, ..., b1 - 1 in order).
  template <class Block>
  void nodes(std::int64_t b0, std::int64_t b1, Block&& block, TreeNodes& out) {
    maximal(height_, 0, b0, b1, [&](int l, std::int64_t k) {
      TreeNode& node = out.push(l, k);
      compute(l, k, block, node.value);
    });
  }

  // The maximal nodes inside [b0, b1), appended to out, from nodes that
  // partition [b0, b1) (one list per thread).
  void merge(std::int64_t b0, std::int64_t b1, const TreeNodes* parts, std::size_t n_parts,
             TreeNodes& out) {
    maximal(height_, 0, b0, b1, [&](int l, std::int64_t k) {
      TreeNode& node = out.push(l, k);
      from_parts(l, k, parts, n_parts, node.value);
    });
  }

  // The sum over all n blocks from nodes that partition [0, n).
  void root(const TreeNodes* parts, std::size_t n_parts, std::vector<double>& out) {
    for (std::size_t p = 0; p < n_parts; ++p)
      for (std::size_t k = 0; k < parts[p].size(); ++k) {
        const TreeNode& node = parts[p][k];
        require(node.level >= 0 && node.level <= height_ && node.index >= 0 &&
                    (node.index << node.level) < n_,
                "tree node (", node.level, ", ", node.index, ") is outside a batch of ", n_,
                " blocks");
      }
    from_parts(height_, 0, parts, n_parts, out);
  }

 private:
  // Calls visit(l, k) for the maximal nodes inside [b0, b1), left to right.
  template <class Visit>
  void maximal(int l, std::int64_t k, std::int64_t b0, std::int64_t b1, Visit&& visit) const {
    const std::int64_t begin = k << l, end = std::min(n_, (k + 1) << l);
    if (begin >= end || end <= b0 || begin >= b1) return;
    if (b0 <= begin && end <= b1) {
      visit(l, k);
      return;
    }
    maximal(l - 1, 2 * k, b0, b1, visit);
    maximal(l - 1, 2 * k + 1, b0, b1, visit);
  }

  bool has_right(int l, std::int64_t k) const { return ((2 * k + 1) << (l - 1)) < n_; }

  template <class Block>
  void compute(int l, std::int64_t k, Block& block, std::vector<double>& out) {
    if (l == 0) {
      block(k, out);
      return;
    }
    compute(l - 1, 2 * k, block, out);
    if (has_right(l, k)) {
      std::vector<double>& right = scratch_[static_cast<std::size_t>(l - 1)];
      compute(l - 1, 2 * k + 1, block, right);
      add_padded(out, right);
    }
  }

  void from_parts(int l, std::int64_t k, const TreeNodes* parts, std::size_t n_parts,
                  std::vector<double>& out) {
    for (std::size_t p = 0; p < n_parts; ++p)
      for (std::size_t q = 0; q < parts[p].size(); ++q)
        if (parts[p][q].level == l && parts[p][q].index == k) {
          out.assign(parts[p][q].value.begin(), parts[p][q].value.end());
          return;
        }
    require(l > 0, "the tree's nodes do not cover block ", k);
    from_parts(l - 1, 2 * k, parts, n_parts, out);
    if (has_right(l, k)) {
      std::vector<double>& right = scratch_[static_cast<std::size_t>(l - 1)];
      from_parts(l - 1, 2 * k + 1, parts, n_parts, right);
      add_padded(out, right);
    }
  }

  std::int64_t n_ = 1;
  int height_ = 0;
  std::vector<std::vector<double>> scratch_;  // per level: right children
};

}  // namespace pgfast

#endif  // PGFAST_REDUCTION_HPP_
