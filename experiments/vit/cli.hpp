// gqalut ViT experiment: the command-line conventions both programs share
// (gqalut_vit_run, gqalut_vit_tables): the --methods / --entries / --model
// options, and one way to end: --help exits 0, a bad option or input prints
// one line "PROGRAM: error: ..." and exits 2 (as the gqalut tool does).
#pragma once

#include <CLI/CLI.hpp>

#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "gqalut/methods.hpp"
#include "gqalut/text.hpp"

namespace gqalut::vit::cli {

// --methods: names or aliases of gqalut's search registry (gqalut::find_method), stored canonical.
inline CLI::Option* add_methods_option(CLI::App& app, std::vector<std::string>& methods, const std::string& help) {
  auto known = [](const std::string& name) -> std::string {
    try {
      (void)find_method(name);
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  };
  return app.add_option("--methods", methods, help)
      ->delimiter(',')
      ->check(known)
      ->transform([](std::string name) { return find_method(name).name; });
}

// --entries: table sizes, comma separated, each in [2, 64].
inline CLI::Option* add_entries_option(CLI::App& app, std::vector<int>& entries, const std::string& help) {
  return app.add_option("--entries", entries, help)->delimiter(',')->check(CLI::Range(2, 64));
}

// --model: vit | effvit.
inline CLI::Option* add_model_option(CLI::App& app, std::string& model, const std::string& help) {
  return app.add_option("--model", model, help)->check(CLI::IsMember({"vit", "effvit"}));
}

// Parses the command line and runs body; returns the exit code.
inline int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  const std::string program = app.get_name();
  try {
    app.parse(argc, argv);
    return body();
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << program << ": error: " << escape_controls(e.what()) << " (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << escape_controls(e.what()) << '\n';
    return 2;
  }
}

}  // namespace gqalut::vit::cli
