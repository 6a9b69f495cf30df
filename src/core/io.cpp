#include "gqalut/io.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <new>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/atomic_file.hpp"
#include "gqalut/function.hpp"
#include "gqalut/text.hpp"

namespace gqalut {
namespace {

using json = nlohmann::json;

// Every reader error goes through here: keys and values echoed from the file
// may hold control characters, escaped so the message stays one line.
[[noreturn]] void fail(const std::string& source, const std::string& msg) {
  throw std::invalid_argument(escape_controls(fmt::format("{}: {}", source, msg)));
}

// A string field of the metadata, or `fallback` when absent; never a bare nlohmann type_error.
std::string meta_string(const json& meta, const char* key, const std::string& fallback, const std::string& source) {
  auto it = meta.find(key);
  if (it == meta.end()) return fallback;
  if (!it->is_string()) {
    std::string shown = it->dump();
    if (shown.size() > 40) shown = shown.substr(0, 40) + "...";
    fail(source, fmt::format("{}.{} must be a string, got {}", kMetaKey, key, shown));
  }
  return it->get<std::string>();
}

// The whole input, bounded in size, then bounded in nesting depth before any
// recursive code (parser, dump, copy, destructor) sees it.
std::string read_bounded(std::istream& in, const std::string& source) {
  std::string text;
  char buf[65536];
  try {
    while (in) {
      in.read(buf, sizeof buf);
      text.append(buf, static_cast<size_t>(in.gcount()));
      if (text.size() > kMaxTableFileBytes)
        fail(source, fmt::format("table file must be at most {} bytes, got more", kMaxTableFileBytes));
    }
  } catch (const std::ios_base::failure&) {  // libstdc++ throws this when read(2) fails
    in.setstate(std::ios_base::badbit);
  }
  if (in.bad()) fail(source, "cannot read the file (a directory, or an I/O error)");
  bool in_string = false, escaped = false;
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        fail(source, fmt::format("JSON must nest at most {} levels deep, got more at byte {}", kMaxJsonDepth, i));
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return text;
}

std::vector<double> number_array(const json& obj, const char* key, const std::string& where,
                                 const std::string& source) {
  auto it = obj.find(key);
  if (it == obj.end()) fail(source, fmt::format("{} has no \"{}\" array", where, key));
  if (!it->is_array()) fail(source, fmt::format("{}.{} must be an array of numbers", where, key));
  std::vector<double> v;
  for (const auto& e : *it) {
    if (!e.is_number()) {
      std::string shown = e.dump();  // one line; cut, as a value may be a whole object
      if (shown.size() > 40) shown = shown.substr(0, 40) + "...";
      fail(source, fmt::format("{}.{} must hold numbers only, got {}", where, key, shown));
    }
    double d = e.get<double>();
    if (!std::isfinite(d)) fail(source, fmt::format("{}.{} must be finite, got {}", where, key, d));
    v.push_back(d);
  }
  return v;
}

// Smallest frac_bits in [lo_f, 15] at which every value lies on the grid.
int grid_frac_bits(const std::vector<double>& v, int lo_f) {
  for (int f = lo_f; f <= Format::kMaxFracBits; ++f) {
    bool ok = true;
    for (double d : v) {
      double s = std::ldexp(d, f);
      if (s != std::floor(s) || std::fabs(s) > 1e9) {
        ok = false;
        break;
      }
    }
    if (ok) return f;
  }
  return -1;
}

// A format that holds every value exactly: frac bits of the grid (at least
// `frac`), width the smallest >= 8 holding the codes.
Format infer_format(const std::vector<double>& v, int frac, const std::string& what,
                    const std::string& source) {
  int f = grid_frac_bits(v, frac);
  if (f < 0) fail(source, fmt::format("{} are not on any grid 2^-F with F <= {}", what, Format::kMaxFracBits));
  Format fm{f, 8};
  for (double d : v)
    while (!fm.represents(d)) {
      if (fm.width == Format::kMaxWidth)
        fail(source, fmt::format("{} value {} needs more than {} bits at {} fractional bits", what, d,
                                 Format::kMaxWidth, f));
      ++fm.width;
    }
  return fm;
}

// How a file stores breakpoints (gqalut.breakpoint_encoding; io.hpp).
enum class BreakpointEncoding { code, half_code };
constexpr const char* kHalfCode = "half-code";

// The stored value of breakpoint i: the half code between the last input of
// the segment on its left and the first input of the segment on its right.
double encode_breakpoint(const Table& t, int i) {
  return std::ldexp(double(t.first_code_right_of(i)) - 0.5, -t.n);
}

}  // namespace

std::string official_key(const std::string& function) {
  for (const auto& f : builtin_functions())
    if (f.name == function) return f.official_name;
  return function;
}

TableSet read_json(std::istream& in, const std::string& source) {
  json doc;
  // Keys of the objects being parsed (innermost last): JSON lets a key repeat and the parser
  // would keep the last value only, silently dropping a table or a setting.
  std::vector<std::set<std::string>> open_keys;
  const json::parser_callback_t unique_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      open_keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!open_keys.empty()) open_keys.pop_back();
    } else if (event == json::parse_event_t::key && !open_keys.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!open_keys.back().insert(k).second)
        fail(source, fmt::format("key {} appears twice in one object (JSON keys must be unique)", quote(k, 40)));
    }
    return true;
  };
  try {
    doc = json::parse(read_bounded(in, source), unique_keys);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e400
    std::string what = e.what();
    auto pos = what.find("parse error");
    fail(source, "malformed JSON: " + (pos == std::string::npos ? what : what.substr(pos)));
  } catch (const std::bad_alloc&) {
    fail(source, fmt::format("out of memory parsing a JSON file of at most {} bytes", kMaxTableFileBytes));
  }
  if (!doc.is_object()) fail(source, "top level must be a JSON object {function: {scale: table}}");
  const bool has_meta = doc.contains(kMetaKey);
  json meta = has_meta ? doc[kMetaKey] : json::object();
  if (!meta.is_object()) fail(source, fmt::format("\"{}\" metadata must be an object", kMetaKey));
  // The tie rule and the breakpoint encoding: recorded by gqalut; files
  // without them (official files; gqalut files older than the record) hold
  // codes on the grid, read with the right rule (the official trainer's).
  TieRule tie = TieRule::right;
  BreakpointEncoding encoding = BreakpointEncoding::code;
  if (meta.contains("tie")) {
    std::string text = meta_string(meta, "tie", "right", source);
    try {
      tie = parse_tie_rule(text);
    } catch (const std::invalid_argument& e) {
      fail(source, fmt::format("{}.tie: {}", kMetaKey, e.what()));
    }
  }
  if (meta.contains("breakpoint_encoding")) {
    std::string text = meta_string(meta, "breakpoint_encoding", "code", source);
    if (text == kHalfCode) encoding = BreakpointEncoding::half_code;
    else if (text != "code")
      fail(source, fmt::format("{}.breakpoint_encoding must be {} or code, got {}", kMetaKey, kHalfCode,
                               quote(text)));
  }
  std::string key;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() == kMetaKey) continue;
    if (!key.empty())
      fail(source, fmt::format("expected one function key at the top level, got '{}' and '{}'", key, it.key()));
    key = it.key();
  }
  if (key.empty()) fail(source, "no function key at the top level");
  const json& per_scale = doc[key];
  if (!per_scale.is_object() || per_scale.empty())
    fail(source, fmt::format("\"{}\" must be a non-empty object of scales", key));

  TableSet set;
  set.function = meta_string(meta, "function", key, source);
  set.expression = meta_string(meta, "expression", std::string(), source);
  const Function* fn = nullptr;
  try {
    fn = &find_function(set.function);
    set.function = fn->name;
  } catch (const std::invalid_argument&) {
  }
  if (meta.contains("range")) {
    const json& r = meta["range"];
    if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number())
      fail(source, "gqalut.range must be [lo, hi]");
    set.lo = r[0].get<double>();
    set.hi = r[1].get<double>();
    try {
      check_range(set.lo, set.hi);
    } catch (const std::invalid_argument& e) {
      fail(source, e.what());
    }
  } else if (fn) {
    set.lo = fn->lo;
    set.hi = fn->hi;
  }

  // Collect everything first: official files need one format for all scales.
  struct Raw {
    int n;
    std::vector<double> bp, k, b;
  };
  std::vector<Raw> raws;
  std::vector<double> all_k, all_b;
  std::map<int, std::string> scale_keys;  // "06" and "6" are one scale: never two tables for it
  for (auto it = per_scale.begin(); it != per_scale.end(); ++it) {
    const std::string& s = it.key();
    if (s.empty() || s.size() > 2 || s.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(s) > Table::kMaxScale)
      fail(source, fmt::format("scale key must be an integer in [0, {}], got {}", Table::kMaxScale, quote(s, 40)));
    const auto [seen, fresh] = scale_keys.emplace(std::stoi(s), s);
    if (!fresh)
      fail(source, fmt::format("scale keys {} and {} of \"{}\" are both scale {}: one table per scale",
                               quote(seen->second), quote(s), key, seen->first));
    if (!it->is_object()) fail(source, fmt::format("{}.{} must be an object", key, s));
    std::string where = key + "." + s;
    Raw r{std::stoi(s), number_array(*it, "breakpoints", where, source),
          number_array(*it, "slopes", where, source), number_array(*it, "intercepts", where, source)};
    all_k.insert(all_k.end(), r.k.begin(), r.k.end());
    all_b.insert(all_b.end(), r.b.begin(), r.b.end());
    raws.push_back(std::move(r));
  }
  Format fk, fb;
  try {
    if (meta.contains("slope_format")) {
      std::string sk = meta_string(meta, "slope_format", "", source);
      std::string sb = meta_string(meta, "intercept_format", sk, source);
      try {
        fk = Format::parse(sk);
        fb = Format::parse(sb);
      } catch (const std::invalid_argument& e) {
        fail(source, fmt::format("{}.slope_format/intercept_format: {}", kMetaKey, e.what()));
      }
    } else {
      fk = infer_format(all_k, 6, "slopes", source);
      fb = infer_format(all_b, 6, "intercepts", source);
    }
  } catch (const json::exception& e) {
    fail(source, std::string("gqalut metadata: ") + e.what());
  }

  int input_bits = 8;  // gqalut metadata "input_bits" (absent: int8 inputs)
  if (meta.contains("input_bits")) {
    // Range-checked as read: 4294967300 must not wrap to 4 on the way to an int.
    const json& v = meta["input_bits"];
    const bool in_range = v.is_number_unsigned()  ? v.get<uint64_t>() >= 2 && v.get<uint64_t>() <= 16
                          : v.is_number_integer() ? v.get<int64_t>() >= 2 && v.get<int64_t>() <= 16
                                                  : false;
    if (!in_range) {
      std::string shown = v.dump();
      if (shown.size() > 40) shown = shown.substr(0, 40) + "...";
      fail(source, fmt::format("{}.input_bits must be an integer in [2, 16], got {}", kMetaKey, shown));
    }
    input_bits = static_cast<int>(v.get<int64_t>());
  }
  for (const auto& r : raws) {
    Table t;
    t.n = r.n;
    t.slope_format = fk;
    t.intercept_format = fb;
    t.input_bits = input_bits;
    std::string where = fmt::format("{}.{}", key, r.n);
    try {
      for (double d : r.k) t.slopes.push_back(fk.encode(d, "slope"));
      for (double d : r.b) t.intercepts.push_back(fb.encode(d, "intercept"));
      t.tie = tie;
      for (double d : r.bp) {
        double s = std::ldexp(d, r.n);
        if (encoding == BreakpointEncoding::half_code) {
          // (first code right of the breakpoint - 1/2) * 2^-n; back to the code.
          double first = s + 0.5;
          if (first != std::floor(first))
            throw std::invalid_argument(fmt::format(
                "breakpoint {} is not a half code (P - 1/2) * 2^-{} of its scale ({}.breakpoint_encoding {})", d,
                r.n, kMetaKey, kHalfCode));
          s = tie == TieRule::right ? first : first - 1;
        }
        if (s != std::floor(s))
          throw std::invalid_argument(
              fmt::format("breakpoint {} is not on the input grid 2^-{} of its scale", d, r.n));
        if (std::fabs(s) > 1 << 30)
          throw std::invalid_argument(fmt::format("breakpoint {} is out of range at scale {}", d, r.n));
        t.breakpoints.push_back(static_cast<int32_t>(s));
      }
      t.validate();
    } catch (const std::invalid_argument& e) {
      fail(source, fmt::format("{}: {}", where, e.what()));
    }
    if (!set.tables.empty() && t.entries() != set.entries())
      fail(source, fmt::format("{}: every scale needs the same entry count, got {} and {}", where,
                               t.entries(), set.entries()));
    set.tables[r.n] = std::move(t);
  }
  meta.erase("function");
  meta.erase("expression");
  meta.erase("range");
  meta.erase("slope_format");
  meta.erase("intercept_format");
  meta.erase("entries");
  meta.erase("int8");
  meta.erase("tie");
  meta.erase("breakpoint_encoding");
  set.tie_recorded = has_meta;
  meta.erase("input_bits");
  set.meta = meta;
  return set;
}

uint64_t check_input_file(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  const std::string head = fmt::format("cannot open {} file {}", what, quote(path, 200));
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows links: a link to a FIFO is a FIFO
  if (ec) throw std::invalid_argument(fmt::format("{}: {}", head, ec.message()));
  switch (st.type()) {
    case fs::file_type::regular: break;
    case fs::file_type::directory: throw std::invalid_argument(head + ": is a directory");
    case fs::file_type::fifo: throw std::invalid_argument(head + ": not a regular file (a FIFO)");
    case fs::file_type::socket: throw std::invalid_argument(head + ": not a regular file (a socket)");
    case fs::file_type::character:
    case fs::file_type::block: throw std::invalid_argument(head + ": not a regular file (a device)");
    default: throw std::invalid_argument(head + ": not a regular file");
  }
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw std::invalid_argument(fmt::format("{}: {}", head, ec.message()));
  return size;
}

TableSet read_json_file(const std::string& path) {
  check_input_file(path, "table");  // a FIFO or a device would block or never end
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(fmt::format("cannot open table file {}", quote(path, 200)));
  return read_json(in, path);
}

void write_json(std::ostream& out, const TableSet& set) {
  if (set.tables.empty()) throw std::invalid_argument("cannot write an empty table set");
  json doc = json::object();
  json& fn = doc[official_key(set.function)];
  fn = json::object();
  const Table& first = set.tables.begin()->second;
  for (const auto& [n, t] : set.tables) {
    t.validate();
    json e;
    json bp = json::array(), k = json::array(), b = json::array();
    for (int i = 0; i + 1 < t.entries(); ++i) bp.push_back(encode_breakpoint(t, i));
    for (int i = 0; i < t.entries(); ++i) {
      k.push_back(t.slope_value(i));
      b.push_back(t.intercept_value(i));
    }
    e["breakpoints"] = bp;
    e["slopes"] = k;
    e["intercepts"] = b;
    fn[std::to_string(n)] = e;
    if (t.slope_format != first.slope_format || t.intercept_format != first.intercept_format)
      throw std::invalid_argument("every scale of a table file must use the same code formats");
    if (t.input_bits != first.input_bits)
      throw std::invalid_argument(fmt::format("every scale of a table file must have the same input width, got {} and {} bits",
                                              first.input_bits, t.input_bits));
  }
  json meta = set.meta.is_object() ? set.meta : json::object();
  meta["function"] = set.function;
  if (!set.expression.empty()) meta["expression"] = set.expression;
  // A file of an unknown function without gqalut metadata has no range
  // (lo == hi == 0); writing [0, 0] would make our own output unreadable.
  if (set.lo < set.hi) {
    meta["range"] = {set.lo, set.hi};
  } else {
    meta.erase("range");
  }
  meta["slope_format"] = first.slope_format.name();
  meta["intercept_format"] = first.intercept_format.name();
  meta["entries"] = first.entries();
  meta["int8"] = first.is_int8();
  meta["tie"] = to_string(set.tie());  // throws if the scales differ: one rule per file
  meta["breakpoint_encoding"] = kHalfCode;
  // Written only for non-int8 inputs, so int8 files stay as they were.
  if (first.input_bits != 8) meta["input_bits"] = first.input_bits;
  else meta.erase("input_bits");
  doc[kMetaKey] = meta;
  out << doc.dump(2) << '\n';
}

void write_json_file(const std::string& path, const TableSet& set) {
  std::ostringstream s;
  write_json(s, set);
  write_file_atomic(path, s.str(), "table");  // a failed run leaves the old file as it was
}

}  // namespace gqalut
