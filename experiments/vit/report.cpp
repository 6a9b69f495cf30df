// gqalut ViT experiment: result files (see report.hpp).
#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

namespace gqalut::vit {
namespace {

std::vector<double> values(const std::vector<RunRecord>& recs, const std::string& variant, bool before) {
  std::vector<double> out;
  for (const auto& r : recs) {
    if (r.variant == variant) out.push_back(before ? r.acc_before : r.acc);
  }
  return out;
}

// Writes through a temporary file so that a failed run leaves no half file.
void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << text;
    if (!f) throw std::invalid_argument("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::invalid_argument("cannot rename " + tmp + " to " + path);
}

}  // namespace

Stats stats(const std::vector<double>& v) {
  Stats s;
  s.count = static_cast<int>(v.size());
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(ss / (v.size() - 1)) : 0;
  s.lo = *std::min_element(v.begin(), v.end());
  s.hi = *std::max_element(v.begin(), v.end());
  return s;
}

std::string record_line(const RunRecord& r) {
  std::string line = fmt::format("seed {} {:<12} test accuracy {:.2f}%", r.seed, r.variant, r.acc);
  if (r.variant != "fp32") line += fmt::format(" (before fine-tune {:.2f}%)", r.acc_before);
  return line;
}

void write_outputs(const ExperimentConfig& cfg, const std::vector<RunRecord>& recs) {
  if (!cfg.raw_csv.empty()) {
    std::string text = "seed,variant,acc_before_finetune,acc,integer_identical,integer_total\n";
    for (const auto& r : recs) {
      text += fmt::format("{},{},{},{},{},{}\n", r.seed, r.variant, r.acc_before, r.acc, r.identical, r.total);
    }
    write_file(cfg.raw_csv, text);
  }
  std::vector<std::string> order;
  for (const auto& r : recs) {
    if (std::find(order.begin(), order.end(), r.variant) == order.end()) order.push_back(r.variant);
  }
  const Stats exact = stats(values(recs, "qat-exact", false));
  if (!cfg.summary_csv.empty()) {
    std::string text = "index,variant,mean,sd,min,max,seeds,drop_vs_qat_exact,mean_before_finetune\n";
    int i = 0;
    for (const auto& v : order) {
      const Stats s = stats(values(recs, v, false));
      const Stats b = stats(values(recs, v, true));
      text += fmt::format("{},{},{},{},{},{},{},{},{}\n", i++, v, s.mean, s.sd, s.lo, s.hi, s.count,
                          exact.mean - s.mean, b.mean);
    }
    write_file(cfg.summary_csv, text);
  }
  if (!cfg.summary_md.empty()) {
    std::string text =
        "| variant | test accuracy % (mean ± sd) | min – max | drop vs QAT-exact | before fine-tune | integer-only check |\n"
        "|---|---|---|---|---|---|\n";
    for (const auto& v : order) {
      const Stats s = stats(values(recs, v, false));
      long same = 0, total = 0;
      for (const auto& r : recs) {
        if (r.variant == v && r.identical >= 0) {
          same += r.identical;
          total += r.total;
        }
      }
      std::string before = "–", check = "–", drop = "–";
      if (v != "fp32") {
        before = fmt::format("{:.2f}", stats(values(recs, v, true)).mean);
        if (total > 0) check = fmt::format("{}/{} identical", same, total);
      }
      if (v != "qat-exact") drop = fmt::format("{:+.2f}", exact.mean - s.mean);
      text += fmt::format("| {} | {:.2f} ± {:.2f} | {:.2f} – {:.2f} | {} | {} | {} |\n", v, s.mean, s.sd, s.lo, s.hi,
                          drop, before, check);
    }
    write_file(cfg.summary_md, text);
  }
}

}  // namespace gqalut::vit
