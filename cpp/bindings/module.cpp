// pgfast._core: the compiled engine. Each domain binds itself in its own
// translation unit; this file only assembles them.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace pgfast::bind {
void bind_envs(py::module_& m);
void bind_policies(py::module_& m);
void bind_algorithms(py::module_& m);
void bind_callback_env(py::module_& m);
void bind_native(py::module_& m);
}  // namespace pgfast::bind

PYBIND11_MODULE(_core, m, py::mod_gil_not_used()) {
  m.doc() = "pgfast's C++ engine. Use the pgfast package; this module is private.";
  m.attr("__version__") = PGFAST_VERSION;
  pgfast::bind::bind_envs(m);
  pgfast::bind::bind_policies(m);
  pgfast::bind::bind_algorithms(m);
  pgfast::bind::bind_callback_env(m);
  pgfast::bind::bind_native(m);
}
