// Row-wise integer softmax / LayerNorm and element-wise activations on numpy
// arrays: the last axis is the row; arrays arrive C-contiguous with the right
// dtype (gqalut/__init__.py checks and documents that).
#include "intops_bridge.hpp"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "gqalut/intops.hpp"
#include "gqalut/recipes.hpp"

namespace py = pybind11;

namespace gqalut::python {
namespace {

std::vector<py::ssize_t> shape_of(const py::array& a) { return {a.shape(), a.shape() + a.ndim()}; }

size_t row_length(const py::array& a, const char* what) {
  if (a.ndim() < 1 || a.shape(a.ndim() - 1) < 1)
    throw std::invalid_argument(fmt::format("{} must have at least one element on its last axis", what));
  return size_t(a.shape(a.ndim() - 1));
}

template <class In>
py::array_t<uint8_t> softmax_rows(const SoftmaxPlan& plan, py::array_t<In, py::array::c_style> x) {
  size_t n = row_length(x, "logits");
  py::array_t<uint8_t> out(shape_of(x));
  size_t rows = size_t(x.size()) / n;
  const In* in = x.data();
  uint8_t* o = out.mutable_data();
  py::gil_scoped_release release;
  for (size_t r = 0; r < rows; ++r) softmax_row(plan, in + r * n, o + r * n, n);
  return out;
}

py::array_t<int8_t> layernorm_rows(const LayerNormPlan& plan, py::array_t<int8_t, py::array::c_style> x,
                                   py::array_t<int8_t, py::array::c_style> gamma,
                                   py::array_t<int32_t, py::array::c_style> beta) {
  size_t n = row_length(x, "x");
  if (size_t(gamma.size()) != n || size_t(beta.size()) != n)
    throw std::invalid_argument(fmt::format("gamma and beta must have {} elements (the row length), got {} and {}", n,
                                            gamma.size(), beta.size()));
  py::array_t<int8_t> out(shape_of(x));
  size_t rows = size_t(x.size()) / n;
  const int8_t* in = x.data();
  const int8_t* g = gamma.data();
  const int32_t* b = beta.data();
  int8_t* o = out.mutable_data();
  py::gil_scoped_release release;
  for (size_t r = 0; r < rows; ++r) layernorm_row(plan, in + r * n, g, b, o + r * n, n);
  return out;
}

py::array_t<int8_t> activation_array(const ActivationPlan& plan, py::array_t<int8_t, py::array::c_style> x) {
  py::array_t<int8_t> out(shape_of(x));
  const int8_t* in = x.data();
  int8_t* o = out.mutable_data();
  size_t count = size_t(x.size());
  py::gil_scoped_release release;
  activation(plan, in, o, count);
  return out;
}

}  // namespace

void bind_intops(py::module_& m) {
  // The operations' table recipes and accuracy targets (gqalut/recipes.hpp): the one place they are written.
  m.def("table_recipes", [] {
    py::list out;
    for (const TableRecipe& r : table_recipes()) {
      py::dict d;
      d["name"] = r.name;
      d["role"] = r.role;
      d["op"] = r.op;
      d["function"] = r.function;
      d["range"] = py::make_tuple(r.lo, r.hi);
      d["scales"] = r.scales;
      d["slope_format"] = r.slope_format;
      d["intercept_format"] = r.intercept_format;
      d["why"] = r.why;
      out.append(d);
    }
    return out;
  });
  m.def("accuracy_targets", [] {
    py::list out;
    for (const AccuracyTarget& t : accuracy_targets()) {
      py::dict d;
      d["op"] = t.op;
      d["rows"] = t.rows;
      d["max_entries"] = t.max_entries;
      d["out_frac"] = t.out_frac;
      d["max_lsb"] = t.max_lsb;
      d["mean_lsb"] = t.mean_lsb;
      d["source"] = t.source;
      out.append(d);
    }
    return out;
  });
  py::class_<SoftmaxPlan>(m, "SoftmaxPlan")
      .def_property_readonly("in_frac", [](const SoftmaxPlan& p) { return p.datapath().in_frac; })
      .def_property_readonly("out_frac", [](const SoftmaxPlan& p) { return p.datapath().out_frac; })
      .def_property_readonly("exp_scale", [](const SoftmaxPlan& p) { return p.datapath().exp_scale; })
      .def_property_readonly("div_scale", [](const SoftmaxPlan& p) { return p.datapath().div_scale; })
      .def_property_readonly("div_a", [](const SoftmaxPlan& p) { return p.datapath().div_a; })
      .def_property_readonly("div_max_rel_error", [](const SoftmaxPlan& p) { return p.datapath().div_max_rel_error; })
      .def_property_readonly("newton_steps", [](const SoftmaxPlan& p) { return p.datapath().newton_steps; });
  py::class_<LayerNormPlan>(m, "LayerNormPlan")
      .def_property_readonly("in_frac", [](const LayerNormPlan& p) { return p.datapath().in_frac; })
      .def_property_readonly("out_frac", [](const LayerNormPlan& p) { return p.datapath().out_frac; })
      .def_property_readonly("gamma_frac", [](const LayerNormPlan& p) { return p.datapath().gamma_frac; })
      .def_property_readonly("eps", [](const LayerNormPlan& p) { return p.datapath().eps; })
      .def_property_readonly("rsqrt_scale", [](const LayerNormPlan& p) { return p.datapath().rsqrt_scale; })
      .def_property_readonly("rsqrt_a", [](const LayerNormPlan& p) { return p.datapath().rsqrt_a; })
      .def_property_readonly("rsqrt_max_rel_error",
                             [](const LayerNormPlan& p) { return p.datapath().rsqrt_max_rel_error; })
      .def_property_readonly("newton_steps", [](const LayerNormPlan& p) { return p.datapath().newton_steps; });
  py::class_<ActivationPlan>(m, "ActivationPlan");

  m.def("prepare_softmax", &prepare_softmax, py::arg("exp_set"), py::arg("div_set"), py::arg("in_frac"),
        py::arg("out_frac") = 8);
  m.def("softmax_s8", &softmax_rows<int8_t>, py::arg("plan"), py::arg("x").noconvert());
  m.def("softmax_s32", &softmax_rows<int32_t>, py::arg("plan"), py::arg("x").noconvert());
  m.def("prepare_layernorm", &prepare_layernorm, py::arg("rsqrt_set"), py::arg("in_frac"), py::arg("out_frac") = 4,
        py::arg("gamma_frac") = 6, py::arg("eps") = 1e-5);
  m.def("layernorm_s8", &layernorm_rows, py::arg("plan"), py::arg("x").noconvert(), py::arg("gamma").noconvert(),
        py::arg("beta").noconvert());
  m.def("prepare_activation", &prepare_activation, py::arg("set"), py::arg("in_frac"), py::arg("out_frac"));
  m.def("activation_s8", &activation_array, py::arg("plan"), py::arg("x").noconvert());
}

}  // namespace gqalut::python
