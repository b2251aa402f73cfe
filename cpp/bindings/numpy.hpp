// Argument conversion for the bindings: every array from Python is checked
// for kind, shape and values here, so that _core is safe to call directly.
#ifndef PGFAST_BINDINGS_NUMPY_HPP_
#define PGFAST_BINDINGS_NUMPY_HPP_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/check.hpp"

namespace pgfast::bind {

namespace py = pybind11;

inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    s += std::to_string(a.shape(d));
    if (a.ndim() == 1 || d + 1 < a.ndim()) s += d + 1 < a.ndim() ? ", " : ",";
  }
  return s + ")";
}

inline std::string shape_str(const std::vector<py::ssize_t>& shape) {
  std::string s = "(";
  for (std::size_t d = 0; d < shape.size(); ++d) {
    s += std::to_string(shape[d]);
    if (shape.size() == 1 || d + 1 < shape.size()) s += d + 1 < shape.size() ? ", " : ",";
  }
  return s + ")";
}

inline py::array as_array(const py::handle& obj, const char* name) {
  if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
  try {
    return py::array(py::module_::import("numpy").attr("asarray")(obj));
  } catch (py::error_already_set& e) {
    throw py::type_error(concat(name, " must be array-like: ", e.what()));
  }
}

// Inputs beyond this many elements are refused before any copy: 2**31
// float64 values are already 16 GiB, and a zero-strided view can claim far
// more elements than memory holds.
inline constexpr py::ssize_t kMaxElements = py::ssize_t{1} << 31;

inline void require_size(const py::array& a, const char* name) {
  if (a.size() > kMaxElements)
    throw py::value_error(
        concat(name, " has ", a.size(), " elements; at most ", kMaxElements, " are accepted"));
}

// A C-contiguous, aligned array of T, copied only when needed (an unpickled
// out-of-band buffer can be misaligned, and a misaligned double* is
// undefined behaviour). A failed conversion (no memory for the copy, a
// dtype numpy cannot cast) raises here instead of returning an empty array
// to be used later.
template <class T, int Flags = py::array::c_style | py::array::forcecast |
                               py::detail::npy_api::NPY_ARRAY_ALIGNED_>
py::array_t<T, Flags> contiguous(const py::array& a, const char* name) {
  require_size(a, name);
  auto result = py::array_t<T, Flags>::ensure(a);
  if (!result)
    throw py::value_error(concat(name, " could not be converted to a contiguous array of ",
                                 std::string(py::str(py::dtype::of<T>())), " (", a.size(),
                                 " elements)"));
  return result;
}

inline void require_shape(const py::array& a, const std::vector<py::ssize_t>& shape,
                          const char* name) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (std::size_t d = 0; ok && d < shape.size(); ++d)
    ok = a.shape(static_cast<py::ssize_t>(d)) == shape[d];
  if (!ok)
    throw py::value_error(
        concat(name, " must have shape ", shape_str(shape), ", got ", shape_str(a)));
}

// Integer arrays only (a float action for a Discrete space is a bug, not
// something to truncate); returned C-contiguous int64. With `shape`, the
// shape is checked before anything is copied.
inline py::array_t<std::int64_t> int64_array(const py::handle& obj, const char* name,
                                             const std::vector<py::ssize_t>* shape = nullptr) {
  py::array a = as_array(obj, name);
  const char kind = a.dtype().kind();
  if (kind != 'i' && kind != 'u')
    throw py::type_error(
        concat(name, " must be an integer array, got dtype ", std::string(py::str(a.dtype()))));
  if (shape) require_shape(a, *shape, name);
  if (kind == 'u' && a.dtype().itemsize() == 8) {
    // uint64 values above 2**63 would wrap to negative int64 silently.
    auto u = contiguous<std::uint64_t>(a, name);
    for (py::ssize_t k = 0; k < u.size(); ++k)
      if (u.data()[k] > static_cast<std::uint64_t>(INT64_MAX))
        throw py::value_error(concat(name, " has an entry out of the int64 range: ", u.data()[k]));
  }
  return contiguous<std::int64_t>(a, name);
}

// Real numbers (float or integer dtypes) as C-contiguous float64; with
// `shape`, checked before anything is copied.
inline py::array_t<double> float64_array(const py::handle& obj, const char* name,
                                         const std::vector<py::ssize_t>* shape = nullptr) {
  py::array a = as_array(obj, name);
  const char kind = a.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u')
    throw py::type_error(
        concat(name, " must be a real-valued array, got dtype ", std::string(py::str(a.dtype()))));
  if (shape) require_shape(a, *shape, name);
  return contiguous<double>(a, name);
}

inline void require_finite(const py::array_t<double>& a, const char* name) {
  const double* p = a.data();
  for (py::ssize_t k = 0; k < a.size(); ++k)
    if (!std::isfinite(p[k]))
      throw py::value_error(concat(name, " must be finite; flat entry ", k, " is ", p[k]));
}

inline std::vector<double> to_vector(const py::array_t<double>& a) {
  return std::vector<double>(a.data(), a.data() + a.size());
}

}  // namespace pgfast::bind

#endif  // PGFAST_BINDINGS_NUMPY_HPP_
