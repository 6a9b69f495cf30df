// Private helpers of the softmax and LayerNorm unit generators (src/hw/softmax_unit.cpp,
// src/hw/layernorm_unit.cpp): template substitution, widths, hex vector files, the embedded PWL
// units and the shared Verilog pieces (sequential multiplier, stream testbench).
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gqalut/hw/pwl_unit.hpp"
#include "gqalut/hw/softmax_unit.hpp"
#include "gqalut/table.hpp"

namespace gqalut::hw::detail {

// Replaces every ${KEY} of `text` by vars[KEY]; an unknown key is a generator bug (throws).
inline std::string subst(const std::string& text, const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size() + 256);
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const size_t end = text.find('}', i + 2);
      if (end == std::string::npos) throw std::logic_error("unit template: unterminated ${");
      const std::string key = text.substr(i + 2, end - i - 2);
      const auto it = vars.find(key);
      if (it == vars.end()) throw std::logic_error("unit template: unknown key " + key);
      out += it->second;
      i = end + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

// Bits of an unsigned value (>= 1).
inline int ubits(uint64_t v) {
  int b = 1;
  while (b < 64 && (uint64_t{1} << b) <= v) ++b;
  return b;
}
inline std::string S(long long v) { return std::to_string(v); }

// A generator's width assertion: the plan breaks an assumption of the unit.
inline void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("unit generator: " + what);
}

// W-bit hex of v (two's complement), without the W'h prefix, zero-padded.
inline std::string hexw(uint64_t v, int w) {
  if (w < 64) v &= (uint64_t{1} << w) - 1;
  return fmt::format("{:0{}x}", v, (w + 3) / 4);
}

// Packs fields (value, width), first field most significant, into one hex word of their total
// width (<= 256 bits).
struct HexWord {
  std::vector<std::pair<uint64_t, int>> f;
  HexWord& add(uint64_t v, int w) {
    f.emplace_back(v, w);
    return *this;
  }
  int width() const {
    int w = 0;
    for (const auto& p : f) w += p.second;
    return w;
  }
  std::string str() const {
    const int w = width();
    std::vector<uint8_t> bits(static_cast<size_t>(w), 0);  // bit i = weight 2^i
    int pos = w;
    for (const auto& [v, fw] : f) {
      pos -= fw;
      for (int b = 0; b < fw; ++b) bits[static_cast<size_t>(pos + b)] = b < 64 ? ((v >> b) & 1) : 0;
    }
    std::string s;
    for (int d = (w + 3) / 4 - 1; d >= 0; --d) {
      int nib = 0;
      for (int b = 0; b < 4; ++b)
        if (d * 4 + b < w && bits[static_cast<size_t>(d * 4 + b)]) nib |= 1 << b;
      s += "0123456789abcdef"[nib];
    }
    return s;
  }
};

// A PWL unit (the hardware layer's generator, gqalut/hw/pwl_unit.hpp) for one table: baked or programmable, combinational.
struct Pwl {
  std::string module, text;
  int acc_bits = 0;      // width of its acc output
  int address_bits = 0;  // programmable: waddr width
  int data_bits = 0;     // programmable: wdata width
  ProgrammableGeometry geometry;
};
inline Pwl make_pwl(const Table& t, const std::string& module, bool programmable, const std::string& function) {
  TableSet set;
  set.function = function;
  set.tables.emplace(t.n, t);
  ExportOptions eo;
  eo.scale = t.n;
  eo.name = module;
  eo.programmable = programmable;
  const VerilogUnit u = pwl_unit(set, eo);
  require(u.files.size() == 1, "the PWL generator must give one file");
  Pwl p;
  p.module = module;
  p.text = u.files.front().second;
  require(t.input_bits == 8, fmt::format("the {} table must take 8-bit codes, got {}", function, t.input_bits));
  if (programmable) {
    p.geometry = programmable_geometry(set);
    p.acc_bits = p.geometry.accumulator_bits();
    p.address_bits = p.geometry.address_bits();
    p.data_bits = p.geometry.data_bits();
  } else {
    p.acc_bits = t.accumulator_bits();
  }
  return p;
}

// The sequential multiplier the once-per-row reciprocal / rsqrt shares for its Newton steps:
// P = A * B, DB bits of B per cycle (B is MB bits, MB a multiple of DB), MB / DB cycles after start.
inline std::string seqmul_module(const std::string& name, int MA, int MB, int DB) {
  return subst(R"(// Sequential multiplier: p = a * b (unsigned), ${DB} bits of b per cycle, ${CYC} cycles.
// start loads a and b; done rises ${CYC} cycles later and holds p until the next start.
module ${NAME} (
  input  wire               clk,
  input  wire               rst,
  input  wire               start,
  input  wire [${MA1}:0]     a,
  input  wire [${MB1}:0]     b,
  output wire               done,
  output wire [${PW1}:0]     p
);
  reg [${MA1}:0] ar;
  reg [${PW1}:0] pr;        // {partial product high part, b digits still to use}
  reg [${CW1}:0] cnt;       // digits left
  wire [${AD1}:0] prod = {${DB}'d0, ar} * {${MA}'d0, pr[${DB1}:0]};
  wire [${AD1}:0] sum = {${DB}'d0, pr[${PW1}:${MB}]} + prod;
  always @(posedge clk) begin
    if (rst) begin
      cnt <= ${CW}'d0;
    end else if (start) begin
      ar <= a;
      pr <= {${MA}'d0, b};
      cnt <= ${CW}'d${CYC};
    end else if (cnt != ${CW}'d0) begin
      pr <= {sum, pr[${MB1}:${DB}]};
      cnt <= cnt - ${CW}'d1;
    end
  end
  assign done = (cnt == ${CW}'d0);
  assign p = pr;
endmodule
)",
               {{"NAME", name},
                {"MA", S(MA)},
                {"MA1", S(MA - 1)},
                {"MB", S(MB)},
                {"MB1", S(MB - 1)},
                {"PW1", S(MA + MB - 1)},
                {"DB", S(DB)},
                {"DB1", S(DB - 1)},
                {"AD1", S(MA + DB - 1)},
                {"CYC", S(MB / DB)},
                {"CW", S(ubits(static_cast<uint64_t>(MB / DB)))},
                {"CW1", S(ubits(static_cast<uint64_t>(MB / DB)) - 1)}});
}

}  // namespace gqalut::hw::detail
