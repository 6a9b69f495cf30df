// gqalut._core: the pybind11 layer over the C++ library. Thin by design: the
// Pythonic API (keyword arguments, docstrings, dtype checks) is gqalut/__init__.py.
// std::invalid_argument from the library becomes ValueError with its one-line
// message (pybind11's standard translation).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gqalut/function.hpp"
#include "gqalut/io.hpp"
#include "gqalut/kernels.hpp"
#include "gqalut/methods.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/report.hpp"
#include "gqalut/search.hpp"
#include "gqalut/table.hpp"
#include "intops_bridge.hpp"

namespace gqalut::python {
void bind_ibert(pybind11::module_& m);  // ibert_bindings.cpp
}

namespace py = pybind11;
using json = nlohmann::json;

namespace gqalut::python {
namespace {

std::vector<double> check_range_arg(const std::vector<double>& range) {
  if (!range.empty() && range.size() != 2)
    throw std::invalid_argument(fmt::format("range must be (lo, hi), got {} numbers", range.size()));
  return range;
}

// The function a set is measured against: the one given (name or expression),
// else the one the set records; the range: given, else the set's, else the function's.
Function function_for(const TableSet& set, const std::string& func, const std::string& expr,
                      const std::vector<double>& range, double* lo, double* hi) {
  if (!func.empty() && !expr.empty()) throw std::invalid_argument("give func or expr, not both");
  check_range_arg(range);
  Function fn;
  if (!expr.empty()) {
    if (range.empty() && !(set.lo < set.hi)) throw std::invalid_argument("expr needs range=(lo, hi)");
    fn = parse_expression(expr, range.empty() ? set.lo : range[0], range.empty() ? set.hi : range[1]);
  } else if (!func.empty()) {
    fn = find_function(func);
  } else {
    fn = recorded_function(set, "give func=NAME or expr=\"...\" with range=(lo, hi)");
  }
  measured_range(set, fn, range, lo, hi);
  return fn;
}

// The object `gqalut eval --json` prints (error_report_json, gqalut/report.hpp), as JSON text:
// a set that records its tie rule is measured with it; `tie_text` chooses the rule only for a
// set that does not (an official file), which also gets the other rule's figures.
std::string evaluate_json(const TableSet& set, const std::string& func, const std::string& expr,
                          const std::vector<double>& range, const std::string& protocol_text,
                          const std::vector<int>& scales, const std::string& tie_text) {
  double lo = 0, hi = 0;
  Function fn = function_for(set, func, expr, range, &lo, &hi);
  Protocol protocol = parse_protocol(protocol_text);
  TieRule tie = measured_tie(set, tie_text.empty() ? std::nullopt : std::optional(parse_tie_rule(tie_text)), "tie",
                             "this table set");
  return error_report_json(set, fn, lo, hi, protocol, scales, tie).dump();
}

TableSet fit(const std::string& func, const std::string& expr, const std::vector<double>& range_in, int entries,
             const std::string& method, const std::vector<int>& scales, const std::string& slope_format,
             const std::string& intercept_format, const std::string& objective, bool shared,
             const std::string& settings_json, const std::string& tie, int input_bits) {
  std::vector<double> range = check_range_arg(range_in);
  Problem p;
  if (!func.empty() && !expr.empty()) throw std::invalid_argument("give func or expr, not both");
  if (!expr.empty()) {
    if (range.empty()) throw std::invalid_argument("expr needs range=(lo, hi)");
    p.function = parse_expression(expr, range[0], range[1]);
  } else if (!func.empty()) {
    p.function = find_function(func);
  } else {
    throw std::invalid_argument("give the function: func=NAME (gelu, hswish, ...) or expr=\"...\" with range");
  }
  p.lo = range.empty() ? p.function.lo : range[0];
  p.hi = range.empty() ? p.function.hi : range[1];
  check_finite_on(p.function, p.lo, p.hi);
  p.entries = entries;
  p.scales = scales;
  p.input_bits = input_bits;
  p.slope_format = FormatChoice::parse(slope_format);
  p.intercept_format = FormatChoice::parse(intercept_format);
  p.objective = parse_objective(objective);
  p.shared = shared;
  if (!tie.empty()) p.tie = parse_tie_rule(tie);
  const Method& m = find_method(method);
  if ((objective != "mse" || shared) && !m.uses_objective) {
    std::string takers;
    for (const Method& x : methods())
      if (x.uses_objective) takers += (takers.empty() ? "" : ", ") + x.name;
    throw std::invalid_argument(
        fmt::format("objective and shared apply to methods {}, not to '{}'", takers, m.name));
  }
  p.validate();
  json settings = json::parse(settings_json);
  check_settings(m, settings);
  Result r;
  {
    py::gil_scoped_release release;
    r = m.run(p, settings, {});
  }
  return std::move(r.tables);
}

// The kernel plan of a table under its own tie rule: a left-rule table is planned as the
// right-rule table that computes the same on every integer code (with_tie).
PwlPlan plan_of(const Table& t, int input_bits) {
  return prepare_pwl(t.tie == TieRule::right ? t : with_tie(t, TieRule::right), input_bits);
}

// The one rule for input codes outside the table's input width b_in (the C header's,
// docs/export.md): they saturate to [-2^(b_in-1), 2^(b_in-1) - 1] before the lookup, as a b_in-bit
// datapath sees no other codes. The kernel runs at 8 bits when the codes or the table fit 8 bits,
// else at 16; codes that need saturating are clamped block by block into a small buffer.
template <class In>
class SaturatingApply {
 public:
  explicit SaturatingApply(const Table& t)
      : lo_(t.input_min()),
        hi_(t.input_max()),
        kernel_bits_(sizeof(In) == 1 || t.input_bits <= 8 ? 8 : 16),
        direct_(kernel_bits_ == int(sizeof(In) * 8) && t.input_bits >= kernel_bits_),
        plan_(plan_of(t, kernel_bits_)) {}

  // out[i] = acc of in[i] saturated to the table's width, i < n. Call without the GIL.
  void run(const In* in, int32_t* out, size_t n) const {
    if (direct_) {
      apply(plan_, in, out, n);
    } else if (kernel_bits_ == 8) {
      run_clamped<int8_t>(in, out, n);
    } else {
      run_clamped<int16_t>(in, out, n);
    }
  }

 private:
  template <class K>
  void run_clamped(const In* in, int32_t* out, size_t n) const {
    constexpr size_t kBlock = 4096;
    K buf[kBlock];
    for (size_t i = 0; i < n; i += kBlock) {
      size_t m = std::min(kBlock, n - i);
      for (size_t j = 0; j < m; ++j) buf[j] = K(std::clamp<int32_t>(in[i + j], lo_, hi_));
      apply(plan_, buf, out + i, m);
    }
  }

  int32_t lo_, hi_;
  int kernel_bits_;
  bool direct_;
  PwlPlan plan_;
};

// acc for every code of an int8 (or int16) array, through the SIMD kernels.
template <class In>
py::array_t<int32_t> apply_acc(const Table& t, py::array_t<In, py::array::c_style> q, py::object out_obj) {
  SaturatingApply<In> applier(t);
  py::array_t<int32_t> out;
  if (out_obj.is_none()) {
    std::vector<py::ssize_t> shape(q.shape(), q.shape() + q.ndim());
    out = py::array_t<int32_t>(shape);
  } else {
    if (!py::isinstance<py::array_t<int32_t>>(out_obj)) throw py::type_error("out must be an int32 array");
    py::array a = out_obj.cast<py::array>();
    if (!(a.flags() & py::array::c_style) || !a.writeable())
      throw py::type_error("out must be a writeable C-contiguous int32 array");
    if (a.size() != q.size()) throw std::invalid_argument(fmt::format("out has {} elements, q has {}", a.size(), q.size()));
    out = py::reinterpret_borrow<py::array_t<int32_t>>(a);
  }
  const In* in = q.data();
  int32_t* o = out.mutable_data();
  size_t n = size_t(q.size());
  {
    py::gil_scoped_release release;
    applier.run(in, o, n);
  }
  return out;
}

// Values acc * 2^-L (exact in float64 for every INT8 table).
py::array_t<double> apply_value(const Table& t, py::array_t<int8_t, py::array::c_style> q) {
  SaturatingApply<int8_t> applier(t);
  std::vector<py::ssize_t> shape(q.shape(), q.shape() + q.ndim());
  py::array_t<double> out(shape);
  size_t n = size_t(q.size());
  const int8_t* in = q.data();
  double* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    // Through the kernel in blocks, then scaled: no full-size int32 temporary.
    constexpr size_t kBlock = 4096;
    int32_t acc[kBlock];
    double scale = std::ldexp(1.0, -t.shift());  // the plan keeps the table's L
    for (size_t i = 0; i < n; i += kBlock) {
      size_t m = std::min(kBlock, n - i);
      applier.run(in + i, acc, m);
      for (size_t j = 0; j < m; ++j) o[i + j] = acc[j] * scale;
    }
  }
  return out;
}

// The C++ kernel timed on the same call (for the speed comparison): median of
// `repeats` runs of apply(plan, q, out) in seconds.
double time_kernel(const Table& t, py::array_t<int8_t, py::array::c_style> q, py::array_t<int32_t, py::array::c_style> out,
                   int repeats) {
  if (out.size() != q.size()) throw std::invalid_argument("out and q differ in size");
  PwlPlan plan = plan_of(t, 8);
  std::vector<double> times;
  const int8_t* in = q.data();
  int32_t* o = out.mutable_data();
  const size_t n = size_t(q.size());
  py::gil_scoped_release release;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    apply(plan, in, o, n);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Fused quantize -> table -> dequantize for the torch modules: y = T_n(clamp(round(x * 2^n))) with
// the table's 256 outputs given (lut[q + 128] = acc * 2^-L); codes written to `codes`.
// round: half to even (torch.round). Bit-exact with the evaluator by construction of lut.
template <class F>
void quantize_lookup(py::array_t<F, py::array::c_style> x, int n, py::array_t<F, py::array::c_style> lut,
                     py::array_t<F, py::array::c_style> y, py::array_t<int8_t, py::array::c_style> codes) {
  if (lut.size() != 256) throw std::invalid_argument("lut must have 256 entries");
  if (y.size() != x.size() || codes.size() != x.size()) throw std::invalid_argument("x, y and codes differ in size");
  const F* xi = x.data();
  const F* l = lut.data();
  F* yo = y.mutable_data();
  int8_t* c = codes.mutable_data();
  size_t count = size_t(x.size());
  const F s = F(std::ldexp(1.0, n));
  py::gil_scoped_release release;
  for (size_t i = 0; i < count; ++i) {
    F v = std::nearbyint(xi[i] * s);  // default rounding mode: half to even
    v = v > F(127) ? F(127) : v;
    v = v >= F(-128) ? v : F(-128);  // NaN too (its output stays NaN below)
    int q = int(v);
    c[i] = int8_t(q);
    yo[i] = xi[i] == xi[i] ? l[q + 128] : xi[i];
  }
}

}  // namespace
}  // namespace gqalut::python

PYBIND11_MODULE(_core, m) {
  using namespace gqalut;
  using namespace gqalut::python;
  m.doc() = "gqalut's C++ library (use the gqalut package, not this module)";

  py::class_<Table>(m, "Table")
      .def_readonly("n", &Table::n)
      .def_readonly("input_bits", &Table::input_bits)
      .def_readonly("breakpoints", &Table::breakpoints)
      .def_readonly("slopes", &Table::slopes)
      .def_readonly("intercepts", &Table::intercepts)
      .def_property_readonly("slope_format", [](const Table& t) { return t.slope_format.name(); })
      .def_property_readonly("intercept_format", [](const Table& t) { return t.intercept_format.name(); })
      .def_property_readonly("slope_frac_bits", [](const Table& t) { return t.slope_format.frac_bits; })
      .def_property_readonly("intercept_frac_bits", [](const Table& t) { return t.intercept_format.frac_bits; })
      .def_property_readonly("entries", &Table::entries)
      .def_property_readonly("shift", &Table::shift)
      .def_property_readonly("is_int8", &Table::is_int8)
      .def_property_readonly("tie", [](const Table& t) { return std::string(to_string(t.tie)); })
      .def("accumulator_bits", &Table::accumulator_bits, py::arg("input_bits") = 8)
      .def("eval_acc", [](const Table& t, int32_t q) { return eval_acc(t, q); }, py::arg("q"))
      .def("segment_of", [](const Table& t, int32_t q) { return segment_of(t, q); }, py::arg("q"));

  py::class_<TableSet>(m, "TableSet")
      .def_readonly("function", &TableSet::function)
      .def_readonly("expression", &TableSet::expression)
      .def_readonly("lo", &TableSet::lo)
      .def_readonly("hi", &TableSet::hi)
      .def_property_readonly("entries", &TableSet::entries)
      .def_property_readonly("scales", &TableSet::scales)
      .def_property_readonly("tie", [](const TableSet& s) { return std::string(to_string(s.tie())); })
      .def_readonly("tie_recorded", &TableSet::tie_recorded)
      .def_property_readonly("meta_json", [](const TableSet& s) { return s.meta.dump(); })
      .def("at", &TableSet::at, py::return_value_policy::reference_internal, py::arg("n"));

  m.def("load", &read_json_file, py::arg("path"));
  m.def("loads", [](const std::string& text, const std::string& source) {
    std::istringstream in(text);
    return read_json(in, source);
  }, py::arg("text"), py::arg("source") = "<string>");
  m.def("save", [](const TableSet& s, const std::string& path) { write_json_file(path, s); }, py::arg("set"), py::arg("path"));
  m.def("dumps", [](const TableSet& s) {
    std::ostringstream out;
    write_json(out, s);
    return out.str();
  }, py::arg("set"));
  m.def("evaluate_json", &evaluate_json);
  m.def("fit", &fit);
  m.def("parse_scales", &parse_scales);
  m.def("methods_json", [] {
    json out = json::array();
    for (const Method& x : methods()) {
      json settings = json::array();
      for (const MethodSetting& s : x.settings)
        settings.push_back({{"name", s.name}, {"type", to_string(s.type)}, {"default", s.default_value}, {"help", s.help}});
      out.push_back({{"name", x.name}, {"aliases", x.aliases}, {"help", x.help}, {"settings", settings},
                     {"uses_objective", x.uses_objective}});
    }
    return out.dump();
  });
  m.def("find_method", [](const std::string& name) { return find_method(name).name; });
  m.def("functions", [] {
    std::vector<std::string> names;
    for (const Function& f : builtin_functions()) names.push_back(f.name);
    return names;
  });
  m.def("function_info", [](const std::string& name) {
    const Function& f = find_function(name);
    return py::dict(py::arg("name") = f.name, py::arg("lo") = f.lo, py::arg("hi") = f.hi,
                    py::arg("official_name") = f.official_name);
  });
  m.def("function_value", [](const std::string& name, double x) { return find_function(name)(x); });
  m.def("official_recipe", [](const std::string& name, int entries) {
    OfficialRecipe r = official_recipe(find_function(name), entries);
    return py::dict(py::arg("function") = r.function, py::arg("range") = py::make_tuple(r.lo, r.hi),
                    py::arg("breakpoint_range") = py::make_tuple(r.bp_lo, r.bp_hi),
                    py::arg("outer_points") = py::make_tuple(r.outer_lo, r.outer_hi),
                    py::arg("rounding_mutation") = r.rounding_mutation, py::arg("rm_bits") = py::make_tuple(r.rm_lo, r.rm_hi),
                    py::arg("rm_offset") = r.rm_offset, py::arg("scales") = py::make_tuple(r.scales_lo, r.scales_hi),
                    py::arg("official_name") = r.official_name);
  });

  m.def("apply_acc8", &apply_acc<int8_t>, py::arg("table"), py::arg("q").noconvert(), py::arg("out") = py::none());
  m.def("apply_acc16", &apply_acc<int16_t>, py::arg("table"), py::arg("q").noconvert(), py::arg("out") = py::none());
  m.def("apply_value8", &apply_value, py::arg("table"), py::arg("q").noconvert());
  m.def("time_kernel", &time_kernel, py::arg("table"), py::arg("q"), py::arg("out"), py::arg("repeats"));
  m.def("isa", [] { return std::string(to_string(default_isa())); });
  m.def("quantize_lookup_f32", &quantize_lookup<float>);
  m.def("quantize_lookup_f64", &quantize_lookup<double>);

  m.attr("MAX_ENTRIES") = int(Table::kMaxEntries);
  m.attr("MAX_SCALE") = int(Table::kMaxScale);

  bind_intops(m);
  bind_ibert(m);  // I-BERT baseline (ibert_bindings.cpp)
}
