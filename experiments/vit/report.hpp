// gqalut ViT experiment: the study's result files (no LibTorch).
#pragma once

#include <string>
#include <vector>

#include "study.hpp"

namespace gqalut::vit {

struct Stats {
  double mean = 0, sd = 0, lo = 0, hi = 0;  // sd: sample standard deviation (n - 1)
  int count = 0;
};
Stats stats(const std::vector<double>& v);

// One line per finished run, e.g. "seed 1 optimal-8 test accuracy 84.90% (before fine-tune 84.80%)".
std::string record_line(const RunRecord& r);

// Writes cfg.raw_csv (one row per seed and variant), cfg.summary_csv and
// cfg.summary_md (one row per variant: mean ± sd, min – max, drop vs QAT-exact,
// before fine-tune, integer-only check), each only when its name is set.
void write_outputs(const ExperimentConfig& cfg, const std::vector<RunRecord>& recs);

}  // namespace gqalut::vit
