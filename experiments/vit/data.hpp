// gqalut ViT experiment: Fashion-MNIST from its IDX files (the Debian
// dataset-fashion-mnist package's .gz files).
#pragma once

#include <torch/torch.h>

#include <string>

namespace gqalut::vit {

struct Split {
  torch::Tensor images;  // [N, 28, 28] float in [0, 1]
  torch::Tensor labels;  // [N] int64
};

struct Data {
  Split train, test;
};

// <dir>/<prefix>-images-idx3-ubyte.gz and -labels-idx1-ubyte.gz, the first
// `limit` images (0: all). Throws std::invalid_argument naming the file for a
// missing, corrupt or unexpected file.
Split load_split(const std::string& dir, const std::string& prefix, int limit);

}  // namespace gqalut::vit
