// gqalut._core: I-BERT's integer operations (include/gqalut/ibert.hpp) on numpy
// arrays of integer codes, the library's baseline beside the table methods. Rows
// are the last axis; arrays must be C-contiguous with the stated dtype (a wrong
// dtype is a TypeError, never a silent cast); bad values raise ValueError with
// the library's one-line message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/ibert.hpp"
#include "rows.hpp"

namespace py = pybind11;

namespace gqalut::python {
namespace {

template <class In>
carray<uint8_t> softmax_rows(carray<In> x, int in_frac, int out_frac, int work_frac) {
  const ibert::Softmax s = ibert::make_softmax(in_frac, out_frac, work_frac);
  return map_rows<uint8_t>(x, "logits",
                           [&](const In* in, uint8_t* o, size_t n) { ibert::softmax_row(s, in, o, n); });
}

}  // namespace

void bind_ibert(py::module_& m) {
  m.def(
      "ibert_exp",
      [](carray<int64_t> q, int in_frac) {
        const ibert::Exp e = ibert::make_exp(in_frac);
        carray<int64_t> out(shape_of(q));
        const int64_t* in = q.data();
        int64_t* o = out.mutable_data();
        for (py::ssize_t i = 0; i < q.size(); ++i) {
          if (in[i] > 0)
            throw std::invalid_argument(fmt::format("ibert_exp takes codes q <= 0 (x = q 2^-in_frac <= 0), got {}", in[i]));
          o[i] = ibert::i_exp(e, in[i]);
        }
        return out;
      },
      py::arg("q"), py::arg("in_frac"),
      "I-BERT's i-exp of int64 codes q <= 0 at 2^-in_frac (in_frac in [1, 20]): e = i-poly(p) >> z with\n"
      "z = floor(-q / q_ln2), p = q + z q_ln2; exp(q 2^-in_frac) ~ e * scale (ibert_exp_constants).");
  m.def(
      "ibert_exp_constants",
      [](int in_frac) {
        const ibert::Exp e = ibert::make_exp(in_frac);
        py::dict d;
        d["in_frac"] = e.in_frac;
        d["q_ln2"] = e.q_ln2;
        d["qb"] = e.poly.qb;
        d["qc"] = e.poly.qc;
        d["scale"] = e.poly.scale_out;
        return d;
      },
      py::arg("in_frac"), "The integer constants of i-exp at 2^-in_frac: q_ln2, qb, qc and e's scale a 2^-2in_frac.");
  m.def("ibert_softmax", &softmax_rows<int8_t>, py::arg("logits"), py::arg("in_frac"), py::arg("out_frac") = 8,
        py::arg("work_frac") = -1,
        "I-BERT's integer softmax over the last axis of int8 (or int32) logit codes at 2^-in_frac -> uint8\n"
        "probability codes at 2^-out_frac: e_i = i-exp((q_i - max) << (work_frac - in_frac)) at the working\n"
        "scale 2^-work_frac (-1: max(in_frac, 10)), p_i = min(round(e_i 2^out_frac / sum e), 255).");
  m.def("ibert_softmax", &softmax_rows<int32_t>, py::arg("logits"), py::arg("in_frac"), py::arg("out_frac") = 8,
        py::arg("work_frac") = -1);
  m.def(
      "ibert_gelu",
      [](carray<int8_t> q, int in_frac, int out_frac) {
        const ibert::Gelu g = ibert::make_gelu(in_frac, out_frac);
        carray<int8_t> out(shape_of(q));
        ibert::gelu(g, q.data(), out.mutable_data(), size_t(q.size()));
        return out;
      },
      py::arg("q"), py::arg("in_frac"), py::arg("out_frac"),
      "I-BERT's i-GELU of int8 codes at 2^-in_frac (in_frac in [1, 10]) -> int8 codes at 2^-out_frac\n"
      "(erf by the clipped second-order polynomial, dyadic requantization, saturated).");
  m.def(
      "ibert_gelu_constants",
      [](int in_frac, int out_frac) {
        const ibert::Gelu g = ibert::make_gelu(in_frac, out_frac);
        py::dict d;
        d["qb"] = g.erf.qb;
        d["qc"] = g.erf.qc;
        d["clip"] = g.clip;
        d["q_one"] = g.q_one;
        d["mult"] = g.mult;
        d["shift"] = g.shift;
        return d;
      },
      py::arg("in_frac"), py::arg("out_frac"), "The integer constants of i-GELU: qb, qc, clip, q_one, mult, shift.");
  m.def(
      "ibert_layernorm",
      [](carray<int8_t> x, carray<int8_t> gamma, carray<int32_t> beta, int in_frac, int out_frac, int gamma_frac,
         double eps) {
        const ibert::LayerNorm l = ibert::make_layernorm(in_frac, out_frac, gamma_frac, eps);
        check_affine(row_length(x, "x"), gamma, beta);
        const int8_t* g = gamma.data();
        const int32_t* b = beta.data();
        return map_rows<int8_t>(
            x, "x", [&](const int8_t* in, int8_t* o, size_t n) { ibert::layernorm_row(l, in, g, b, o, n); });
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("in_frac"), py::arg("out_frac") = 4,
      py::arg("gamma_frac") = 6, py::arg("eps") = 1e-5,
      "I-BERT-style integer LayerNorm over the last axis of int8 codes at 2^-in_frac: gamma int8 at\n"
      "2^-gamma_frac, beta int32 at 2^-out_frac -> int8 at 2^-out_frac; sigma = isqrt(n^2 (var + eps))\n"
      "by the iterative integer square root, one rounded integer division per element.");
  m.def(
      "ibert_isqrt",
      [](carray<uint64_t> v) {
        carray<uint64_t> out(shape_of(v));
        const uint64_t* in = v.data();
        uint64_t* o = out.mutable_data();
        for (py::ssize_t i = 0; i < v.size(); ++i) o[i] = ibert::isqrt(in[i]);
        return out;
      },
      py::arg("v"), "floor(sqrt(v)) of uint64 values by the iterative integer square root (Newton on integers).");
}

}  // namespace gqalut::python
