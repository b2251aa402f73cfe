// Vector environments: factories for every built-in model, and one VecEnv
// class whose methods each cross the boundary once per batch.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "numpy.hpp"
#include "pgfast/envs/registry.hpp"
#include "py_env.hpp"

namespace pgfast::bind {

namespace {

py::tuple space_tuple(const SpaceSpec& s) {
  if (s.discrete) return py::make_tuple("discrete", s.n);
  py::array_t<double> low(static_cast<py::ssize_t>(s.low.size()), s.low.data());
  py::array_t<double> high(static_cast<py::ssize_t>(s.high.size()), s.high.data());
  return py::make_tuple("box", py::tuple(py::cast(s.shape)), low, high, dtype_name(s.dtype));
}

int check_threads(int num_threads) {
  if (num_threads < 1) throw py::value_error(concat("num_threads must be >= 1, got ", num_threads));
  return num_threads;
}

py::array_t<double> matrix(const py::handle& obj, const char* name, std::int64_t rows,
                           std::int64_t cols) {
  auto a = float64_array(obj, name);
  require_shape(a, {static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)}, name);
  require_finite(a, name);
  return a;
}

std::int64_t square_size(const py::handle& obj, const char* name) {
  auto a = float64_array(obj, name);
  if (a.ndim() != 2 || a.shape(0) != a.shape(1) || a.shape(0) < 1)
    throw py::value_error(
        concat(name, " must be a non-empty square matrix, got shape ", shape_str(a)));
  return a.shape(0);
}

LqrConfig lqr_config(const py::handle& A, const py::handle& B, const py::handle& Q,
                     const py::handle& R, double init_std, double noise_std,
                     std::int64_t max_episode_steps) {
  LqrConfig c;
  c.n = square_size(A, "A");
  c.m = square_size(R, "R");
  c.A = to_vector(matrix(A, "A", c.n, c.n));
  c.B = to_vector(matrix(B, "B", c.n, c.m));
  c.Q = to_vector(matrix(Q, "Q", c.n, c.n));
  c.R = to_vector(matrix(R, "R", c.m, c.m));
  c.init_std = init_std;
  c.noise_std = noise_std;
  c.max_episode_steps = max_episode_steps;
  c.validate();
  return c;
}

py::tuple mdp_arrays(const TabularMdp& mdp) {
  const auto S = static_cast<py::ssize_t>(mdp.n_states),
             A = static_cast<py::ssize_t>(mdp.n_actions);
  py::array_t<double> P(std::vector<py::ssize_t>{S, A, S}, mdp.P.data());
  py::array_t<double> R(std::vector<py::ssize_t>{S, A, S}, mdp.R.data());
  py::array_t<double> initial(S, mdp.initial.data());
  py::array_t<bool> terminal(S);
  for (py::ssize_t s = 0; s < S; ++s)
    terminal.mutable_data()[s] = mdp.terminal[static_cast<std::size_t>(s)];
  return py::make_tuple(P, R, initial, terminal);
}

}  // namespace

void bind_envs(py::module_& m) {
  py::class_<PyVecEnv>(m, "VecEnv", "A batch of environments stepped in C++ (see pgfast.make).")
      .def_property_readonly("id", [](PyVecEnv& self) { return self.env().id(); })
      .def_property_readonly("num_envs", [](PyVecEnv& self) { return self.env().num_envs(); })
      .def_property_readonly("state_dim", [](PyVecEnv& self) { return self.env().state_dim(); })
      .def_property_readonly("num_threads", [](PyVecEnv& self) { return self.env().num_threads(); })
      .def_property_readonly("closed", &PyVecEnv::closed)
      .def_property(
          "max_episode_steps", [](PyVecEnv& self) { return self.env().max_episode_steps(); },
          [](PyVecEnv& self, std::int64_t steps) {
            PyVecEnv::Guard g(self);
            g.env().set_max_episode_steps(steps);
          })
      .def_property_readonly(
          "observation_space",
          [](PyVecEnv& self) { return space_tuple(self.env().observation_space()); })
      .def_property_readonly("action_space",
                             [](PyVecEnv& self) { return space_tuple(self.env().action_space()); })
      .def(
          "seed",
          [](PyVecEnv& self, std::uint64_t seed) {
            PyVecEnv::Guard g(self);
            g.env().seed(seed);
          },
          py::arg("seed"), "Env i draws from stream (seed, i) from now on.")
      .def(
          "seed_each",
          [](PyVecEnv& self, const py::handle& seeds, const py::handle& has_seed) {
            PyVecEnv::Guard g(self);
            const auto n = static_cast<py::ssize_t>(g.env().num_envs());
            py::array raw = as_array(seeds, "seeds");
            const char kind = raw.dtype().kind();
            if (kind != 'i' && kind != 'u')
              throw py::type_error(concat("seeds must be an integer array, got dtype ",
                                          std::string(py::str(raw.dtype()))));
            require_shape(raw, {n}, "seeds");
            if (kind == 'i') {
              auto signed_seeds = contiguous<std::int64_t>(raw, "seeds");
              for (py::ssize_t k = 0; k < signed_seeds.size(); ++k)
                if (signed_seeds.data()[k] < 0)
                  throw py::value_error(
                      concat("seeds[", k, "] must be >= 0, got ", signed_seeds.data()[k]));
            }
            auto s = contiguous<std::uint64_t>(raw, "seeds");
            py::array raw_has = as_array(has_seed, "has_seed");
            require_shape(raw_has, {n}, "has_seed");
            if (raw_has.dtype().kind() != 'b')
              throw py::type_error(concat("has_seed must be a boolean array, got dtype ",
                                          std::string(py::str(raw_has.dtype()))));
            auto h = contiguous<bool, py::array::c_style>(raw_has, "has_seed");
            require_shape(s, {n}, "seeds");
            require_shape(h, {n}, "has_seed");
            g.env().seed_each(s.data(), h.data());
          },
          py::arg("seeds"), py::arg("has_seed"),
          "Env i draws from stream (seeds[i], 0) where has_seed[i].")
      .def(
          "reset",
          [](PyVecEnv& self, const py::handle& mask) {
            PyVecEnv::Guard g(self);
            py::array obs = self.new_obs_array();
            const auto n = static_cast<py::ssize_t>(g.env().num_envs());
            if (mask.is_none()) {
              py::gil_scoped_release nogil;
              g.env().reset(nullptr, obs.mutable_data());
            } else {
              py::array m = as_array(mask, "reset_mask");
              if (m.dtype().kind() != 'b')
                throw py::type_error(concat("reset_mask must be a boolean array, got dtype ",
                                            std::string(py::str(m.dtype()))));
              require_shape(m, {n}, "reset_mask");
              auto mb = contiguous<bool, py::array::c_style>(m, "reset_mask");
              require_shape(mb, {n}, "reset_mask");
              // Rows not reset keep their current observation (the others'
              // states may be invalid: a failed reset is what they recover from).
              g.env().get_observation(obs.mutable_data(), mb.data());
              py::gil_scoped_release nogil;
              g.env().reset(mb.data(), obs.mutable_data());
            }
            return obs;
          },
          py::arg("mask") = py::none(),
          "Reset all envs (or those where mask is True); returns observations.")
      .def(
          "step",
          [](PyVecEnv& self, const py::handle& actions) {
            PyVecEnv::Guard g(self);
            VecEnvBase& env = g.env();
            const auto n = static_cast<py::ssize_t>(env.num_envs());
            const SpaceSpec aspace = env.action_space();
            py::array a;
            if (aspace.discrete) {
              const std::vector<py::ssize_t> shape{n};
              a = int64_array(actions, "actions", &shape);
            } else {
              const std::vector<py::ssize_t> shape{n, static_cast<py::ssize_t>(aspace.shape.at(0))};
              a = float64_array(actions, "actions", &shape);
            }
            py::array obs = self.new_obs_array();
            py::array_t<double> reward(n);
            py::array_t<bool> terminated(n), truncated(n);
            {
              py::gil_scoped_release nogil;
              env.step(a.data(), obs.mutable_data(), reward.mutable_data(),
                       terminated.mutable_data(), truncated.mutable_data());
            }
            return py::make_tuple(obs, reward, terminated, truncated);
          },
          py::arg("actions"),
          "Step every env; returns (obs, reward, terminated, truncated). Envs whose episode "
          "ended on the previous step are reset instead (next-step autoreset).")
      .def("observation",
           [](PyVecEnv& self) {
             PyVecEnv::Guard g(self);
             py::array obs = self.new_obs_array();
             g.env().get_observation(obs.mutable_data());
             return obs;
           })
      .def("get_state",
           [](PyVecEnv& self) {
             PyVecEnv::Guard g(self);
             py::array_t<double> out(
                 std::vector<py::ssize_t>{static_cast<py::ssize_t>(g.env().num_envs()),
                                          static_cast<py::ssize_t>(g.env().state_dim())});
             g.env().get_state(out.mutable_data());
             return out;
           })
      .def(
          "set_state",
          [](PyVecEnv& self, const py::handle& states) {
            PyVecEnv::Guard g(self);
            const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(g.env().num_envs()),
                                                 static_cast<py::ssize_t>(g.env().state_dim())};
            auto s = float64_array(states, "states", &shape);
            g.env().set_state(s.data());
          },
          py::arg("states"))
      .def("elapsed_steps",
           [](PyVecEnv& self) {
             PyVecEnv::Guard g(self);
             auto v = g.env().elapsed_steps();
             return py::array_t<std::int64_t>(static_cast<py::ssize_t>(v.size()), v.data());
           })
      .def("param_names", [](PyVecEnv& self) { return self.env().param_names(); })
      .def(
          "get_param",
          [](PyVecEnv& self, const std::string& name) {
            PyVecEnv::Guard g(self);
            auto v = g.env().get_param(name);
            return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
          },
          py::arg("name"))
      .def(
          "set_param",
          [](PyVecEnv& self, const std::string& name, const py::handle& values) {
            PyVecEnv::Guard g(self);
            const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(g.env().num_envs())};
            auto v = float64_array(values, name.c_str(), &shape);
            g.env().set_param(name, v.data());
          },
          py::arg("name"), py::arg("values"))
      .def("close", &PyVecEnv::close);

  m.def("classic_env_ids", &classic_env_ids);
  m.def(
      "make_classic",
      [](const std::string& id, std::int64_t num_envs, std::uint64_t seed, int num_threads) {
        return std::make_unique<PyVecEnv>(
            make_classic_env(id, num_envs, seed, check_threads(num_threads)));
      },
      py::arg("id"), py::arg("num_envs"), py::arg("seed"), py::arg("num_threads"));
  m.def(
      "make_tabular",
      [](const py::handle& P, const py::handle& R, const py::handle& initial,
         const py::handle& terminal, std::int64_t max_episode_steps, const std::string& id,
         std::int64_t num_envs, std::uint64_t seed, int num_threads) {
        TabularMdp mdp;
        auto p = float64_array(P, "P");
        if (p.ndim() != 3 || p.shape(0) != p.shape(2))
          throw py::value_error(
              concat("P must have shape (n_states, n_actions, n_states), got ", shape_str(p)));
        mdp.n_states = p.shape(0);
        mdp.n_actions = p.shape(1);
        const auto S = static_cast<py::ssize_t>(mdp.n_states),
                   A = static_cast<py::ssize_t>(mdp.n_actions);
        auto r = float64_array(R, "R");
        require_shape(r, {S, A, S}, "R");
        auto init = float64_array(initial, "initial");
        require_shape(init, {S}, "initial");
        py::array term = as_array(terminal, "terminal");
        if (term.dtype().kind() != 'b')
          throw py::type_error(concat("terminal must be a boolean array, got dtype ",
                                      std::string(py::str(term.dtype()))));
        require_shape(term, {S}, "terminal");
        auto tb = contiguous<bool, py::array::c_style>(term, "terminal");
        require_shape(tb, {S}, "terminal");
        mdp.P = to_vector(p);
        mdp.R = to_vector(r);
        mdp.initial = to_vector(init);
        mdp.terminal.assign(tb.data(), tb.data() + tb.size());
        mdp.max_episode_steps = max_episode_steps;
        mdp.id = id;
        return std::make_unique<PyVecEnv>(
            make_tabular_env(std::move(mdp), num_envs, seed, check_threads(num_threads)));
      },
      py::arg("P"), py::arg("R"), py::arg("initial"), py::arg("terminal"),
      py::arg("max_episode_steps"), py::arg("id"), py::arg("num_envs"), py::arg("seed"),
      py::arg("num_threads"), "P and R of shape (S, A, S); the model is validated in C++ as well.");
  m.def(
      "make_bandit",
      [](const py::handle& means, const py::handle& stds, std::int64_t num_envs, std::uint64_t seed,
         int num_threads) {
        auto mu = float64_array(means, "means");
        auto sd = float64_array(stds, "stds");
        if (mu.ndim() != 1)
          throw py::value_error(concat("means must be 1-D, got shape ", shape_str(mu)));
        require_shape(sd, {mu.shape(0)}, "stds");
        return std::make_unique<PyVecEnv>(make_bandit_env(to_vector(mu), to_vector(sd), num_envs,
                                                          seed, check_threads(num_threads)));
      },
      py::arg("means"), py::arg("stds"), py::arg("num_envs"), py::arg("seed"),
      py::arg("num_threads"));
  m.def(
      "make_continuous_bandit",
      [](const py::handle& a_star, double noise_std, const py::handle& low, const py::handle& high,
         std::int64_t num_envs, std::uint64_t seed, int num_threads) {
        auto a = float64_array(a_star, "a_star");
        if (a.ndim() != 1)
          throw py::value_error(concat("a_star must be 1-D, got shape ", shape_str(a)));
        auto lo = float64_array(low, "low");
        auto hi = float64_array(high, "high");
        require_shape(lo, {a.shape(0)}, "low");
        require_shape(hi, {a.shape(0)}, "high");
        return std::make_unique<PyVecEnv>(
            make_continuous_bandit_env(to_vector(a), noise_std, to_vector(lo), to_vector(hi),
                                       num_envs, seed, check_threads(num_threads)));
      },
      py::arg("a_star"), py::arg("noise_std"), py::arg("low"), py::arg("high"), py::arg("num_envs"),
      py::arg("seed"), py::arg("num_threads"));
  m.def(
      "make_lqr",
      [](const py::handle& A, const py::handle& B, const py::handle& Q, const py::handle& R,
         double init_std, double noise_std, std::int64_t max_episode_steps, std::int64_t num_envs,
         std::uint64_t seed, int num_threads) {
        return std::make_unique<PyVecEnv>(
            make_lqr_env(lqr_config(A, B, Q, R, init_std, noise_std, max_episode_steps), num_envs,
                         seed, check_threads(num_threads)));
      },
      py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("init_std"),
      py::arg("noise_std"), py::arg("max_episode_steps"), py::arg("num_envs"), py::arg("seed"),
      py::arg("num_threads"));
  m.def(
      "lqr_riccati",
      [](const py::handle& A, const py::handle& B, const py::handle& Q, const py::handle& R,
         double gamma) {
        const LqrConfig c = lqr_config(A, B, Q, R, 1.0, 0.0, 0);
        RiccatiSolution sol;
        {
          py::gil_scoped_release nogil;
          sol = lqr_riccati(c, gamma);
        }
        py::array_t<double> P(std::vector<py::ssize_t>{c.n, c.n}, sol.P.data());
        py::array_t<double> K(std::vector<py::ssize_t>{c.m, c.n}, sol.K.data());
        return py::make_tuple(P, K, sol.iterations);
      },
      py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("gamma") = 1.0,
      "Solve the discounted discrete algebraic Riccati equation; returns (P, K, iterations).");
  m.def(
      "frozen_lake_tables",
      [](const std::string& map_name, bool is_slippery, std::int64_t max_episode_steps) {
        return mdp_arrays(frozen_lake(map_name, is_slippery, max_episode_steps));
      },
      py::arg("map_name"), py::arg("is_slippery"), py::arg("max_episode_steps"),
      "(P, R, initial, terminal) of Gymnasium's FrozenLake, built by pgfast.");
  m.def(
      "cliff_walking_tables",
      [](std::int64_t max_episode_steps) { return mdp_arrays(cliff_walking(max_episode_steps)); },
      py::arg("max_episode_steps"),
      "(P, R, initial, terminal) of Gymnasium's CliffWalking-v1, built by pgfast.");
}

}  // namespace pgfast::bind
