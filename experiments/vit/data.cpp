// gqalut ViT experiment: IDX reader (see data.hpp).
#include "data.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace gqalut::vit {
namespace {

std::vector<uint8_t> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::invalid_argument("cannot open " + path);
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 20);
  int got = 0;
  while ((got = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
    out.insert(out.end(), buf.begin(), buf.begin() + got);
  }
  gzclose(f);
  if (got < 0) throw std::invalid_argument("corrupt gzip file " + path);
  return out;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

Split load_split(const std::string& dir, const std::string& prefix, int limit) {
  const std::string img_path = dir + "/" + prefix + "-images-idx3-ubyte.gz";
  const std::string lab_path = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  const auto img = read_gz(img_path);
  const auto lab = read_gz(lab_path);
  if (img.size() < 16 || be32(img.data()) != 2051) throw std::invalid_argument("not an IDX image file: " + img_path);
  if (lab.size() < 8 || be32(lab.data()) != 2049) throw std::invalid_argument("not an IDX label file: " + lab_path);
  int64_t n = be32(img.data() + 4);
  const int64_t rows = be32(img.data() + 8), cols = be32(img.data() + 12);
  if (rows != 28 || cols != 28 || static_cast<int64_t>(be32(lab.data() + 4)) != n ||
      img.size() < 16 + static_cast<std::size_t>(n) * 784 || lab.size() < 8 + static_cast<std::size_t>(n)) {
    throw std::invalid_argument("unexpected IDX shape or size in " + img_path);
  }
  if (limit > 0) n = std::min<int64_t>(n, limit);
  Split s;
  s.images = torch::from_blob(const_cast<uint8_t*>(img.data() + 16), {n, 28, 28}, torch::kUInt8)
                 .to(torch::kFloat)
                 .div(255.0);
  s.labels = torch::from_blob(const_cast<uint8_t*>(lab.data() + 8), {n}, torch::kUInt8).to(torch::kLong);
  return s;
}

}  // namespace gqalut::vit
