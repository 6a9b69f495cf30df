// gqalut_vit_run: the ViT end-to-end study (see docs/vit.md).
//   gqalut_vit_run --tables DIR [--model vit|effvit] [--methods nnlut,ga,optimal] [--entries 8,16]
//                  [--official] [--seeds 1,2,3] [--train-subset N] [--test-subset N]
//                  [--fp32-epochs E] [--qat-epochs E] [--finetune-steps S] [--batch B]
//                  [--threads T] [--out PREFIX] [--no-integer-check]
//                  [--integer-check-all-seeds]
// Progress goes to stderr; PREFIX.md, PREFIX.csv and PREFIX_raw.csv are written.
// Exit code 1 if the integer-only check finds any differing prediction.
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tables.hpp"
#include "vit.hpp"

#ifndef GQALUT_VIT_OFFICIAL_DIR
#define GQALUT_VIT_OFFICIAL_DIR "shared/reference/official"
#endif

int main(int argc, char** argv) {
  using namespace gqalut::vit;
  ExperimentConfig cfg;
  std::string tables, methods = "nnlut,ga,optimal", entries = "8,16", out;
  std::string official_dir = GQALUT_VIT_OFFICIAL_DIR;
  bool official = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--tables") tables = value();
      else if (a == "--methods") methods = value();
      else if (a == "--entries") entries = value();
      else if (a == "--model") cfg.model = value();
      else if (a == "--official") official = true;
      else if (a == "--official-dir") official_dir = value();
      else if (a == "--data") cfg.data_dir = value();
      else if (a == "--seeds") {
        cfg.seeds.clear();
        for (const auto& s : gqalut::vit::split_list(value())) cfg.seeds.push_back(std::stoull(s));
      } else if (a == "--train-subset") cfg.train_subset = std::stoi(value());
      else if (a == "--test-subset") cfg.test_subset = std::stoi(value());
      else if (a == "--fp32-epochs") cfg.fp32_epochs = std::stod(value());
      else if (a == "--qat-epochs") cfg.qat_epochs = std::stod(value());
      else if (a == "--finetune-steps") cfg.finetune_steps = std::stoi(value());
      else if (a == "--batch") cfg.batch = std::stoi(value());
      else if (a == "--threads") cfg.threads = std::stoi(value());
      else if (a == "--out") out = value();
      else if (a == "--no-integer-check") cfg.integer_check = false;
      else if (a == "--integer-check-all-seeds") cfg.integer_check_all_seeds = true;
      else throw std::invalid_argument("unknown option " + a);
    }
    for (const auto& e : gqalut::vit::split_list(entries)) {
      const int k = std::stoi(e);
      if (official) cfg.banks.push_back(load_official_bank(official_dir, k));
      if (!tables.empty()) {
        for (const auto& m : gqalut::vit::split_list(methods)) cfg.banks.push_back(load_bank(tables, m, k, model_functions(cfg.model)));
      }
    }
    if (!out.empty()) {
      cfg.summary_md = out + ".md";
      cfg.summary_csv = out + ".csv";
      cfg.raw_csv = out + "_raw.csv";
    }
    const auto recs = run_experiment(cfg);
    for (const auto& r : recs) {
      if (r.identical >= 0) {
        std::printf("integer-only check (%s, seed %llu): %ld/%ld identical\n", r.variant.c_str(),
                    static_cast<unsigned long long>(r.seed), r.identical, r.total);
        if (r.identical != r.total) return 1;
      }
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "gqalut_vit_run: %s\n", ex.what());
    return 2;
  }
  return 0;
}
