// gqalut: integer-only piecewise-linear look-up tables for Transformer non-linearities.
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include <fmt/format.h>

#include "cli.hpp"
#include "gqalut/kernels.hpp"
#include "gqalut/text.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "gqalut: quantization-aware piecewise-linear look-up tables (GQA-LUT, DAC 2024) for\n"
      "GELU, HSWISH, SiLU, EXP, DIV, RSQRT and your own functions, bit-exact on int8 hardware.\n\n"
      "Examples:\n"
      "  gqalut fit --func gelu --entries 8 -o gelu8.json       # improved GA, per-scale tables\n"
      "  gqalut eval --table gelu8.json                          # P-int error per scale\n"
      "  gqalut show gelu8.json                                  # codes and real values\n",
      "gqalut"};
  app.require_subcommand(1);
  // Before the subcommand: gqalut --isa avx2 <command> ...
  app.add_option_function<std::string>(
      "--isa", [](const std::string& isa) { gqalut::set_default_isa(gqalut::parse_isa(isa)); },
      "Instruction set of the integer kernels: scalar, avx2, avx512 or auto (default: GQALUT_ISA, else the best "
      "this CPU has; `gqalut kernels` lists them)");
  app.failure_message(CLI::FailureMessage::help);
#define GQALUT_COMMAND(name) gqalut::cli::add_##name##_command(app);
#include "commands.def"
#undef GQALUT_COMMAND
  try {
    // The first word that is not a main option must name a subcommand: CLI11 would say "A
    // subcommand is required" for `gqalut nosuch`, and print the main help for `gqalut nosuch --help`.
    for (int i = 1; i < argc; ++i) {
      const std::string word = argv[i];
      if (word == "--isa") {
        ++i;  // its value
      } else if (word.empty() || word[0] != '-') {
        bool found = false;
        std::string known;
        for (const CLI::App* sub : app.get_subcommands({})) {
          found = found || sub->check_name(word);
          known += (known.empty() ? "" : ", ") + sub->get_name();
        }
        if (!found) {
          throw std::invalid_argument(fmt::format("unknown subcommand {} (known: {}; gqalut --help)",
                                                  gqalut::quote(word, 40), known));
        }
        break;
      }
    }
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "gqalut: error: " << gqalut::escape_controls(e.what()) << " (see --help)\n";
    return 2;
  } catch (const std::bad_alloc&) {  // a bound we missed: still one clear line
    std::cerr << "gqalut: error: out of memory: the request needs more memory than is available\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gqalut: error: " << gqalut::escape_controls(e.what()) << '\n';
    return 2;
  }
  return 0;
}
