// gqalut_vit_run: the end-to-end study (docs/vit.md). Progress goes to stderr;
// PREFIX.md, PREFIX.csv and PREFIX_raw.csv are written. Exit code 1 if the
// integer-only check finds a differing prediction, 2 for bad input.
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "study.hpp"

#ifndef GQALUT_VIT_OFFICIAL_DIR
#define GQALUT_VIT_OFFICIAL_DIR "shared/reference/official"
#endif

int main(int argc, char** argv) {
  using namespace gqalut::vit;
  ExperimentConfig cfg;
  std::string tables, out, official_dir = GQALUT_VIT_OFFICIAL_DIR;
  std::vector<std::string> methods{"nnlut", "ga-faithful", "optimal"};
  std::vector<int> entries{8, 16};
  bool official = false, no_check = false;

  CLI::App app{
      "gqalut_vit_run: a small ViT (or an EfficientViT-style model) on Fashion-MNIST, FP32 -> int8 QAT ->\n"
      "every non-linearity through gqalut's integer operations with each LUT variant's tables, a short\n"
      "fine-tune, and the integer-only check (see docs/vit.md).\n\n"
      "Example:\n"
      "  gqalut_vit_run --tables build-vit/vit_tables --seeds 1 --train-subset 2048 --test-subset 2000 \\\n"
      "                 --fp32-epochs 2 --qat-epochs 1 --finetune-steps 10 --out /tmp/vit_quick\n",
      "gqalut_vit_run"};
  app.option_defaults()->always_capture_default();
  app.add_option("--tables", tables, "Folder of <method>_<entries>_<fn>.json tables (gqalut_vit_tables --out)")
      ->check(CLI::ExistingDirectory);
  cli::add_model_option(app, cfg.model, "vit (softmax attention, GELU) or effvit (ReLU linear attention, HSWISH)");
  cli::add_methods_option(app, methods,
                          "Table methods of gqalut's search registry, comma separated (optimal, ga-faithful, nnlut, "
                          "...); the files <method>_<entries>_<fn>.json");
  cli::add_entries_option(app, entries, "Table sizes, comma separated (8, 16)");
  app.add_flag("--official", official, "Also run the official GQA-LUT tables (official-<entries>)");
  app.add_option("--official-dir", official_dir, "Folder of the official tables")->check(CLI::ExistingDirectory);
  app.add_option("--data", cfg.data_dir, "Folder of the Fashion-MNIST IDX .gz files")->check(CLI::ExistingDirectory);
  app.add_option("--seeds", cfg.seeds, "Seeds, comma separated (initialisation and batch order)")->delimiter(',');
  app.add_option("--train-subset", cfg.train_subset, "First N training images (0: all 60000)")->check(CLI::NonNegativeNumber);
  app.add_option("--test-subset", cfg.test_subset, "First N test images (0: all 10000)")->check(CLI::NonNegativeNumber);
  app.add_option("--fp32-epochs", cfg.fp32_epochs, "FP32 training epochs over the subset")->check(CLI::PositiveNumber);
  app.add_option("--qat-epochs", cfg.qat_epochs, "QAT epochs")->check(CLI::PositiveNumber);
  app.add_option("--finetune-steps", cfg.finetune_steps, "Fine-tune steps per variant (and QAT-exact)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", cfg.batch, "Mini-batch size")->check(CLI::Range(1, 65536));
  app.add_option("--threads", cfg.threads, "LibTorch threads")->check(CLI::Range(1, 256));
  app.add_option("--out", out, "Output prefix: PREFIX.md, PREFIX.csv, PREFIX_raw.csv");
  app.add_flag("--no-integer-check", no_check, "Skip the integer-only check");
  app.add_flag("--integer-check-all-seeds", cfg.integer_check_all_seeds, "Run the integer-only check on every seed");
  app.add_flag("--quiet", cfg.quiet, "No progress line");

  return cli::run(app, argc, argv, [&] {
    if (cfg.seeds.empty()) throw std::invalid_argument("--seeds needs at least one seed");
    if (tables.empty() && !official) throw std::invalid_argument("give --tables DIR and/or --official");
    cfg.integer_check = !no_check;
    for (int k : entries) {
      if (official) cfg.banks.push_back(load_official_bank(official_dir, k));
      if (!tables.empty()) {
        for (const auto& m : methods) cfg.banks.push_back(load_bank(tables, m, k, model_functions(cfg.model)));
      }
    }
    if (!out.empty()) {
      cfg.summary_md = out + ".md";
      cfg.summary_csv = out + ".csv";
      cfg.raw_csv = out + "_raw.csv";
    }
    const auto recs = run_experiment(cfg);
    int rc = 0;
    for (const auto& r : recs) {
      if (r.identical < 0) continue;
      std::printf("integer-only check (%s, seed %llu): %ld/%ld identical\n", r.variant.c_str(),
                  static_cast<unsigned long long>(r.seed), r.identical, r.total);
      if (r.identical != r.total) rc = 1;
    }
    return rc;
  });
}
