// The reference units' kinds of the unit registry (src/hw/units.def, gqalut/hw/registry.hpp):
// softmax-fp32, layernorm-fp32, softmax-ibert, layernorm-ibert (gqalut/hw/reference_units.hpp).
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "gqalut/hw/reference_units.hpp"
#include "gqalut/hw/registry.hpp"

namespace gqalut::hw {
namespace {

// The row sets of `gqalut ops` (3 lengths x 40 rows, seed 1 * 1000003 + n) and the rows' model
// run with a buffer long enough for them.
constexpr int kOpsMaxN = 4096;
constexpr size_t kOpsLengths[] = {197, 768, 3072};
constexpr int kOpsRows = 40;

UnitError softmax_error(const SoftmaxRowFn& model, int in_frac, int out_frac) {
  UnitError e;
  double sum = 0;
  size_t points = 0;
  for (size_t n : kOpsLengths) {
    const OpErrorStats s = measure_softmax_rows(model, in_frac, out_frac, normal_logit_rows(n, kOpsRows, 1000003 + n));
    e.max_lsb = std::max(e.max_lsb, s.max_err_lsb);
    sum += s.mean_err_lsb * double(s.points);
    points += s.points;
  }
  e.mean_lsb = points ? sum / double(points) : 0;
  e.on = "gqalut ops softmax rows: normal logits, 40 rows of 197 / 768 / 3072 at 2^-4, uint8 out at 2^-8";
  return e;
}

UnitError layernorm_error(const LayerNormRowFn& model, int in_frac, int gamma_frac, int out_frac, double eps) {
  UnitError e;
  double sum = 0;
  size_t points = 0;
  for (size_t n : kOpsLengths) {
    const OpErrorStats s =
        measure_layernorm_rows(model, in_frac, gamma_frac, out_frac, eps, layernorm_rows(n, kOpsRows, 1000003 + n), 1);
    e.max_lsb = std::max(e.max_lsb, s.max_err_lsb);
    sum += s.mean_err_lsb * double(s.points);
    points += s.points;
  }
  e.mean_lsb = points ? sum / double(points) : 0;
  e.on = "gqalut ops layernorm rows: 40 rows of 197 / 768 / 3072 at 2^-4, gamma 2^-6, int8 out at 2^-4";
  return e;
}

void check_request(const char* kind, const UnitRequest& r) {
  if (r.lanes != 1)
    throw std::invalid_argument(
        fmt::format("{}: lanes must be 1 (the reference units take one element per cycle), got {}", kind, r.lanes));
  if (r.programmable)
    throw std::invalid_argument(fmt::format("{}: has no tables to program (--programmable does not apply)", kind));
}

int max_n_of(const UnitRequest& r) { return r.max_n > 0 ? r.max_n : 256; }
int random_rows(const UnitRequest& r) { return r.full ? 20000 : 200; }

}  // namespace

BuiltUnit build_softmax_fp32_unit(const UnitRequest& r) {
  check_request("softmax-fp32", r);
  Fp32SoftmaxConfig c;
  c.max_n = max_n_of(r);
  c.pipeline = r.output_register;  // --combinational: PIPE = 0
  const std::string rtl = find_rtl_dir(r.rtl_dir);
  BuiltUnit b;
  b.kind = "softmax-fp32";
  b.description = fmt::format(
      "reference: FP32 softmax unit (rtl/softmax_fp32.v: FP32 exp by range reduction + degree-5 polynomial, Newton "
      "reciprocal), int8 in at 2^-4, uint8 out at 2^-8, rows up to {}, {}",
      c.max_n, c.pipeline ? "one FP32 operation per pipeline stage" : "combinational element pipeline");
  b.unit = fp32_softmax_unit(c, rtl);
  b.elements_per_cycle = 1;
  const uint64_t seed = r.seed;
  const int rows = random_rows(r);
  b.verify = [c, rtl, seed, rows](const VerilogUnit& u, const SimOptions& o) {
    const StreamCheck chk = softmax_stream_check(
        [c](const int8_t* q, uint8_t* out, size_t n) { fp32_softmax_row(c, q, out, n); },
        reference_check_rows(c.max_n, rows, seed));
    return simulate_stream(u, false, chk, rtl, o, unsigned(seed));
  };
  b.error = [] {
    Fp32SoftmaxConfig m;
    m.max_n = kOpsMaxN;
    return softmax_error([m](const int8_t* q, uint8_t* out, size_t n) { fp32_softmax_row(m, q, out, n); }, m.in_frac,
                         m.out_frac);
  };
  return b;
}

BuiltUnit build_layernorm_fp32_unit(const UnitRequest& r) {
  check_request("layernorm-fp32", r);
  Fp32LayerNormConfig c;
  c.max_n = max_n_of(r);
  c.pipeline = r.output_register;  // --combinational: PIPE = 0
  const std::string rtl = find_rtl_dir(r.rtl_dir);
  BuiltUnit b;
  b.kind = "layernorm-fp32";
  b.description = fmt::format(
      "reference: FP32 LayerNorm unit (rtl/layernorm_fp32.v: one-pass FP32 mean/variance, Newton 1/n and rsqrt), "
      "int8 x at 2^-4, gamma at 2^-6, int32 beta and int8 y at 2^-4, eps 1e-5, rows up to {}",
      c.max_n);
  b.unit = fp32_layernorm_unit(c, rtl);
  b.elements_per_cycle = 1;
  const uint64_t seed = r.seed;
  const int rows = random_rows(r);
  b.verify = [c, rtl, seed, rows](const VerilogUnit& u, const SimOptions& o) {
    const StreamCheck chk = layernorm_stream_check(
        [c](const int8_t* q, const int8_t* g, const int32_t* be, int8_t* out, size_t n) {
          fp32_layernorm_row(c, q, g, be, out, n);
        },
        c.gamma_frac, c.out_frac, reference_check_rows(c.max_n, rows, seed), seed);
    return simulate_stream(u, true, chk, rtl, o, unsigned(seed));
  };
  b.error = [] {
    Fp32LayerNormConfig m;
    m.max_n = kOpsMaxN;
    return layernorm_error(
        [m](const int8_t* q, const int8_t* g, const int32_t* be, int8_t* out, size_t n) {
          fp32_layernorm_row(m, q, g, be, out, n);
        },
        m.in_frac, m.gamma_frac, m.out_frac, double(m.eps));
  };
  return b;
}

BuiltUnit build_softmax_ibert_unit(const UnitRequest& r) {
  check_request("softmax-ibert", r);
  IbertSoftmaxConfig c;
  c.max_n = max_n_of(r);
  c.pipeline = r.output_register;  // --combinational: PIPE = 0
  const std::string rtl = find_rtl_dir(r.rtl_dir);
  BuiltUnit b;
  b.kind = "softmax-ibert";
  b.description = fmt::format(
      "reference: I-BERT-style integer softmax unit (rtl/softmax_ibert.v: second-order polynomial exp with ln2 range "
      "reduction, one integer division per element; gqalut::ibert), int8 in at 2^-4, uint8 out, rows up to {}",
      c.max_n);
  b.unit = ibert_softmax_unit(c, rtl);
  b.elements_per_cycle = 1;
  const uint64_t seed = r.seed;
  const int rows = random_rows(r);
  b.verify = [c, rtl, seed, rows](const VerilogUnit& u, const SimOptions& o) {
    const StreamCheck chk = softmax_stream_check(
        [c](const int8_t* q, uint8_t* out, size_t n) { ibert_softmax_row(c, q, out, n); },
        reference_check_rows(c.max_n, rows, seed));
    return simulate_stream(u, false, chk, rtl, o, unsigned(seed));
  };
  b.error = [] {
    IbertSoftmaxConfig m;
    m.max_n = kOpsMaxN;
    return softmax_error([m](const int8_t* q, uint8_t* out, size_t n) { ibert_softmax_row(m, q, out, n); }, m.in_frac,
                         m.out_frac);
  };
  return b;
}

BuiltUnit build_layernorm_ibert_unit(const UnitRequest& r) {
  check_request("layernorm-ibert", r);
  IbertLayerNormConfig c;
  c.max_n = max_n_of(r);
  c.pipeline = r.output_register;  // --combinational: PIPE = 0
  const std::string rtl = find_rtl_dir(r.rtl_dir);
  BuiltUnit b;
  b.kind = "layernorm-ibert";
  b.description = fmt::format(
      "reference: I-BERT-style integer LayerNorm unit (rtl/layernorm_ibert.v: integer variance, integer square root, "
      "one integer division per element; gqalut::ibert), same ports as layernorm-fp32, rows up to {}",
      c.max_n);
  b.unit = ibert_layernorm_unit(c, rtl);
  b.elements_per_cycle = 1;
  const uint64_t seed = r.seed;
  const int rows = random_rows(r);
  b.verify = [c, rtl, seed, rows](const VerilogUnit& u, const SimOptions& o) {
    const StreamCheck chk = layernorm_stream_check(
        [c](const int8_t* q, const int8_t* g, const int32_t* be, int8_t* out, size_t n) {
          ibert_layernorm_row(c, q, g, be, out, n);
        },
        c.gamma_frac, c.out_frac, reference_check_rows(c.max_n, rows, seed), seed);
    return simulate_stream(u, true, chk, rtl, o, unsigned(seed));
  };
  b.error = [] {
    IbertLayerNormConfig m;
    m.max_n = kOpsMaxN;
    return layernorm_error(
        [m](const int8_t* q, const int8_t* g, const int32_t* be, int8_t* out, size_t n) {
          ibert_layernorm_row(m, q, g, be, out, n);
        },
        m.in_frac, m.gamma_frac, m.out_frac, m.eps);
  };
  return b;
}

}  // namespace gqalut::hw
