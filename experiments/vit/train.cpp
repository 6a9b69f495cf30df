// gqalut ViT experiment: training and evaluation (see train.hpp).
#include "train.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gqalut::vit {

using torch::Tensor;

double Trainer::train(Vit& model, const Forward& ctx, int steps, double lr, const std::string& stage, uint64_t seed) {
  model->train();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(lr));
  const int64_t n = data_.train.images.size(0);
  const int per_epoch = static_cast<int>((n + s_.batch - 1) / s_.batch);
  Tensor perm;
  double loss_avg = 0, acc_avg = 0;
  for (int step = 0; step < steps; ++step) {
    if (step % per_epoch == 0) perm = torch::randperm(n, torch::kLong);
    const int64_t lo = static_cast<int64_t>(step % per_epoch) * s_.batch;
    const Tensor idx = perm.slice(0, lo, std::min<int64_t>(lo + s_.batch, n));
    const Tensor x = data_.train.images.index_select(0, idx);
    const Tensor y = data_.train.labels.index_select(0, idx);
    const double warm = std::min(1.0, (step + 1) / std::max(1.0, 0.05 * steps));
    const double cur = lr * warm * 0.5 * (1 + std::cos(M_PI * step / std::max(1, steps)));
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(cur);
    opt.zero_grad();
    const Tensor logits = model->forward(x, ctx);
    const Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    loss.backward();
    opt.step();
    const double l = loss.item<double>();
    const double a = logits.argmax(1).eq(y).to(torch::kFloat).mean().item<double>();
    loss_avg = step == 0 ? l : 0.95 * loss_avg + 0.05 * l;
    acc_avg = step == 0 ? a : 0.95 * acc_avg + 0.05 * a;
    progress_.advance(mode_cost(ctx));
    char buf[160];
    std::snprintf(buf, sizeof buf, "seed %llu %-14s epoch %.2f step %d/%d loss %.3f acc %.1f%%",
                  static_cast<unsigned long long>(seed), stage.c_str(), static_cast<double>(step + 1) / per_epoch,
                  step + 1, steps, loss_avg, 100 * acc_avg);
    progress_.show(buf, step + 1 == steps);
  }
  return loss_avg;
}

double Trainer::evaluate(Vit& model, const Forward& ctx, std::vector<int64_t>* preds, const std::string& what) {
  torch::NoGradGuard ng;
  model->eval();
  const int64_t n = data_.test.images.size(0);
  const int64_t bs = 500;
  int64_t correct = 0;
  if (preds) preds->clear();
  for (int64_t lo = 0; lo < n; lo += bs) {
    const int64_t hi = std::min(n, lo + bs);
    const Tensor p = model->forward(data_.test.images.slice(0, lo, hi), ctx).argmax(1);
    correct += p.eq(data_.test.labels.slice(0, lo, hi)).sum().item<int64_t>();
    if (preds) {
      const Tensor pc = p.contiguous();
      preds->insert(preds->end(), pc.data_ptr<int64_t>(), pc.data_ptr<int64_t>() + pc.numel());
    }
    progress_.advance(mode_cost(ctx) * s_.eval_units * (hi - lo) / n);
    progress_.show("evaluating " + what + " " + std::to_string(hi) + "/" + std::to_string(n));
  }
  return 100.0 * correct / n;
}

std::vector<Tensor> snapshot(Vit& model) {
  std::vector<Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  for (const auto& b : model->buffers()) out.push_back(b.detach().clone());
  return out;
}

void restore(Vit& model, const std::vector<Tensor>& snap) {
  torch::NoGradGuard ng;
  std::size_t i = 0;
  for (auto& p : model->parameters()) p.copy_(snap[i++]);
  for (auto& b : model->buffers()) b.copy_(snap[i++]);
}

}  // namespace gqalut::vit
