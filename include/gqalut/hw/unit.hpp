// gqalut hardware layer: the value every unit generator returns (issue 16).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace gqalut::hw {

// A generated unit: synthesizable Verilog-2005 sources and the name of the top module.
struct VerilogUnit {
  std::string top;                                         // top module name
  std::vector<std::pair<std::string, std::string>> files;  // (file name, Verilog text), dependencies first
};

}  // namespace gqalut::hw
