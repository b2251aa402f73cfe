// Update rules behind one interface: direction(g) -> the step to add to the
// flat parameters. All are gradient *ascent*: J is maximised.
//   SGD       step = lr g
//   Adam      Kingma & Ba (2015), with bias correction
//   natural   step = alpha (F + damping I)^-1 g (Kakade 2002), F the batch's
//             Fisher matrix; alpha = lr, or sqrt(2 max_kl / g^T F^-1 g) (a
//             trust region, as in TRPO's step size) when max_kl > 0.
// Workspaces are sized at construction: a step allocates nothing.
#ifndef PGFAST_OPTIMIZERS_HPP_
#define PGFAST_OPTIMIZERS_HPP_

#include <Eigen/Cholesky>
#include <cstdint>
#include <memory>
#include <vector>

#include "pgfast/types.hpp"

namespace pgfast {

enum class OptimizerKind { kSgd, kAdam, kNatural };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kAdam;
  double lr = 0.05;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  double damping = 1e-4;  // added to the Fisher diagonal (absolute)
  double max_kl = 0.0;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Whether direction() reads the Fisher matrix.
  virtual bool needs_fisher() const { return false; }
  // step (n) for gradient g (n); fisher is n x n row-major (or null).
  // Throws std::runtime_error (state unchanged) when no finite step exists.
  virtual void direction(const double* g, const double* fisher, double* step) = 0;
  // Forgets the last direction() call (its update was rejected).
  virtual void undo() {}
  // Remembers the state, and goes back to what was remembered: the online
  // form undoes an iteration of many steps whole.
  virtual void save() {}
  virtual void restore() {}
  // Condition estimate of the last natural step's system; NaN otherwise.
  virtual double condition() const;
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, std::int64_t n);

class Sgd final : public Optimizer {
 public:
  Sgd(double lr, std::int64_t n) : lr_(lr), n_(n) {}
  void direction(const double* g, const double* fisher, double* step) override;

 private:
  double lr_;
  std::int64_t n_;
};

class Adam final : public Optimizer {
 public:
  Adam(const OptimizerConfig& config, std::int64_t n);
  void direction(const double* g, const double* fisher, double* step) override;
  void undo() override;
  void save() override;
  void restore() override;

 private:
  double lr_, beta1_, beta2_, eps_;
  std::vector<double> m_, v_, prev_m_, prev_v_, saved_m_, saved_v_;
  std::int64_t t_ = 0, saved_t_ = 0;
};

class NaturalGradient final : public Optimizer {
 public:
  NaturalGradient(const OptimizerConfig& config, std::int64_t n);
  bool needs_fisher() const override { return true; }
  void direction(const double* g, const double* fisher, double* step) override;
  double condition() const override { return condition_; }

 private:
  double lr_, damping_, max_kl_;
  std::int64_t n_;
  RowMatrix A_;
  Vector x_;
  Eigen::LDLT<RowMatrix> ldlt_;
  double condition_;
};

}  // namespace pgfast

#endif  // PGFAST_OPTIMIZERS_HPP_
