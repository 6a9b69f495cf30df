// Tests of the end-to-end study: the LibTorch table path equals gqalut's
// evaluator on every code, the LibTorch simulation of the integer operations
// equals gqalut's library (include/gqalut/intops.hpp) on every activation code,
// and both equal the datapath reference (include/gqalut/datapath.hpp) on random rows, the library's operations are close to the exact
// functions at the model's scales, the command lines reject bad input, and a
// tiny end-to-end run per model (FP32, QAT, LUT fine-tune, integer-only check).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gqalut/intops.hpp"
#include "linear_attention.hpp"
#include "study.hpp"
#include "tables.hpp"

namespace gqalut::vit {
namespace {

std::vector<LutBank> banks_under_test() {
  std::vector<LutBank> banks;
  for (int k : {8, 16}) banks.push_back(load_official_bank(GQALUT_VIT_OFFICIAL_DIR, k));
  // gqalut's own searches, exactly as the study makes them (8 entries).
  for (const char* method : {"optimal", "ga-faithful", "nnlut"}) {
    LutBank b;
    b.name = std::string(method) + "-8";
    for (const char* fn : {"gelu", "exp2m1", "reci", "rsqrt", "hswish"}) {
      bank_set(b, fn) = search_table(method, table_spec(fn), 8, 1).tables;
    }
    choose_reduction_scales(b);
    banks.push_back(b);
  }
  return banks;
}

const std::vector<LutBank>& banks() {
  static const std::vector<LutBank> b = banks_under_test();
  return b;
}

TEST(VitLut, TorchTablePathEqualsEvaluatorOnAllCodesAndScales) {
  for (const auto& bank : banks()) {
    // Every bank carries the EfficientViT-style model's HSWISH tables too.
    ASSERT_EQ(bank.hswish.tables.size(), 7u) << bank.name;
    EXPECT_EQ(torch_lut_mismatches(bank), 0) << bank.name;
  }
}

// Softmax and LayerNorm: the LibTorch simulation and the library both equal the
// scalar datapath reference (include/gqalut/datapath.hpp) on every row.
TEST(VitLut, TorchSimulationAndLibraryEqualTheReference) {
  for (const auto& bank : banks()) {
    EXPECT_EQ(torch_intops_mismatches(bank, 400, 7), 0) << bank.name;
  }
}

TEST(VitLut, LibrarySoftmaxIsCloseToExact) {
  // 17 logits at the model's input scales (x = q 2^-n, n = 4..6): the library's
  // softmax must be within 2 codes (2^-6) of the exact probability at 2^-7.
  for (const auto& bank : banks()) {
    for (int n = 4; n <= 6; ++n) {
      const SoftmaxPlan plan = prepare_softmax(bank.exp, bank.reci, n, 7);
      std::vector<int8_t> d(17), p(17);
      for (int spread = 0; spread < 5; ++spread) {
        double sum = 0;
        for (int i = 0; i < 17; ++i) {
          d[i] = static_cast<int8_t>(i == 0 ? 0 : -((i * 37) % 128) >> spread);
          sum += std::exp(std::ldexp(d[i], -n));
        }
        softmax_row(plan, d.data(), p.data(), d.size());
        for (int i = 0; i < 17; ++i) {
          EXPECT_NEAR(p[i], std::exp(std::ldexp(d[i], -n)) / sum * 128, 2.0)
              << bank.name << " n=" << n << " i=" << i << " spread=" << spread;
        }
      }
    }
  }
}

TEST(VitLut, LibraryLayerNormIsCloseToExact) {
  // Rows of 64 at input scale 2^-3, gamma = 1 (code 64 at 2^-6), beta = 0,
  // output at 2^-4: within 0.6 output steps + 3% of the exact normalised value.
  for (const auto& bank : banks()) {
    const LayerNormPlan plan = prepare_layernorm(bank.rsqrt, 3, 4, 6, 1e-5);
    std::vector<int8_t> q(64), gamma(64, 64), out(64);
    std::vector<int32_t> beta(64, 0);
    for (int scale : {1, 7, 60}) {
      double mean = 0, var = 0;
      for (int i = 0; i < 64; ++i) {
        q[i] = static_cast<int8_t>(((i * 53 + 11) % 255 - 127) * scale / 60);
        mean += q[i];
      }
      mean /= 64;
      for (int i = 0; i < 64; ++i) var += (q[i] - mean) * (q[i] - mean) / 64;
      layernorm_row(plan, q.data(), gamma.data(), beta.data(), out.data(), 64);
      const double sd = std::sqrt(var / 64.0 + 1e-5);
      for (int i = 0; i < 64; ++i) {
        const double exact = std::clamp((q[i] - mean) / 8.0 / sd, -8.0, 127 / 16.0);
        EXPECT_NEAR(out[i] / 16.0, exact, 0.6 / 16 + 0.03 * std::abs(exact))
            << bank.name << " i=" << i << " scale=" << scale;
      }
    }
  }
}

TEST(VitLut, IntegerLinearAttentionIsCloseToExact) {
  // One head of 17 tokens x 16 dims: the integer ReLU linear attention (division
  // through the reciprocal table after power-of-two reduction) is within
  // 1 code + 2% of the exact value num / (den + 1), in units of v's scale.
  for (const auto& bank : banks()) {
    const PwlPlan reci = prepare_pwl(bank.reci.at(bank.reci_n), 8);
    constexpr int kT = 17, kD = 16;
    std::vector<int32_t> q(kT * kD), k(kT * kD), v(kT * kD), out(kT * kD);
    for (int spread : {127, 20, 3}) {
      for (int i = 0; i < kT * kD; ++i) {
        q[i] = ((i * 37 + 5) % 255 - 127) * spread / 127;
        k[i] = ((i * 53 + 11) % 255 - 127) * spread / 127;
        v[i] = (i * 29 + 7) % 256 - 128;
      }
      linear_attention_head(reci, q.data(), k.data(), v.data(), out.data(), kT, kD);
      int nonzero = 0;
      for (int i = 0; i < kT; ++i) {
        double den = 1;
        std::vector<double> num(kD, 0.0);
        for (int j = 0; j < kT; ++j) {
          double w = 0;
          for (int a = 0; a < kD; ++a) w += std::max(q[i * kD + a], 0) * std::max(k[j * kD + a], 0);
          den += w;
          for (int c = 0; c < kD; ++c) num[c] += w * v[j * kD + c];
        }
        for (int c = 0; c < kD; ++c) {
          const double exact = num[c] / den;
          nonzero += out[i * kD + c] != 0;
          EXPECT_NEAR(out[i * kD + c], exact, 1.0 + 0.02 * std::abs(exact))
              << bank.name << " i=" << i << " c=" << c << " spread=" << spread;
        }
      }
      EXPECT_GT(nonzero, kT * kD / 2) << "spread=" << spread;
    }
  }
}

// Runs a command; returns its exit code and its stderr (2>&1) output.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return {-1, out};
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), f)) out += buf.data();
  const int status = pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(VitCli, HelpAndBadInput) {
  const std::string vit = GQALUT_VIT_RUN, tables = GQALUT_VIT_TABLES;
  auto [rc, text] = run(vit + " --help");
  EXPECT_EQ(rc, 0);
  EXPECT_NE(text.find("--finetune-steps"), std::string::npos) << text;
  EXPECT_NE(text.find("Example"), std::string::npos) << text;
  std::tie(rc, text) = run(tables + " --help");
  EXPECT_EQ(rc, 0);
  EXPECT_NE(text.find("--methods"), std::string::npos) << text;
  // Bad input: exit code 2 and one line naming the problem.
  for (const std::string& args :
       {vit + " --model resnet --official", vit + " --entries 8,x --official", vit + " --seeds", vit + " --bogus",
        vit + " --train-subset -3 --official", vit + " --methods optimal,magic --official", vit,
        tables + " --methods optimal", tables + " --out /tmp/x --entries 300", tables + " --out /tmp/x --model gpt"}) {
    std::tie(rc, text) = run(args);
    EXPECT_EQ(rc, 2) << args << ": " << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << args << ": " << text;
    EXPECT_NE(text.find("error: "), std::string::npos) << args << ": " << text;
  }
}

// Every stage of one model for a few steps on a tiny subset, then the
// integer-only check on every bank: FP32 must learn (10 classes: chance is 10%),
// every LUT variant must stay above chance and give the same predictions when
// its non-linear operations run through the library.
void smoke(const std::string& model, double fp32_epochs) {
  ExperimentConfig cfg;
  cfg.model = model;
  cfg.banks = banks();
  cfg.seeds = {1};
  cfg.train_subset = 256;
  cfg.test_subset = 300;
  cfg.batch = 64;
  cfg.fp32_epochs = fp32_epochs;
  cfg.qat_epochs = 1;
  cfg.finetune_steps = 2;
  cfg.quiet = true;
  const auto recs = run_experiment(cfg);
  ASSERT_EQ(recs.size(), 2 + banks().size());
  EXPECT_EQ(recs[0].variant, "fp32");
  EXPECT_GT(recs[0].acc, 20.0);
  for (const auto& r : recs) {
    if (r.variant == "fp32" || r.variant == "qat-exact") continue;
    EXPECT_EQ(r.total, 300) << r.variant;
    EXPECT_EQ(r.identical, r.total) << r.variant;
    EXPECT_GT(r.acc, 10.0) << r.variant;
  }
}

TEST(VitSmoke, EndToEndOnATinySubset) { smoke("vit", 3); }

TEST(VitSmoke, EfficientVitEndToEndOnATinySubset) {
  // ReLU linear attention and HSWISH. 20 FP32 steps (5 epochs of 4).
  smoke("effvit", 5);
}

}  // namespace
}  // namespace gqalut::vit
