// gqalut kernels: the instruction sets this CPU has, the process default, and
// every microkernel of the list (src/kernels/kernels.def) with its requirement;
// with --table, which kernel the operator layer runs for that table on each ISA.
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "gqalut/io.hpp"
#include "gqalut/kernels.hpp"

namespace gqalut::cli {
namespace {

struct Options {
  std::string table;
  int scale = -1;     // -1: the largest scale of the file
  int out_frac = -1;  // -1: the table's input scale
  bool json = false;
};

struct Selected {
  std::string family, isa, kernel;
};

// apply() on a few codes of every family, per supported ISA: the name it returns.
std::vector<Selected> selections(const Options& o, std::string* about) {
  const TableSet set = read_json_file(o.table);
  const int n = o.scale >= 0 ? o.scale : set.scales().back();
  const Table& t = set.at(n);
  const int m = o.out_frac >= 0 ? o.out_frac : n;
  const PwlPlan p8 = prepare_pwl(t, 8);
  const RequantPlan rq = prepare_requant(t, m);
  const Lut256Plan lut = prepare_lut256(t, m);
  PwlPlan p16;
  bool have16 = true;
  try {
    p16 = prepare_pwl(t, 16);
  } catch (const std::invalid_argument&) {
    have16 = false;  // its accumulator does not fit int32 for 16-bit codes
  }
  *about = fmt::format("{} at scale {} ({} reachable segments for int8 codes), requantized to 2^-{}", o.table, n,
                       p8.segments(), m);
  std::vector<int8_t> in8(256);
  std::vector<int16_t> in16(256);
  for (int i = 0; i < 256; ++i) in8[i] = static_cast<int8_t>(i - 128), in16[i] = static_cast<int16_t>((i - 128) * 256);
  std::vector<int8_t> o8(256);
  std::vector<int16_t> o16(256);
  std::vector<int32_t> o32(256);
  std::vector<Selected> out;
  for (Isa isa : available_isas()) {
    const std::string name = to_string(isa);
    out.push_back({"s8_pwl_s32", name, apply(p8, in8.data(), o32.data(), 256, isa)});
    if (p8.fits_s16()) out.push_back({"s8_pwl_s16", name, apply(p8, in8.data(), o16.data(), 256, isa)});
    out.push_back({"s8_pwl_s8", name, apply(rq, in8.data(), o8.data(), 256, isa)});
    if (have16) out.push_back({"s16_pwl_s32", name, apply(p16, in16.data(), o32.data(), 256, isa)});
    out.push_back({"s8_lut256_s8", name, apply(lut, in8.data(), o8.data(), 256, isa)});
    out.push_back({"s8_lut256_s32", name, apply(lut, in8.data(), o32.data(), 256, isa)});
  }
  return out;
}

void run(const Options& o) {
  const char* env = std::getenv("GQALUT_ISA");
  const std::string def = to_string(default_isa());
  std::string about;
  const std::vector<Selected> sel = o.table.empty() ? std::vector<Selected>{} : selections(o, &about);
  if (o.json) {
    nlohmann::json j;
    j["default_isa"] = def;
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
      j["isas"].push_back({{"name", to_string(isa)}, {"supported", isa_supported(isa)}});
    j["kernels"] = nlohmann::json::array();
    for (const auto& k : kernel_list())
      j["kernels"].push_back({{"name", k.name},
                              {"family", k.family},
                              {"isa", to_string(k.isa)},
                              {"supported", isa_supported(k.isa)},
                              {"requirement", k.requirement}});
    if (!o.table.empty()) {
      j["table"] = about;
      for (const auto& s : sel) j["selected"].push_back({{"family", s.family}, {"isa", s.isa}, {"kernel", s.kernel}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::string r;
  auto out = std::back_inserter(r);
  fmt::format_to(out, "instruction sets:");
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
    fmt::format_to(out, " {} {}", to_string(isa), isa_supported(isa) ? "yes" : "no");
  fmt::format_to(out, " (avx512 = F+BW+VL+DQ+VBMI)\ndefault: {} ({})\n\n", def,
                 env && *env ? fmt::format("GQALUT_ISA={} or --isa", env) : "the best this CPU has, or --isa");
  fmt::format_to(out, "kernels (src/kernels/kernels.def; per family and ISA the first whose requirement the plan "
                      "meets runs):\n");
  fmt::format_to(out, "{:<14} {:<30} {:<7} {:<5} {}\n", "family", "kernel", "isa", "here", "requirement");
  for (const auto& k : kernel_list())
    fmt::format_to(out, "{:<14} {:<30} {:<7} {:<5} {}\n", k.family, k.name, to_string(k.isa),
                   isa_supported(k.isa) ? "yes" : "no", k.requirement);
  if (!o.table.empty()) {
    fmt::format_to(out, "\nselected for {}:\n", about);
    fmt::format_to(out, "{:<14} {:<7} {}\n", "family", "isa", "kernel that runs");
    for (const auto& s : sel) fmt::format_to(out, "{:<14} {:<7} {}\n", s.family, s.isa, s.kernel);
  }
  std::fwrite(r.data(), 1, r.size(), stdout);
}

}  // namespace

void add_kernels_command(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "kernels", "List the instruction sets this CPU has and every integer kernel (and which one runs for a table)");
  cmd->footer(
      "Examples:\n"
      "  gqalut kernels\n"
      "  gqalut --isa avx2 kernels --table ../shared/reference/official/gelu_pwl_7.json --scale 4 --out-frac 5\n"
      "The global --isa (or GQALUT_ISA) sets the default ISA of every command.");
  cmd->add_option("--table", o->table, "Table file: show the kernel each family runs for it on every ISA");
  cmd->add_option("--scale", o->scale, "Scale of the table (default: its largest)")->check(int_in(0, 31));
  cmd->add_option("--out-frac", o->out_frac, "Output fraction bits of the int8 kernels (default: the scale)")
      ->check(int_in(0, 31));
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { run(*o); });
}

}  // namespace gqalut::cli
