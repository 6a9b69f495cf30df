// gqalut ViT experiment: the study's entry points. A small vision Transformer
// (or an EfficientViT-style model) trained in LibTorch, FP32 -> QAT (int8,
// power-of-two LSQ scales) -> every non-linearity through gqalut's integer
// operations (include/gqalut/intops.hpp) with a short fine-tune, then the
// integer-only check. This header is free of LibTorch so that the command
// lines and the tests compile fast.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bank.hpp"

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
  bool integer_check = true;         // rerun each fine-tuned model through the library's operations
  bool integer_check_all_seeds = false;  // false: on the first seed only
  bool quiet = false;                // no progress line (the tests)
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
// Throws std::invalid_argument for a bad configuration (unknown model, a bank
// without the scales the model needs, missing data files).
std::vector<RunRecord> run_experiment(const ExperimentConfig& cfg);

// ---- checks (checks.cpp; the tests call them) ---------------------------------

// The LibTorch table path (bucketize + gather) against gqalut::eval_acc and
// eval_value: every int8 code, every scale of every table of the bank.
// Returns the number of mismatching (code, scale, function) triples.
long torch_lut_mismatches(const LutBank& bank);

// The LibTorch simulation of gqalut's integer operations against the library
// itself (gqalut::activation) and, for softmax and LayerNorm, both the
// simulation and the library (softmax_row, layernorm_row) against the scalar
// datapath reference (include/gqalut/datapath.hpp); the linear attention
// against its C++ reference: all 256 codes of every activation at
// every scale and output scale, `rows` random rows of softmax and LayerNorm per
// parameter combination (plus peaked, constant and extreme rows), `rows / 5`
// linear-attention heads. Returns the number of differing outputs.
long torch_intops_mismatches(const LutBank& bank, int rows, uint64_t seed);

}  // namespace gqalut::vit
