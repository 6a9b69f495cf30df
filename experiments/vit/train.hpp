// gqalut ViT experiment: training and evaluation loops.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "data.hpp"
#include "model.hpp"
#include "progress.hpp"

namespace gqalut::vit {

struct TrainSettings {
  int batch = 128;
  double eval_units = 0;  // progress units of one full evaluation
};

class Trainer {
 public:
  Trainer(const Data& data, Progress& progress, TrainSettings s) : data_(data), progress_(progress), s_(s) {}

  // Adam with 5% linear warm-up and cosine decay over `steps` mini-batches of
  // the training set (a fresh permutation every epoch); returns the smoothed loss.
  double train(Vit& model, const Forward& ctx, int steps, double lr, const std::string& stage, uint64_t seed);

  // Test accuracy in percent; the predicted classes into *preds when given.
  double evaluate(Vit& model, const Forward& ctx, std::vector<int64_t>* preds, const std::string& what);

 private:
  const Data& data_;
  Progress& progress_;
  TrainSettings s_;
};

// All parameters and buffers (Quant scales included), and back.
std::vector<torch::Tensor> snapshot(Vit& model);
void restore(Vit& model, const std::vector<torch::Tensor>& snap);

}  // namespace gqalut::vit
