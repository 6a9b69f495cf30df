// Every kernel of the list (src/kernels/kernels.def), on every ISA this CPU
// has (the others are skipped by name), is bit-exact with gqalut::eval_acc
// wherever its requirement holds, exhaustively over the 256 int8 codes and
// every scale, on the official tables and on seeded random tables; plus
// tails, in-place use and an int16 sample. The operator layer (apply()) is
// tested the same way and against the selection rule.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <type_traits>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/kernels.hpp"
#include "kernel_list.h"  // internal: the typed kernel list (src/kernels)
#include "plan_layout.h"  // internal: the plans' layouts (the kernels' requirements read them)
#include "ukernels.h"     // internal: nontemporal_threshold()
#include "random_tables.hpp"

using namespace gqalut;
using gqalut_test::random_table;

namespace {

struct Case {
  std::string name;
  Table table;
};

// Official tables (every scale, read with both tie rules: as trained and as
// the official op deploys them) plus random ones at scales 0..7, every other
// one a left-rule table (q > P goes right: thresholds P + 1 in the plans).
std::vector<Case> all_cases(int input_bits, int random_count) {
  std::vector<Case> cases;
  for (auto& [file, set] : gqalut_test::official_sets())
    for (auto& [n, t] : set.tables) {
      cases.push_back({fmt::format("{} n={}", file, n), t});
      Table left = t;
      left.tie = TieRule::left;
      cases.push_back({fmt::format("{} n={} tie left", file, n), left});
    }
  const uint64_t seed = gqalut_test::test_seed();
  std::printf("random tables: seed %llu (replay with GQALUT_TEST_SEED)\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed + input_bits);
  int made = 0;
  while (made < random_count) {
    int n = made % 8;
    Table t = random_table(rng, n, input_bits);
    if (made % 2) t.tie = TieRule::left;
    if (!gqalut_test::acc_fits_int32(t, input_bits)) {
      EXPECT_THROW(prepare_pwl(t, input_bits), std::invalid_argument);
      continue;
    }
    cases.push_back({fmt::format("random #{} n={} K={} {}/{} tie {}", made, n, t.entries(), t.slope_format.name(),
                                 t.intercept_format.name(), to_string(t.tie)),
                     t});
    ++made;
  }
  return cases;
}

std::vector<int8_t> all_codes() {
  std::vector<int8_t> q;
  for (int v = -128; v < 128; ++v) q.push_back(static_cast<int8_t>(v));
  return q;
}

class KernelIsa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) GTEST_SKIP() << "this CPU lacks " << to_string(GetParam());
  }
};

// ---- every kernel of the list -------------------------------------------------
namespace fam = gqalut::ukernel::family;
using gqalut::ukernel::Kernel;

// A plan of family F with the table and output scale it was built from; the
// kernels take its internal layout.
template <class F>
struct Instance {
  std::string name;
  Table table;
  int out_frac;
  typename F::Handle handle;
  const typename F::Plan& plan() const { return gqalut::detail::PlanAccess::layout(handle); }
};

template <class F>
constexpr bool kRequantized = std::is_same_v<typename F::Out, int8_t>;

template <class F>
int64_t reference(const Instance<F>& c, int32_t q) {
  const int64_t acc = eval_acc(c.table, q);
  if constexpr (kRequantized<F>) return requantize_s8(acc, c.table.shift(), c.out_frac);
  return acc;
}

template <class F>
std::vector<Instance<F>> make_instances() {
  std::vector<Instance<F>> out;
  if constexpr (std::is_same_v<F, fam::s8_pwl_s32> || std::is_same_v<F, fam::s8_pwl_s16>) {
    for (const auto& c : all_cases(8, 160)) out.push_back({c.name, c.table, 0, prepare_pwl(c.table, 8)});
  } else if constexpr (std::is_same_v<F, fam::s16_pwl_s32>) {
    for (const auto& c : all_cases(16, 40)) out.push_back({c.name, c.table, 0, prepare_pwl(c.table, 16)});
  } else {
    for (const auto& c : all_cases(8, std::is_same_v<F, fam::s8_pwl_s8> ? 80 : 20)) {
      const int L = c.table.shift();
      for (int m : {0, 3, 5, 7, L - 1, L, L + 2, 20}) {
        if (m < 0) continue;
        const std::string name = fmt::format("{} out_frac {}", c.name, m);
        if constexpr (std::is_same_v<F, fam::s8_pwl_s8>) out.push_back({name, c.table, m, prepare_requant(c.table, m)});
        else out.push_back({name, c.table, m, prepare_lut256(c.table, m)});
      }
    }
  }
  return out;
}

template <class F>
const std::vector<Instance<F>>& instances() {
  static const std::vector<Instance<F>> all = make_instances<F>();
  return all;
}

// The inputs a kernel is checked on: all 256 int8 codes, or for int16 every
// 7th code, the extremes and both neighbours of every breakpoint.
template <class F>
std::vector<typename F::In> inputs_for(const Instance<F>& c) {
  std::vector<typename F::In> in;
  if constexpr (std::is_same_v<typename F::In, int8_t>) {
    in = all_codes();
  } else {
    for (int v = -32768; v < 32768; v += 7) in.push_back(static_cast<int16_t>(v));
    for (int v : {-32768, -32767, -1, 0, 1, 32766, 32767}) in.push_back(static_cast<int16_t>(v));
    for (int32_t p : c.table.breakpoints)
      for (int d = -1; d <= 1; ++d)
        if (p + d >= -32768 && p + d <= 32767) in.push_back(static_cast<int16_t>(p + d));
  }
  return in;
}

template <class F>
void check_listed(const std::string& name) {
  using In = typename F::In;
  using Out = typename F::Out;
  const Kernel<F>* k = gqalut::ukernel::find_kernel<F>(name);
  ASSERT_NE(k, nullptr) << name << " is in kernel_list() but not in its family's typed list";
  std::mt19937_64 rng(gqalut_test::test_seed() ^ 0x11f7);
  int applied = 0;
  for (const auto& c : instances<F>()) {
    if (!k->applies(c.plan())) continue;
    SCOPED_TRACE(c.name);
    ++applied;
    const auto in = inputs_for(c);
    std::vector<Out> out(in.size() + 1, Out(0x5a));
    k->fn(c.plan(), in.data(), out.data(), in.size());
    for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], reference(c, in[i])) << "q=" << int(in[i]);
    ASSERT_EQ(out[in.size()], Out(0x5a)) << "written past the end";
    if (applied > 4) continue;
    // Tails: lengths 0..4 vectors + 3, unaligned input and output, guards
    // before and after; in place where the types allow; one long tensor.
    std::vector<In> src(4 * 64 + 3 + 2);
    for (auto& v : src) v = static_cast<In>(rng());
    for (size_t len = 0; len + 2 <= src.size(); ++len) {
      std::vector<Out> o(len + 2, Out(0x5a));
      k->fn(c.plan(), src.data() + 1, o.data() + 1, len);
      for (size_t i = 0; i < len; ++i) ASSERT_EQ(o[i + 1], reference(c, src[i + 1])) << "len " << len << " i " << i;
      ASSERT_EQ(o[0], Out(0x5a));
      ASSERT_EQ(o[len + 1], Out(0x5a)) << "len " << len;
      if constexpr (std::is_same_v<In, Out>) {
        std::vector<In> inplace(src.begin() + 1, src.begin() + 1 + len);
        k->fn(c.plan(), inplace.data(), inplace.data(), len);
        for (size_t i = 0; i < len; ++i) ASSERT_EQ(inplace[i], o[i + 1]) << "in place, len " << len;
      }
    }
    if (applied == 1) {
      std::vector<In> big(64 * 1024 + 77 + 3);
      for (auto& v : big) v = static_cast<In>(rng());
      std::vector<Out> o(big.size());
      k->fn(c.plan(), big.data() + 3, o.data(), big.size() - 3);
      for (size_t i = 0; i + 3 < big.size(); ++i) ASSERT_EQ(o[i], reference(c, big[i + 3])) << "long, i " << i;
    }
  }
  EXPECT_GT(applied, 0) << name << " was never run: its requirement '" << k->requirement
                        << "' held on none of the test plans";
}

}  // namespace
namespace gqalut {
// gtest prints a failing case's parameter: the kernel's name, not its bytes.
void PrintTo(const KernelInfo& k, std::ostream* os) { *os << k.name << " (" << k.requirement << ")"; }
}  // namespace gqalut
namespace {

class ListedKernel : public ::testing::TestWithParam<KernelInfo> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam().isa))
      GTEST_SKIP() << GetParam().name << ": this CPU lacks " << to_string(GetParam().isa);
  }
};

TEST_P(ListedKernel, ExactWhereverItsRequirementHolds) {
  const KernelInfo& k = GetParam();
  const std::string f = k.family;
  if (f == "s8_pwl_s32") return check_listed<fam::s8_pwl_s32>(k.name);
  if (f == "s8_pwl_s16") return check_listed<fam::s8_pwl_s16>(k.name);
  if (f == "s8_pwl_s8") return check_listed<fam::s8_pwl_s8>(k.name);
  if (f == "s16_pwl_s32") return check_listed<fam::s16_pwl_s32>(k.name);
  if (f == "s8_lut256_s8") return check_listed<fam::s8_lut256_s8>(k.name);
  if (f == "s8_lut256_s32") return check_listed<fam::s8_lut256_s32>(k.name);
  FAIL() << "unknown family '" << f << "' of " << k.name;
}

INSTANTIATE_TEST_SUITE_P(List, ListedKernel, ::testing::ValuesIn(kernel_list()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(List, NamesCarryFamilyAndIsaAndEveryFamilyEndsScalar) {
  std::map<std::string, std::string> last_isa;
  std::set<std::string> names;
  for (const auto& k : kernel_list()) {
    const std::string name = k.name, prefix = std::string(k.family) + "__" + to_string(k.isa);
    EXPECT_EQ(name.compare(0, prefix.size(), prefix), 0) << name << " should start with " << prefix;
    EXPECT_TRUE(names.insert(name).second) << name << " listed twice";
    last_isa[k.family] = to_string(k.isa);
  }
  EXPECT_EQ(last_isa.size(), 6u);
  for (const auto& [f, isa] : last_isa) EXPECT_EQ(isa, "scalar") << f << " must end with its scalar kernel";
}

// apply() runs the first kernel in list order on the ISA (else the next lower
// one) whose requirement the plan meets, and says which.
template <class F, class Run>
void check_selection(Isa isa, Run run) {
  for (const auto& c : instances<F>()) {
    std::string expect;
    for (int level = int(isa); level >= int(Isa::scalar) && expect.empty(); --level)
      for (const auto& k : gqalut::ukernel::kernels<F>())
        if (int(k.isa) == level && isa_supported(k.isa) && k.applies(c.plan())) {
          expect = k.name;
          break;
        }
    auto in = inputs_for(c);
    std::vector<typename F::Out> out(in.size());
    const std::string ran = run(c.handle, in.data(), out.data(), in.size());
    ASSERT_EQ(ran, expect) << c.name;
    for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], reference(c, in[i])) << c.name << " q=" << int(in[i]);
  }
}

TEST_P(KernelIsa, ApplyRunsTheFirstListedKernelThatApplies) {
  const Isa isa = GetParam();
  auto run = [isa](const auto& plan, const auto* in, auto* out, size_t n) { return apply(plan, in, out, n, isa); };
  check_selection<fam::s8_pwl_s32>(isa, run);
  check_selection<fam::s8_pwl_s8>(isa, run);
  check_selection<fam::s16_pwl_s32>(isa, run);
  check_selection<fam::s8_lut256_s8>(isa, run);
  check_selection<fam::s8_lut256_s32>(isa, run);
}

TEST_P(KernelIsa, S8ToS32AndS16ExactOnAllCodes) {
  const Isa isa = GetParam();
  const auto codes = all_codes();
  int s16_cases = 0;
  for (const auto& c : all_cases(8, 160)) {
    SCOPED_TRACE(c.name);
    PwlPlan plan = prepare_pwl(c.table, 8);
    std::vector<int32_t> out(256);
    apply(plan, codes.data(), out.data(), 256, isa);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < 256; ++i) {
      int64_t ref = eval_acc(c.table, codes[i]);
      lo = std::min(lo, ref);
      hi = std::max(hi, ref);
      ASSERT_EQ(out[i], ref) << "q=" << int(codes[i]);
    }
    EXPECT_EQ(plan.acc_min(), lo);
    EXPECT_EQ(plan.acc_max(), hi);
    EXPECT_EQ(plan.fits_s16(), lo >= INT16_MIN && hi <= INT16_MAX);
    if (c.table.accumulator_bits(8) <= 16) {
      EXPECT_TRUE(plan.fits_s16());
    }
    if (plan.fits_s16()) {
      ++s16_cases;
      std::vector<int16_t> o16(256);
      apply(plan, codes.data(), o16.data(), 256, isa);
      for (int i = 0; i < 256; ++i) ASSERT_EQ(o16[i], eval_acc(c.table, codes[i])) << "q=" << int(codes[i]);
    } else {
      std::vector<int16_t> o16(256);
      EXPECT_THROW(apply(plan, codes.data(), o16.data(), 256, isa), std::invalid_argument);
    }
  }
  EXPECT_GT(s16_cases, 50);  // the official tables all fit 16 bits
}

TEST_P(KernelIsa, S8RequantizedExactOnAllCodes) {
  const Isa isa = GetParam();
  const auto codes = all_codes();
  int fast = 0, slow = 0, madd = 0, madd_fix = 0, madd_folded = 0;
  for (const auto& c : all_cases(8, 80)) {
    SCOPED_TRACE(c.name);
    const int L = c.table.shift();
    for (int m : {0, 3, 5, 7, L - 1, L, L + 2, 20}) {
      if (m < 0) continue;
      SCOPED_TRACE(fmt::format("out_frac {}", m));
      RequantPlan r = prepare_requant(c.table, m);
      const auto& rl = gqalut::detail::PlanAccess::layout(r);
      (rl.use16 ? fast : slow)++;
      madd += rl.madd_ok;
      madd_fix += rl.madd_ok && rl.madd_tie_fix;
      madd_folded += rl.madd_ok && rl.rshift > 0 && !rl.madd_tie_fix;
      Lut256Plan lut = prepare_lut256(c.table, m);
      std::vector<int8_t> out(256), out_lut(256);
      apply(r, codes.data(), out.data(), 256, isa);
      apply(lut, codes.data(), out_lut.data(), 256, isa);
      for (int i = 0; i < 256; ++i) {
        int8_t ref = requantize_s8(eval_acc(c.table, codes[i]), L, m);
        ASSERT_EQ(out[i], ref) << "q=" << int(codes[i]);
        ASSERT_EQ(out_lut[i], ref) << "q=" << int(codes[i]);
      }
      std::vector<int32_t> o32(256);
      apply(lut, codes.data(), o32.data(), 256, isa);
      for (int i = 0; i < 256; ++i) ASSERT_EQ(o32[i], eval_acc(c.table, codes[i]));
    }
  }
  EXPECT_GT(fast, madd);  // every datapath (vpmaddubsw, 16- and 32-bit) was exercised
  EXPECT_GT(madd, 0);
  EXPECT_GT(slow, 0);
  EXPECT_GT(madd_fix, 0);     // vpmaddubsw with the per-element tie correction
  EXPECT_GT(madd_folded, 0);  // and with it folded into c16 by the plan
}

// Lengths 0..4 vectors plus odd ones, unaligned pointers, out of place and in
// place; nothing past n is written.
TEST_P(KernelIsa, TailsAndInPlace) {
  const Isa isa = GetParam();
  std::mt19937_64 rng(gqalut_test::test_seed() ^ 0x7a11);
  const auto sets = gqalut_test::official_sets();
  std::vector<Table> tables = {sets.front().second.tables.begin()->second};
  for (int i = 0; i < 6; ++i) {
    Table t;
    do {
      t = random_table(rng, i, 8);
    } while (!gqalut_test::acc_fits_int32(t, 8));
    tables.push_back(t);
  }
  for (const auto& t : tables) {
    PwlPlan plan = prepare_pwl(t, 8);
    RequantPlan r = prepare_requant(t, 4);
    Lut256Plan lut = prepare_lut256(t, 4);
    for (size_t len = 0; len <= 4 * 64 + 3; ++len) {
      SCOPED_TRACE(fmt::format("len {} K {}", len, t.entries()));
      std::vector<int8_t> in(len + 3);
      for (auto& v : in) v = static_cast<int8_t>(rng());
      const int8_t* src = in.data() + 1;  // unaligned
      std::vector<int32_t> o32(len + 2, 0x5a5a5a5a);
      apply(plan, src, o32.data() + 1, len, isa);
      for (size_t i = 0; i < len; ++i) ASSERT_EQ(o32[i + 1], eval_acc(t, src[i]));
      ASSERT_EQ(o32[0], 0x5a5a5a5a);
      ASSERT_EQ(o32[len + 1], 0x5a5a5a5a);
      if (plan.fits_s16()) {
        std::vector<int16_t> o16(len + 2, 0x5a5a);
        apply(plan, src, o16.data() + 1, len, isa);
        for (size_t i = 0; i < len; ++i) ASSERT_EQ(o16[i + 1], eval_acc(t, src[i]));
        ASSERT_EQ(o16[len + 1], 0x5a5a);
      }
      std::vector<int8_t> o8(len + 2, 0x5a);
      apply(r, src, o8.data() + 1, len, isa);
      for (size_t i = 0; i < len; ++i) ASSERT_EQ(o8[i + 1], requantize_s8(eval_acc(t, src[i]), t.shift(), 4));
      ASSERT_EQ(o8[len + 1], 0x5a);
      std::vector<int8_t> inplace(in.begin() + 1, in.begin() + 1 + len);
      apply(r, inplace.data(), inplace.data(), len, isa);
      for (size_t i = 0; i < len; ++i) ASSERT_EQ(inplace[i], o8[i + 1]);
      std::vector<int8_t> inplace_lut(in.begin() + 1, in.begin() + 1 + len);
      apply(lut, inplace_lut.data(), inplace_lut.data(), len, isa);
      for (size_t i = 0; i < len; ++i) ASSERT_EQ(inplace_lut[i], o8[i + 1]);
    }
  }
}

// Long tensors (at least 4 Mi + 77 elements and past the non-temporal store
// threshold, so the AVX-512 kernels take their streaming-store path: many unrolled
// main-loop steps, then the tail), unaligned, in and out of place.
TEST_P(KernelIsa, LongTensorsStreamingStores) {
  const Isa isa = GetParam();
  const auto sets = gqalut_test::official_sets();
  const Table& t = sets.front().second.tables.rbegin()->second;
  RequantPlan r = prepare_requant(t, 5);
  int8_t ref[256];
  for (int q = -128; q < 128; ++q) ref[q + 128] = requantize_s8(eval_acc(t, q), t.shift(), 5);
  const size_t len = std::max(size_t{1} << 22, ukernel::nontemporal_threshold()) + 77;
  std::vector<int8_t> in(len + 64), out(len + 64, 0x11);
  std::mt19937_64 rng(gqalut_test::test_seed());
  for (auto& v : in) v = static_cast<int8_t>(rng());
  for (size_t off : {size_t{0}, size_t{13}}) {
    apply(r, in.data() + 3, out.data() + off, len, isa);
    for (size_t i = 0; i < len; ++i) ASSERT_EQ(out[off + i], ref[in[3 + i] + 128]) << "i=" << i << " off=" << off;
    ASSERT_EQ(out[off + len], 0x11);  // nothing written past the end
  }
  std::vector<int8_t> inplace(in.begin() + 5, in.begin() + 5 + len);
  apply(r, inplace.data(), inplace.data(), len, isa);
  for (size_t i = 0; i < len; ++i) ASSERT_EQ(inplace[i], ref[in[5 + i] + 128]);
}

// int16 input: every 7th code, the extremes and the codes around every
// breakpoint, plus tails.
TEST_P(KernelIsa, S16ToS32ExactOnDenseSample) {
  const Isa isa = GetParam();
  for (const auto& c : all_cases(16, 40)) {
    SCOPED_TRACE(c.name);
    std::vector<int16_t> in;
    for (int v = -32768; v < 32768; v += 7) in.push_back(static_cast<int16_t>(v));
    for (int v : {-32768, -32767, -1, 0, 1, 32766, 32767}) in.push_back(static_cast<int16_t>(v));
    for (int32_t p : c.table.breakpoints)
      for (int d = -1; d <= 1; ++d)
        if (p + d >= -32768 && p + d <= 32767) in.push_back(static_cast<int16_t>(p + d));
    PwlPlan plan = prepare_pwl(c.table, 16);
    std::vector<int32_t> out(in.size() + 1, 0x5a5a5a5a);
    apply(plan, in.data(), out.data(), in.size(), isa);
    for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], eval_acc(c.table, in[i])) << "q=" << in[i];
    ASSERT_EQ(out[in.size()], 0x5a5a5a5a);
    for (size_t len = 0; len < 70; ++len) {
      std::vector<int32_t> o(len + 1, 7);
      apply(plan, in.data() + 3, o.data(), len, isa);
      for (size_t i = 0; i < len; ++i) ASSERT_EQ(o[i], eval_acc(c.table, in[i + 3]));
      ASSERT_EQ(o[len], 7);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, KernelIsa, ::testing::Values(Isa::scalar, Isa::avx2, Isa::avx512),
                         [](const auto& param_info) { return std::string(to_string(param_info.param)); });

// The requantization reference against a double formula (round half away
// from zero = std::round, then saturate).
TEST(Requantize, MatchesDoubleFormula) {
  for (int L = 0; L <= 27; ++L)
    for (int m = 0; m <= 31; ++m)
      for (int64_t acc = -70000; acc <= 70000; acc += (acc > -300 && acc < 300) ? 1 : 97) {
        double y = std::round(std::ldexp(static_cast<double>(acc), m - L));
        int ref = static_cast<int>(std::clamp(y, -128.0, 127.0));
        ASSERT_EQ(requantize_s8(acc, L, m), ref) << acc << " L=" << L << " m=" << m;
      }
}

TEST(Dispatch, ListsParsesAndForces) {
  auto isas = available_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::scalar);
  EXPECT_EQ(isas.back(), best_isa());
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    EXPECT_EQ(parse_isa(to_string(isa)), isa);
    const auto t = prepare_requant(gqalut_test::official_sets().front().second.tables.begin()->second, 4);
    std::vector<int8_t> in(100, 3), out(100);
    if (isa_supported(isa)) {
      EXPECT_EQ(gqalut::kernel_set(isa).isa, isa);
      const std::string ran = apply(t, in.data(), out.data(), in.size(), isa);
      EXPECT_NE(ran.find(std::string("__") + to_string(isa)), std::string::npos) << ran;  // a kernel of that ISA
    } else {
      EXPECT_THROW(gqalut::kernel_set(isa), std::invalid_argument);
      EXPECT_THROW(apply(t, in.data(), out.data(), in.size(), isa), std::invalid_argument);
    }
  }
  EXPECT_THROW(parse_isa("sse9"), std::invalid_argument);
  EXPECT_EQ(parse_isa("auto"), Isa::automatic);
}

TEST(Plan, RejectsBadArgumentsAndDropsUnreachableSegments) {
  Table t;
  t.n = 0;
  t.breakpoints = {-300, -200, 5, 5, 400};
  t.slopes = {1, 2, 3, 4, 5, 6};
  t.intercepts = {0, 0, 0, 0, 0, 0};
  PwlPlan plan = prepare_pwl(t, 8);
  EXPECT_EQ(plan.segments(), 2);  // [-128, 4] in segment 2, [5, 127] in segment 4
  EXPECT_EQ(plan.scale(), 0);
  EXPECT_EQ(plan.shift(), t.shift());
  EXPECT_EQ(plan.input_bits(), 8);
  const auto& p = gqalut::detail::PlanAccess::layout(plan);
  EXPECT_EQ(p.k[0], 3);
  EXPECT_EQ(p.k[1], 5);
  EXPECT_EQ(p.thr[0], 5);
  EXPECT_THROW(prepare_pwl(t, 12), std::invalid_argument);
  EXPECT_THROW(prepare_requant(t, 32), std::invalid_argument);
  EXPECT_THROW(prepare_requant(t, -1), std::invalid_argument);
  t.slopes[0] = 1000;  // does not fit q1.6
  EXPECT_THROW(prepare_pwl(t, 8), std::invalid_argument);
}

// Plans are opaque shared handles: copies share one layout, RequantPlan::pwl()
// shares its parent's memory (and keeps it alive), and an empty
// (default-constructed) plan is a clear std::invalid_argument, not a crash.
TEST(Plan, HandlesShareTheirLayoutAndEmptyPlansThrow) {
  const auto sets = gqalut_test::official_sets();
  const Table& t = sets.front().second.tables.begin()->second;
  RequantPlan r = prepare_requant(t, 4);
  const RequantPlan copy = r;
  EXPECT_EQ(&gqalut::detail::PlanAccess::layout(copy), &gqalut::detail::PlanAccess::layout(r));
  const PwlPlan inner = r.pwl();
  EXPECT_EQ(&gqalut::detail::PlanAccess::layout(inner), &gqalut::detail::PlanAccess::layout(r).pwl);
  EXPECT_EQ(r.out_frac(), 4);
  r = RequantPlan();  // the inner handle keeps the layout alive
  EXPECT_FALSE(r.valid());
  EXPECT_TRUE(inner.valid());
  EXPECT_EQ(inner.shift(), t.shift());
  std::vector<int8_t> in(8, 1), o8(8);
  std::vector<int16_t> o16(8);
  std::vector<int32_t> o32(8);
  std::vector<int16_t> in16(8, 1);
  apply(inner, in.data(), o32.data(), in.size());
  for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ(o32[i], eval_acc(t, 1));

  const PwlPlan p;
  const Lut256Plan lut;
  EXPECT_FALSE(p.valid());
  EXPECT_THROW(apply(p, in.data(), o32.data(), in.size()), std::invalid_argument);
  EXPECT_THROW(apply(p, in.data(), o16.data(), in.size()), std::invalid_argument);
  EXPECT_THROW(apply(p, in16.data(), o32.data(), in.size()), std::invalid_argument);
  EXPECT_THROW(apply(r, in.data(), o8.data(), in.size()), std::invalid_argument);
  EXPECT_THROW(apply(lut, in.data(), o8.data(), in.size()), std::invalid_argument);
  EXPECT_THROW(apply(lut, in.data(), o32.data(), in.size()), std::invalid_argument);
  EXPECT_THROW(p.shift(), std::invalid_argument);
  EXPECT_THROW(r.pwl(), std::invalid_argument);
  EXPECT_THROW(lut.out_frac(), std::invalid_argument);
  try {
    apply(p, in.data(), o32.data(), in.size());
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "PwlPlan is empty (default-constructed): build it with prepare_pwl");
  }
}

}  // namespace
