// Shared by the benchmark programs: where the official tables are, and a
// reporter that keeps each benchmark's time for the ratio tables printed
// after the run.
#pragma once

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "gqalut/io.hpp"

namespace gqalut::bench {

// The official tables: $GQALUT_SHARED_DIR, else ../shared next to the source tree.
inline std::string shared_dir() {
  if (const char* env = std::getenv("GQALUT_SHARED_DIR")) return env;
  std::string f = __FILE__;
  return f.substr(0, f.rfind("/bench/")) + "/../shared";
}

inline TableSet official(const std::string& file) {
  return read_json_file(shared_dir() + "/reference/official/" + file);
}

// Seconds per iteration of every benchmark (name without "/real_time"): the
// median aggregate when run with --benchmark_repetitions, else the single run.
class Capture : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> seconds, median_seconds;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      std::string name = r.run_name.str();
      auto p = name.find("/real_time");
      if (p != std::string::npos) name.erase(p);
      if (r.iterations <= 0) continue;
      const double t = r.real_accumulated_time / double(r.iterations);
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") median_seconds[name] = t;
      } else {
        seconds[name] = t;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // Call after RunSpecifiedBenchmarks: medians replace single runs.
  void Finish() {
    for (const auto& [name, t] : median_seconds) seconds[name] = t;
  }
};

}  // namespace gqalut::bench
