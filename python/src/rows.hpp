// gqalut._core: numpy arrays as rows (the last axis) for the bindings of the row-wise
// integer operations (intops_bridge.cpp, ibert_bindings.cpp): the shape, the row length
// and one loop over the rows with the GIL released.
#pragma once

#include <fmt/format.h>
#include <pybind11/numpy.h>

#include <cstddef>
#include <stdexcept>
#include <vector>

namespace gqalut::python {

template <class T>
using carray = pybind11::array_t<T, pybind11::array::c_style>;

inline std::vector<pybind11::ssize_t> shape_of(const pybind11::array& a) {
  return {a.shape(), a.shape() + a.ndim()};
}

// The length of a's rows (its last axis); throws std::invalid_argument naming `what` when it has none.
inline size_t row_length(const pybind11::array& a, const char* what) {
  if (a.ndim() < 1 || a.shape(a.ndim() - 1) < 1)
    throw std::invalid_argument(fmt::format("{} must have at least one element on its last axis", what));
  return size_t(a.shape(a.ndim() - 1));
}

// Throws std::invalid_argument unless gamma and beta have n elements (a LayerNorm's row length).
inline void check_affine(size_t n, const pybind11::array& gamma, const pybind11::array& beta) {
  if (size_t(gamma.size()) != n || size_t(beta.size()) != n)
    throw std::invalid_argument(
        fmt::format("gamma and beta must have {} elements (the row length), got {} and {}", n, gamma.size(),
                    beta.size()));
}

// An array of x's shape and dtype Out holding row(in, out, n) of every row of x (`what`
// names x in the error of an empty last axis); the rows run with the GIL released.
template <class Out, class In, class RowFn>
pybind11::array_t<Out> map_rows(const carray<In>& x, const char* what, RowFn&& row) {
  const size_t n = row_length(x, what);
  pybind11::array_t<Out> out(shape_of(x));
  const size_t rows = size_t(x.size()) / n;
  const In* in = x.data();
  Out* o = out.mutable_data();
  pybind11::gil_scoped_release release;
  for (size_t r = 0; r < rows; ++r) row(in + r * n, o + r * n, n);
  return out;
}

}  // namespace gqalut::python
