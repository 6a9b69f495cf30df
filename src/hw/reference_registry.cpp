// The reference units' kinds of the unit registry (src/hw/units.def, gqalut/hw/registry.hpp):
// softmax-fp32, layernorm-fp32, softmax-ibert, layernorm-ibert (gqalut/hw/reference_units.hpp).
#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "gqalut/hw/reference_units.hpp"
#include "gqalut/hw/registry.hpp"
#include "registry_row_unit.hpp"

namespace gqalut::hw {
namespace {

// The row sets of `gqalut ops` (detail::ops_rows_error: 3 lengths x 40 rows, seed 1000003 + n) and
// the rows' model run with a buffer long enough for them.
constexpr int kOpsMaxN = 4096;
constexpr int kOpsRows = 40;

UnitError softmax_error(const SoftmaxRowFn& model, int in_frac, int out_frac) {
  return detail::ops_rows_error(
      [&](size_t n, uint64_t seed) {
        return measure_softmax_rows(model, in_frac, out_frac, normal_logit_rows(n, kOpsRows, seed));
      },
      "gqalut ops softmax rows: normal logits, 40 rows of 197 / 768 / 3072 at 2^-4, uint8 out at 2^-8");
}

UnitError layernorm_error(const LayerNormRowFn& model, int in_frac, int gamma_frac, int out_frac,
                          double eps) {
  return detail::ops_rows_error(
      [&](size_t n, uint64_t seed) {
        return measure_layernorm_rows(model, in_frac, gamma_frac, out_frac, eps, layernorm_rows(n, kOpsRows, seed), 1);
      },
      "gqalut ops layernorm rows: 40 rows of 197 / 768 / 3072 at 2^-4, gamma 2^-6, int8 out at 2^-4");
}

// A configuration with lanes (elements per beat: the FP32 units that have them), or without.
template <class Config, class = void>
struct HasLanes : std::false_type {};
template <class Config>
struct HasLanes<Config, std::void_t<decltype(Config::lanes)>> : std::true_type {};

// (build_unit refuses lanes > 1 for the kinds whose units.def options do not name lanes.)
void check_request(const char* kind, const UnitRequest& r) {
  if (r.programmable)
    throw std::invalid_argument(
        fmt::format("{}: has no tables to program (--programmable does not apply)", kind));
}

// The testbench's beats: lanes elements each where the unit has lanes.
template <class Config>
void set_lanes(StreamCheck& chk, const Config& c) {
  if constexpr (HasLanes<Config>::value) chk.lanes = c.lanes;
}

// The checks of `gqalut hw simulate` (edge rows and random rows of lengths 1..max_n, with random
// valid/ready gaps, against the unit's model) and the error on the `gqalut ops` rows, for a
// softmax-like unit (int8 in, uint8 out) ...
template <class Config>
void add_checks(BuiltUnit& b, const UnitRequest& r, const Config& c, const std::string& rtl,
                void (*row)(const Config&, const int8_t*, uint8_t*, size_t)) {
  const uint64_t seed = r.seed;
  const int rows = r.full ? 20000 : 200;
  b.verify = [c, rtl, seed, rows, row](const VerilogUnit& u, const SimOptions& o) {
    StreamCheck chk =
        softmax_stream_check([c, row](const int8_t* q, uint8_t* out, size_t n) { row(c, q, out, n); },
                             reference_check_rows(c.max_n, rows, seed));
    chk.passes = c.restream ? 3 : 1;  // re-streamed: max, sum, outputs
    set_lanes(chk, c);
    return simulate_stream(u, false, chk, rtl, o, unsigned(seed));
  };
  b.error = [row] {
    Config m;
    m.max_n = kOpsMaxN;
    return softmax_error([m, row](const int8_t* q, uint8_t* out, size_t n) { row(m, q, out, n); }, m.in_frac,
                         m.out_frac);
  };
}

// ... and for a LayerNorm-like unit (x, gamma, beta in; int8 out).
template <class Config>
void add_checks(BuiltUnit& b, const UnitRequest& r, const Config& c, const std::string& rtl,
                void (*row)(const Config&, const int8_t*, const int8_t*, const int32_t*, int8_t*, size_t)) {
  const uint64_t seed = r.seed;
  const int rows = r.full ? 20000 : 200;
  b.verify = [c, rtl, seed, rows, row](const VerilogUnit& u, const SimOptions& o) {
    StreamCheck chk =
        layernorm_stream_check([c, row](const int8_t* q, const int8_t* g, const int32_t* be, int8_t* out,
                                        size_t n) { row(c, q, g, be, out, n); },
                               c.gamma_frac, c.out_frac, reference_check_rows(c.max_n, rows, seed), seed);
    chk.passes = c.restream ? 2 : 1;  // re-streamed: statistics, outputs
    set_lanes(chk, c);
    return simulate_stream(u, true, chk, rtl, o, unsigned(seed));
  };
  b.error = [row] {
    Config m;
    m.max_n = kOpsMaxN;
    return layernorm_error([m, row](const int8_t* q, const int8_t* g, const int32_t* be, int8_t* out,
                                    size_t n) { row(m, q, g, be, out, n); },
                           m.in_frac, m.gamma_frac, m.out_frac, double(m.eps));
  };
}

// A reference kind: the request's configuration, the unit (`make`, from the hand-written
// sources), its throughput on back-to-back rows of max_n, a description (`what`, then the rows and
// the throughput), the checks against the model `row`.
template <class Config, class Row>
BuiltUnit reference_kind(const char* kind, const UnitRequest& r,
                         VerilogUnit (*make)(const Config&, const std::string&), Row row,
                         const std::string& what) {
  check_request(kind, r);
  Config c;
  c.max_n = r.max_n > 0 ? r.max_n : 256;
  c.pipeline = r.output_register;  // --combinational: PIPE = 0
  c.restream = r.restream;
  if constexpr (HasLanes<Config>::value) c.lanes = r.lanes;  // checked by the unit's generator
  const std::string rtl = find_rtl_dir(r.rtl_dir);
  BuiltUnit b;
  b.kind = kind;
  b.unit = make(c, rtl);
  // the formulas of the RTL headers (reference_units.hpp), checked against simulation
  b.elements_per_cycle = double(c.max_n) / double(row_interval_cycles(c, c.max_n));
  int lanes = 1;
  if constexpr (HasLanes<Config>::value) lanes = c.lanes;
  b.description = fmt::format("{}, {} lane{}, rows up to {}{} ({:.3f} elements/cycle on back-to-back rows of {})",
                              what, lanes, lanes == 1 ? "" : "s", c.max_n, detail::restream_text(c.restream),
                              b.elements_per_cycle, c.max_n);
  add_checks(b, r, c, rtl, row);
  return b;
}

}  // namespace

BuiltUnit build_softmax_fp32_unit(const UnitRequest& r) {
  return reference_kind(
      "softmax-fp32", r, &fp32_softmax_unit, &fp32_softmax_row,
      fmt::format(
          "reference: FP32 softmax unit (rtl/softmax_fp32.v: FP32 exp by range reduction + degree-5 "
          "polynomial, Newton reciprocal), int8 in at 2^-4, uint8 out at 2^-8, {}",
          r.output_register ? "one FP32 operation per pipeline stage" : "combinational element pipeline"));
}

BuiltUnit build_layernorm_fp32_unit(const UnitRequest& r) {
  return reference_kind(
      "layernorm-fp32", r, &fp32_layernorm_unit, &fp32_layernorm_row,
      "reference: FP32 LayerNorm unit (rtl/layernorm_fp32.v: one-pass FP32 mean/variance, Newton "
      "1/n and rsqrt), int8 x at 2^-4, gamma at 2^-6, int32 beta and int8 y at 2^-4, eps 1e-5");
}

BuiltUnit build_softmax_ibert_unit(const UnitRequest& r) {
  return reference_kind(
      "softmax-ibert", r, &ibert_softmax_unit, &ibert_softmax_row,
      "reference: I-BERT-style integer softmax unit (rtl/softmax_ibert.v: second-order polynomial "
      "exp with ln2 range reduction, one integer division per element; gqalut::ibert), int8 in at "
      "2^-4, uint8 out");
}

BuiltUnit build_layernorm_ibert_unit(const UnitRequest& r) {
  return reference_kind(
      "layernorm-ibert", r, &ibert_layernorm_unit, &ibert_layernorm_row,
      "reference: I-BERT-style integer LayerNorm unit (rtl/layernorm_ibert.v: integer variance, "
      "integer square root, one integer division per element; gqalut::ibert), same ports as "
      "layernorm-fp32");
}

}  // namespace gqalut::hw
