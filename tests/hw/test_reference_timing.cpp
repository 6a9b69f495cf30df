// The reference units' throughput (issue 16): the registry's elements_per_cycle of softmax-fp32,
// layernorm-fp32, softmax-ibert and layernorm-ibert is max_n over the back-to-back row interval at
// max_n that the RTL headers document. Here the stream testbench counts the cycles of rows of
// max_n run back to back at full rate, for both pipeline settings and buffers of 1, 3 and 4
// address bits (the I-BERT LayerNorm's square root and divider grow with them).
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hw_test_util.hpp"

namespace gqalut::hw {
namespace {

using test::cycles_of;
using test::kRtl;

// The expected outputs of `rows` from each reference's model at configuration c.
StreamCheck model_check(const Fp32SoftmaxConfig& c, std::vector<std::vector<int8_t>> rows) {
  return softmax_stream_check([c](const int8_t* q, uint8_t* out, size_t n) { fp32_softmax_row(c, q, out, n); },
                              std::move(rows));
}
StreamCheck model_check(const IbertSoftmaxConfig& c, std::vector<std::vector<int8_t>> rows) {
  return softmax_stream_check([c](const int8_t* q, uint8_t* out, size_t n) { ibert_softmax_row(c, q, out, n); },
                              std::move(rows));
}
StreamCheck model_check(const Fp32LayerNormConfig& c, std::vector<std::vector<int8_t>> rows) {
  return layernorm_stream_check([c](const int8_t* q, const int8_t* g, const int32_t* b, int8_t* out,
                                    size_t n) { fp32_layernorm_row(c, q, g, b, out, n); },
                                c.gamma_frac, c.out_frac, std::move(rows), 7);
}
StreamCheck model_check(const IbertLayerNormConfig& c, std::vector<std::vector<int8_t>> rows) {
  return layernorm_stream_check([c](const int8_t* q, const int8_t* g, const int32_t* b, int8_t* out,
                                    size_t n) { ibert_layernorm_row(c, q, g, b, out, n); },
                                c.gamma_frac, c.out_frac, std::move(rows), 7);
}

// The model check of `kind` at the request's row length and pipeline setting.
template <class Config>
StreamCheck check_at(const UnitRequest& r, std::vector<std::vector<int8_t>> rows) {
  Config c;
  c.max_n = r.max_n;
  c.pipeline = r.output_register;
  return model_check(c, std::move(rows));
}
StreamCheck check_for(const std::string& kind, const UnitRequest& r, std::vector<std::vector<int8_t>> rows) {
  if (kind == "softmax-fp32") return check_at<Fp32SoftmaxConfig>(r, std::move(rows));
  if (kind == "softmax-ibert") return check_at<IbertSoftmaxConfig>(r, std::move(rows));
  if (kind == "layernorm-fp32") return check_at<Fp32LayerNormConfig>(r, std::move(rows));
  return check_at<IbertLayerNormConfig>(r, std::move(rows));
}

// `count` rows of n codes in a fixed pattern: element j of row k is (a j + b k) mod 256 - 128.
std::vector<std::vector<int8_t>> pattern_rows(int count, int n, int a, int b) {
  std::vector<std::vector<int8_t>> rows(static_cast<size_t>(count), std::vector<int8_t>(static_cast<size_t>(n)));
  for (int k = 0; k < count; ++k)
    for (int j = 0; j < n; ++j) rows[size_t(k)][size_t(j)] = int8_t((a * j + b * k) % 256 - 128);
  return rows;
}

TEST(ReferenceTiming, BackToBackRowsTakeTheRegistrysInterval) {
  constexpr int kRows = 3;
  for (const char* kind : {"softmax-fp32", "layernorm-fp32", "softmax-ibert", "layernorm-ibert"})
    for (bool pipe : {true, false})
      for (int max_n : {2, 5, 16}) {
        UnitRequest r;
        r.max_n = max_n;
        r.output_register = pipe;
        r.rtl_dir = kRtl;
        const BuiltUnit b = build_unit(kind, r);
        const double interval = double(max_n) / b.elements_per_cycle;
        const std::string tag = fmt::format("timing_{}_n{}_p{}", kind, max_n, pipe);
        ASSERT_NEAR(interval, std::round(interval), 1e-9) << tag;
        const bool layernorm = std::string(kind).rfind("layernorm", 0) == 0;
        const SimResult s = simulate_stream(b.unit, layernorm, check_for(kind, r, pattern_rows(kRows, max_n, 37, 91)), kRtl,
                                            test::sim_options(tag), 1, /*stall=*/false);
        ASSERT_TRUE(s.passed()) << tag << ": " << s.summary() << "\n" << s.compile_log << s.log;
        // The testbench counts from the first cycle out of reset, when the first input is
        // accepted, to the cycle the last output leaves: the rows' intervals, summed.
        EXPECT_EQ(cycles_of(s.log), kRows * std::llround(interval)) << tag;
      }
}

// Rows of n back to back at full rate (full and partial last beats at `lanes`; re-streamed, each
// row sent 3 / 2 times, n counted once) through the unit `make` builds from c, bit-exact with the
// model: the simulated cycles are 3 row_interval_cycles(c, n) (gqalut/hw/reference_units.hpp).
template <class Config>
void expect_simulated_interval(const Config& c, int lanes, const std::string& kind, int n,
                               VerilogUnit (*make)(const Config&, const std::string&), const std::string& tag) {
  constexpr int kRows = 3;
  const bool layernorm = kind.rfind("layernorm", 0) == 0;
  StreamCheck chk = model_check(c, pattern_rows(kRows, n, 53, 29));
  chk.passes = c.restream ? (layernorm ? 2 : 3) : 1;
  chk.lanes = lanes;
  const SimResult s = simulate_stream(make(c, kRtl), layernorm, chk, kRtl, test::sim_options(tag), 1, false);
  ASSERT_TRUE(s.passed()) << tag << ": " << s.summary() << "\n" << s.compile_log << s.log;
  EXPECT_EQ(cycles_of(s.log), kRows * row_interval_cycles(c, n)) << tag;
}

// The intervals at one lane, with the row buffer and re-streamed, against the simulated cycles;
// with the row buffer they are the registry's figure (above).
template <class Config>
void expect_interval(const std::string& kind, bool pipe, int max_n, bool restream,
                     VerilogUnit (*make)(const Config&, const std::string&)) {
  Config c;
  c.max_n = max_n;
  c.pipeline = pipe;
  c.restream = restream;
  const std::string tag = fmt::format("timing_api_{}_n{}_p{}_r{}", kind, max_n, pipe, restream);
  expect_simulated_interval(c, 1, kind, max_n, make, tag);
  if (!restream) {
    UnitRequest r;
    r.max_n = max_n;
    r.output_register = pipe;
    r.rtl_dir = kRtl;
    EXPECT_NEAR(build_unit(kind, r).elements_per_cycle, double(max_n) / double(row_interval_cycles(c, max_n)), 1e-12)
        << tag;
  }
}

TEST(ReferenceTiming, RestreamedRowsTakeTheSameInterval) {
  for (bool restream : {false, true})
    for (bool pipe : {true, false})
      for (int max_n : {2, 5, 16}) {
        expect_interval<Fp32SoftmaxConfig>("softmax-fp32", pipe, max_n, restream, &fp32_softmax_unit);
        expect_interval<Fp32LayerNormConfig>("layernorm-fp32", pipe, max_n, restream, &fp32_layernorm_unit);
        expect_interval<IbertSoftmaxConfig>("softmax-ibert", pipe, max_n, restream, &ibert_softmax_unit);
        expect_interval<IbertLayerNormConfig>("layernorm-ibert", pipe, max_n, restream, &ibert_layernorm_unit);
      }
}

// An FP32 reference at L lanes (max_n 16): rows of n take the simulated row_interval_cycles(c, n),
// with the row buffer and re-streamed, and that is the closed form the header documents.
template <class Config>
void expect_lanes_interval(const std::string& kind, int lanes, bool restream, bool pipe, int n,
                           VerilogUnit (*make)(const Config&, const std::string&), int closed_form) {
  Config c;
  c.max_n = 16;
  c.lanes = lanes;
  c.pipeline = pipe;
  c.restream = restream;
  const std::string tag = fmt::format("timing_{}_l{}_n{}_p{}_r{}", kind, lanes, n, pipe, restream);
  expect_simulated_interval(c, lanes, kind, n, make, tag);
  EXPECT_EQ(row_interval_cycles(c, n), closed_form) << tag;
}

// The FP32 softmax at L lanes: 3 ceil(n/L) + 2 LAT + 10 + L - 1 cycles a row.
TEST(ReferenceTiming, LanesSoftmaxFp32Interval) {
  for (int lanes : {2, 3, 4})
    for (bool restream : {false, true})
      for (bool pipe : {true, false})
        for (int n : {1, 5, 16})
          expect_lanes_interval<Fp32SoftmaxConfig>("softmax_fp32", lanes, restream, pipe, n, &fp32_softmax_unit,
                                                   3 * ((n + lanes - 1) / lanes) + 2 * (pipe ? 14 : 1) + 10 + lanes - 1);
}

// The FP32 LayerNorm at L lanes: 2 ceil(n/L) + LAT + 27 + L - 1 cycles a row.
TEST(ReferenceTiming, LanesLayerNormFp32Interval) {
  for (int lanes : {2, 3, 4})
    for (bool restream : {false, true})
      for (bool pipe : {true, false})
        for (int n : {1, 5, 16})
          expect_lanes_interval<Fp32LayerNormConfig>("layernorm_fp32", lanes, restream, pipe, n, &fp32_layernorm_unit,
                                                     2 * ((n + lanes - 1) / lanes) + (pipe ? 4 : 1) + 27 + lanes - 1);
}

}  // namespace
}  // namespace gqalut::hw
