// Test helper: the bytes of a .npy file (NumPy format 1.0 / 2.0) with any header fields, as
// numpy.save writes it, to feed the rows readers good and hostile arrays. One copy for every
// test program (tests/support).
#pragma once

#include <string>

namespace gqalut_test {

// Magic, version `major`.0, the little-endian header length (2 bytes for 1.0, 4 for 2.0), the
// header dict padded with spaces to a multiple of 64 and ended by a newline, then `data`.
inline std::string npy(const std::string& descr, const std::string& shape, const std::string& data, int major = 1,
                       const std::string& fortran = "False") {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': (" + shape + "), }";
  const size_t len_bytes = major == 1 ? 2 : 4;
  while ((10 + len_bytes - 2 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((h.size() >> (8 * i)) & 0xff);
  return out + h + data;
}

}  // namespace gqalut_test
