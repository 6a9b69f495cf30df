// gqalut_vit_tables: writes the ViT experiment's tables with gqalut's searches.
//   gqalut_vit_tables --out DIR [--methods optimal,ga,nnlut] [--entries 8,16] [--seed 1]
//                     [--model vit|effvit]
// vit (default): gelu, exp, reci, rsqrt; effvit: hswish, reci, rsqrt.
// Files that already exist are kept (a cache); each file records its method,
// seed and settings in its "gqalut" metadata.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gqalut/io.hpp"
#include "tables.hpp"

int main(int argc, char** argv) {
  std::string out, methods = "nnlut,ga,optimal", entries = "8,16", model = "vit";
  uint64_t seed = 1;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--out") out = value();
      else if (a == "--methods") methods = value();
      else if (a == "--entries") entries = value();
      else if (a == "--seed") seed = std::stoull(value());
      else if (a == "--model") model = value();
      else throw std::invalid_argument("unknown option " + a);
    }
    if (out.empty()) throw std::invalid_argument("--out DIR is required");
    std::filesystem::create_directories(out);
    for (const auto& m : gqalut::vit::split_list(methods)) {
      for (const auto& e : gqalut::vit::split_list(entries)) {
        const int k = std::stoi(e);
        for (const auto& fn : gqalut::vit::model_functions(model)) {
          const auto& spec = gqalut::vit::table_spec(fn);
          const std::string path = gqalut::vit::table_path(out, m, k, spec.function);
          if (std::filesystem::exists(path)) continue;
          const gqalut::Result r = gqalut::vit::search_table(m, spec, k, seed);
          gqalut::write_json_file(path + ".tmp", r.tables);
          std::filesystem::rename(path + ".tmp", path);
          std::fprintf(stderr, "%-8s %2d entries %-6s paper score (P-int) %.3g  %.1f s\n",
                       m.c_str(), k, spec.function.c_str(), r.errors.paper_score, r.seconds);
        }
      }
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "gqalut_vit_tables: %s\n", ex.what());
    return 2;
  }
  return 0;
}
