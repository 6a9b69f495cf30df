// Row-wise integer softmax / LayerNorm and element-wise activations on numpy
// arrays: the last axis is the row; arrays arrive C-contiguous with the right
// dtype (gqalut/__init__.py checks and documents that).
#include "intops_bridge.hpp"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "gqalut/intops.hpp"
#include "gqalut/recipes.hpp"
#include "rows.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace gqalut::python {
namespace {

template <class In>
py::array_t<uint8_t> softmax_rows(const SoftmaxPlan& plan, carray<In> x) {
  return map_rows<uint8_t>(x, "logits",
                           [&](const In* in, uint8_t* o, size_t n) { softmax_row(plan, in, o, n); });
}

template <class In>
py::array_t<In> layernorm_rows(const LayerNormPlan& plan, carray<In> x, carray<int8_t> gamma, carray<int32_t> beta) {
  check_affine(row_length(x, "x"), gamma, beta);
  const int8_t* g = gamma.data();
  const int32_t* b = beta.data();
  return map_rows<In>(x, "x", [&](const In* in, In* o, size_t n) { layernorm_row(plan, in, g, b, o, n); });
}

py::array_t<int8_t> activation_array(const ActivationPlan& plan, carray<int8_t> x) {
  py::array_t<int8_t> out(shape_of(x));
  const int8_t* in = x.data();
  int8_t* o = out.mutable_data();
  size_t count = size_t(x.size());
  py::gil_scoped_release release;
  activation(plan, in, o, count);
  return out;
}

// Read-only properties of a plan's datapath constants, given as name, &Datapath::member pairs.
template <class Plan, class Cls>
void def_datapath(Cls&) {}

template <class Plan, class Cls, class D, class T, class... Rest>
void def_datapath(Cls& cls, const char* name, T D::*member, Rest... rest) {
  cls.def_property_readonly(name, [member](const Plan& p) { return p.datapath().*member; });
  def_datapath<Plan>(cls, rest...);
}

}  // namespace

void bind_intops(py::module_& m) {
  // The operations' table recipes and accuracy targets (gqalut/recipes.hpp): the one place they are written.
  m.def("table_recipes", [] {
    py::list out;
    for (const TableRecipe& r : table_recipes())
      out.append(py::dict("name"_a = r.name, "role"_a = r.role, "op"_a = r.op, "function"_a = r.function,
                          "range"_a = py::make_tuple(r.lo, r.hi), "scales"_a = r.scales,
                          "slope_format"_a = r.slope_format, "intercept_format"_a = r.intercept_format,
                          "why"_a = r.why));
    return out;
  });
  m.def("accuracy_targets", [] {
    py::list out;
    for (const AccuracyTarget& t : accuracy_targets())
      out.append(py::dict("op"_a = t.op, "rows"_a = t.rows, "max_entries"_a = t.max_entries,
                          "out_frac"_a = t.out_frac, "max_lsb"_a = t.max_lsb, "mean_lsb"_a = t.mean_lsb,
                          "source"_a = t.source));
    return out;
  });
  py::class_<SoftmaxPlan> softmax_plan(m, "SoftmaxPlan");
  using SD = SoftmaxDatapath;
  def_datapath<SoftmaxPlan>(softmax_plan, "in_frac", &SD::in_frac, "out_frac", &SD::out_frac,
                            "exp_scale", &SD::exp_scale, "div_scale", &SD::div_scale, "div_a", &SD::div_a,
                            "div_max_rel_error", &SD::div_max_rel_error, "newton_steps", &SD::newton_steps);
  py::class_<LayerNormPlan> layernorm_plan(m, "LayerNormPlan");
  using LD = LayerNormDatapath;
  def_datapath<LayerNormPlan>(layernorm_plan, "in_frac", &LD::in_frac, "out_frac", &LD::out_frac,
                              "gamma_frac", &LD::gamma_frac, "eps", &LD::eps, "rsqrt_scale", &LD::rsqrt_scale,
                              "rsqrt_a", &LD::rsqrt_a, "rsqrt_max_rel_error", &LD::rsqrt_max_rel_error,
                              "newton_steps", &LD::newton_steps);
  py::class_<ActivationPlan>(m, "ActivationPlan");

  m.def("prepare_softmax", &prepare_softmax, py::arg("exp_set"), py::arg("div_set"), py::arg("in_frac"),
        py::arg("out_frac") = 8);
  m.def("softmax_s8", &softmax_rows<int8_t>, py::arg("plan"), py::arg("x").noconvert());
  m.def("softmax_s32", &softmax_rows<int32_t>, py::arg("plan"), py::arg("x").noconvert());
  m.def("prepare_layernorm", &prepare_layernorm, py::arg("rsqrt_set"), py::arg("in_frac"), py::arg("out_frac") = 4,
        py::arg("gamma_frac") = 6, py::arg("eps") = 1e-5);
  m.def("layernorm_s8", &layernorm_rows<int8_t>, py::arg("plan"), py::arg("x").noconvert(),
        py::arg("gamma").noconvert(), py::arg("beta").noconvert());
  m.def("layernorm_s16", &layernorm_rows<int16_t>, py::arg("plan"), py::arg("x").noconvert(),
        py::arg("gamma").noconvert(), py::arg("beta").noconvert());
  m.def("prepare_activation", &prepare_activation, py::arg("set"), py::arg("in_frac"), py::arg("out_frac"));
  m.def("activation_s8", &activation_array, py::arg("plan"), py::arg("x").noconvert());
}

}  // namespace gqalut::python
