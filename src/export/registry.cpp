#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/export.hpp"
#include "gqalut/io.hpp"

namespace gqalut {

#define GQALUT_EXPORTER(name, fn, desc) void fn(std::ostream&, const TableSet&, const ExportOptions&);
#include "exporters.def"
#undef GQALUT_EXPORTER

void write_json_export(std::ostream& out, const TableSet& set, const ExportOptions& opt) {
  if (opt.scale < 0) return write_json(out, set);
  TableSet one = set;
  one.tables = {{opt.scale, set.at(opt.scale)}};
  write_json(out, one);
}

const std::vector<Exporter>& exporters() {
  static const std::vector<Exporter> list = {
#define GQALUT_EXPORTER(name, fn, desc) Exporter{#name, desc, &fn},
#include "exporters.def"
#undef GQALUT_EXPORTER
  };
  return list;
}

const Exporter& find_exporter(const std::string& name) {
  std::string known;
  for (const auto& e : exporters()) {
    if (name == e.name) return e;
    known += (known.empty() ? "" : ", ") + std::string(e.name);
  }
  throw std::invalid_argument(fmt::format("unknown export format '{}' (known: {})", name, known));
}

}  // namespace gqalut
