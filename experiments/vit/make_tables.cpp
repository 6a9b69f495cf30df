// gqalut_vit_tables: writes the study's tables with gqalut's searches (docs/vit.md).
// Files that already exist are kept (a cache); each file records its method,
// seed and settings in its "gqalut" metadata.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bank.hpp"
#include "cli.hpp"
#include "gqalut/io.hpp"
#include "tables.hpp"

int main(int argc, char** argv) {
  using namespace gqalut::vit;
  std::string out, model = "vit";
  std::vector<std::string> methods{"nnlut", "ga-faithful", "optimal"};
  std::vector<int> entries{8, 16};
  uint64_t seed = 1;
  CLI::App app{
      "gqalut_vit_tables: the tables of the end-to-end study, one file per method, size and function:\n"
      "<out>/<method>_<entries>_<fn>.json (vit: gelu, exp2m1, reci, rsqrt; effvit: hswish, reci, rsqrt).\n"
      "Existing files are kept.\n\n"
      "Example:\n"
      "  gqalut_vit_tables --out build-vit/vit_tables --methods optimal --entries 8\n",
      "gqalut_vit_tables"};
  app.option_defaults()->always_capture_default();
  app.add_option("--out", out, "Output folder (created)")->required();
  cli::add_methods_option(app, methods,
                          "Methods of gqalut's search registry, comma separated (optimal, ga-faithful, nnlut, "
                          "uniform, ga-improved)");
  cli::add_entries_option(app, entries, "Table sizes, comma separated");
  app.add_option("--seed", seed, "Seed of the stochastic searches (GA, NN-LUT)");
  cli::add_model_option(app, model, "vit or effvit: which functions");
  return cli::run(app, argc, argv, [&] {
    std::filesystem::create_directories(out);
    for (const auto& m : methods) {
      for (int k : entries) {
        for (const auto& fn : model_functions(model)) {
          const TableSpec& spec = table_spec(fn);
          const std::string path = table_path(out, m, k, spec.function);
          if (std::filesystem::exists(path)) continue;
          const gqalut::Result r = search_table(m, spec, k, seed);
          gqalut::write_json_file(path, r.tables);  // atomic: a killed run leaves no partial file
          std::fprintf(stderr, "%-8s %2d entries %-6s paper score (P-int) %.3g  %.1f s\n", m.c_str(), k,
                       spec.function.c_str(), r.errors.paper_score, r.seconds);
        }
      }
    }
    return 0;
  });
}
