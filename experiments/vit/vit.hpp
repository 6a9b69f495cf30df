// gqalut ViT experiment: a small vision Transformer trained in LibTorch with
// FP32 -> QAT (int8, power-of-two LSQ scales) -> gqalut LUT non-linearities.
// This header is free of LibTorch so that the CLI and the tests compile fast;
// everything that needs LibTorch lives in vit.cpp (the only such file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "int_ops.hpp"

namespace gqalut::vit {

struct ExperimentConfig {
  // "vit": softmax attention + GELU MLP; "effvit": EfficientViT-style ReLU
  // linear attention (its division through the reciprocal table) + HSWISH MLP.
  std::string model = "vit";
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::vector<LutBank> banks;        // one LUT variant each (e.g. optimal-8)
  std::vector<uint64_t> seeds{1, 2, 3};
  int train_subset = 0;              // 0 = all 60000 training images
  int test_subset = 0;               // 0 = all 10000 test images
  int batch = 128;
  double fp32_epochs = 4;            // over the training subset
  double qat_epochs = 2;
  int finetune_steps = 100;          // per LUT variant, from the QAT checkpoint
  double fp32_lr = 2e-3, qat_lr = 5e-4, finetune_lr = 1e-4;
  int threads = 1;                   // more threads only help on an idle machine
  bool integer_check = true;         // rerun each fine-tuned model through int_ops
  bool integer_check_all_seeds = false;  // false: on the first seed only
  std::string raw_csv;               // per-seed results (written if not empty)
  std::string summary_csv;           // mean/std/min/max per variant
  std::string summary_md;            // the markdown table
};

struct RunRecord {
  uint64_t seed = 0;
  std::string variant;      // fp32, qat-exact, <method>-<entries>
  double acc_before = 0;    // QAT-exact and LUT variants: the QAT checkpoint's accuracy before the fine-tune
  double acc = 0;           // test accuracy in percent
  long identical = -1;      // integer-only check: predictions identical (-1: not run)
  long total = 0;
};

// Runs the whole study; returns the records (and writes the files named in cfg).
std::vector<RunRecord> run_experiment(const ExperimentConfig& cfg);

// Exhaustive check of the LibTorch table path against gqalut::eval_acc and
// gqalut::eval_value: every int8 code, every scale of every table of the bank.
// Returns the number of mismatching (code, scale, function) triples.
long torch_lut_mismatches(const LutBank& bank);

// Random rows through the LibTorch integer softmax / LayerNorm / ReLU linear
// attention (the last when the bank has a reciprocal table, i.e. always) and
// through int_ops; returns the number of differing outputs.
long torch_intops_mismatches(const LutBank& bank, int rows, uint64_t seed);

}  // namespace gqalut::vit
