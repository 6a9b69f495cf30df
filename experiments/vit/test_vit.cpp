// Tests of the ViT experiment: the LibTorch table path equals gqalut's
// evaluator exhaustively, the LibTorch integer softmax/LayerNorm equal int_ops,
// and a tiny end-to-end run (FP32, QAT, LUT fine-tune, integer-only check).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "vit.hpp"
#ifdef GQALUT_VIT_HAVE_SEARCH
#include "tables.hpp"
#endif

namespace gqalut::vit {
namespace {

std::vector<LutBank> banks_under_test() {
  std::vector<LutBank> banks;
  for (int k : {8, 16}) banks.push_back(load_official_bank(GQALUT_VIT_OFFICIAL_DIR, k));
#ifdef GQALUT_VIT_HAVE_SEARCH
  // gqalut's own searches, exactly as the experiment makes them.
  for (const char* method : {"optimal", "ga", "nnlut"}) {
    LutBank b;
    b.name = std::string(method) + "-8";
    b.gelu = search_table(method, table_specs()[0], 8, 1).tables;
    b.exp = search_table(method, table_specs()[1], 8, 1).tables;
    b.reci = search_table(method, table_specs()[2], 8, 1).tables;
    b.rsqrt = search_table(method, table_specs()[3], 8, 1).tables;
    b.hswish = search_table(method, table_spec("hswish"), 8, 1).tables;
    choose_reduction_scales(b);
    banks.push_back(b);
  }
#endif
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

TEST(VitLut, KernelPathFollowsTheTableNotItsAddress) {
  // Every table of every bank, one after another in the same object (so each
  // has the address of the one before it), through the kernel path on all 256
  // codes: each must equal its own evaluator, never a cached plan of the
  // previous occupant of that address.
  std::vector<int32_t> codes(256);
  for (int q = -128; q < 128; ++q) codes[q + 128] = q;
  std::vector<int64_t> acc(256);
  Table slot;
  long checked = 0;
  for (const auto& bank : banks()) {
    for (const TableSet* set : {&bank.gelu, &bank.exp, &bank.hswish, &bank.reci, &bank.rsqrt}) {
      for (const auto& [n, t] : set->tables) {
        slot = t;
        lut_apply(slot, codes.data(), acc.data(), codes.size());
        for (int i = 0; i < 256; ++i) {
          ASSERT_EQ(acc[i], eval_acc(t, codes[i])) << bank.name << " n=" << n << " q=" << codes[i];
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(VitLut, TorchSoftmaxAndLayerNormEqualIntegerReference) {
  for (const auto& bank : banks()) {
    EXPECT_EQ(torch_intops_mismatches(bank, 2000, 7), 0) << bank.name;
  }
}

TEST(VitLut, IntegerSoftmaxIsCloseToExact) {
  // 17 codes at scale 4 (x = q/16): the integer softmax must be within 2 codes
  // (2^-6) of the exact softmax rounded to 2^-7.
  const LutBank& bank = banks().front();
  const Table& et = bank.exp.at(4);
  const Table& rt = bank.reci.at(bank.reci_n);
  std::vector<int32_t> d(17), p(17);
  for (int shift = 0; shift < 5; ++shift) {
    double sum = 0;
    for (int i = 0; i < 17; ++i) {
      d[i] = i == 0 ? 0 : -((i * 37) % 128) >> shift;
      sum += std::exp(d[i] / 16.0);
    }
    softmax_row(et, rt, d.data(), p.data(), 17);
    for (int i = 0; i < 17; ++i) {
      EXPECT_NEAR(p[i], std::exp(d[i] / 16.0) / sum * 128, 2.0) << "i=" << i << " shift=" << shift;
    }
  }
}

TEST(VitLut, IntegerLayerNormIsCloseToExact) {
  const LutBank& bank = banks().front();
  const Table& rt = bank.rsqrt.at(bank.rsqrt_n);
  std::vector<int32_t> q(kLnDim);
  std::vector<int64_t> prod(kLnDim);
  for (int scale : {1, 7, 60}) {
    double mean = 0, var = 0;
    for (int i = 0; i < kLnDim; ++i) {
      q[i] = ((i * 53 + 11) % 255 - 127) * scale / 60;
      mean += q[i];
    }
    mean /= kLnDim;
    for (int i = 0; i < kLnDim; ++i) var += (q[i] - mean) * (q[i] - mean) / kLnDim;
    const int nx = 3;
    const int s = layernorm_row(rt, q.data(), prod.data(), nx, 1e-5);
    const double sd = std::sqrt(var / 64.0 + 1e-5);
    for (int i = 0; i < kLnDim; ++i) {
      const double exact = (q[i] - mean) / 8.0 / sd;
      EXPECT_NEAR(std::ldexp(static_cast<double>(prod[i]), -s), exact, 0.03 * std::abs(exact) + 1e-3)
          << "i=" << i << " scale=" << scale;
    }
  }
}

TEST(VitLut, IntegerLinearAttentionIsCloseToExact) {
  // One head of 17 tokens x 16 dims: the integer ReLU linear attention (division
  // through the reciprocal table after power-of-two reduction) is within
  // 1 code + 2% of the exact value num / (den + 1), in units of v's scale.
  const LutBank& bank = banks().front();
  const Table& rt = bank.reci.at(bank.reci_n);
  constexpr int kT = 17, kD = 16;
  std::vector<int32_t> q(kT * kD), k(kT * kD), v(kT * kD), out(kT * kD);
  for (int spread : {127, 20, 3}) {
    for (int i = 0; i < kT * kD; ++i) {
      q[i] = ((i * 37 + 5) % 255 - 127) * spread / 127;
      k[i] = ((i * 53 + 11) % 255 - 127) * spread / 127;
      v[i] = (i * 29 + 7) % 256 - 128;
    }
    linear_attention_head(rt, q.data(), k.data(), v.data(), out.data(), kT, kD);
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
            << "i=" << i << " c=" << c << " spread=" << spread;
      }
    }
    EXPECT_GT(nonzero, kT * kD / 2) << "spread=" << spread;
  }
}

// Every stage of one model for a few steps on a tiny subset, then the
// integer-only check on every bank: FP32 must learn (10 classes: chance is 10%),
// every LUT variant must stay above chance and agree with the kernel path.
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

TEST(VitSmoke, EndToEndOnATinySubset) { smoke("vit", 3); }  // FP32 reaches 31%

TEST(VitSmoke, EfficientVitEndToEndOnATinySubset) {
  // ReLU linear attention and HSWISH. 20 FP32 steps (5 epochs of 4) reach 50%;
  // 12 reached only 22%, too close to the floor for another CPU's rounding.
  smoke("effvit", 5);
}

}  // namespace
}  // namespace gqalut::vit
