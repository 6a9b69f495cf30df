// gqalut ViT experiment: the study (see study.hpp). Per seed: FP32 training ->
// QAT with exact non-linearities (the checkpoint) -> QAT-exact fine-tune, and
// for each LUT bank the checkpoint with gqalut's integer operations, its
// accuracy before and after the same fine-tune, and (first seed) the
// integer-only check: the whole test set once more with every non-linear
// operation run by the library, whose predictions must be identical.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "data.hpp"
#include "model.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "study.hpp"
#include "train.hpp"

namespace gqalut::vit {

std::vector<RunRecord> run_experiment(const ExperimentConfig& cfg) {
  torch::set_num_threads(cfg.threads);
  (void)model_functions(cfg.model);  // validates the name
  const bool eff = cfg.model == "effvit";
  if (cfg.batch < 1) throw std::invalid_argument("batch must be >= 1, got " + std::to_string(cfg.batch));
  if (cfg.seeds.empty()) throw std::invalid_argument("seeds must not be empty");
  std::vector<std::unique_ptr<IntOps>> ops;
  for (const auto& bank : cfg.banks) {
    ops.push_back(std::make_unique<IntOps>(bank));
    check_bank(*ops.back(), eff);
  }

  const Data data{load_split(cfg.data_dir, "train", cfg.train_subset), load_split(cfg.data_dir, "t10k", cfg.test_subset)};
  const int64_t n_train = data.train.images.size(0);
  const int per_epoch = static_cast<int>((n_train + cfg.batch - 1) / cfg.batch);
  const int fp32_steps = std::max(1, static_cast<int>(std::lround(cfg.fp32_epochs * per_epoch)));
  const int qat_steps = std::max(1, static_cast<int>(std::lround(cfg.qat_epochs * per_epoch)));

  // Progress units: one FP32 training step = 1; QAT/LUT steps and evaluations
  // weighted by rough relative costs (mode_cost), so that the ETA is honest.
  const double eval_units = 0.35 * data.test.images.size(0) / cfg.batch;
  const double lut_cost = 1.6, qat_cost = 1.3, int_cost = 1.3;
  const std::size_t nb = cfg.banks.size();
  const double per_seed = fp32_steps + qat_cost * (qat_steps + cfg.finetune_steps) + (1 + 2 * qat_cost) * eval_units +
                          nb * (lut_cost * cfg.finetune_steps + 2 * lut_cost * eval_units);
  const double checks =
      cfg.integer_check ? nb * int_cost * eval_units * (cfg.integer_check_all_seeds ? cfg.seeds.size() : 1) : 0;
  Progress progress(per_seed * cfg.seeds.size() + checks, cfg.quiet);
  Trainer trainer(data, progress, TrainSettings{cfg.batch, eval_units});
  std::fprintf(stderr,
               "%s: %lld train / %lld test images, batch %d; per seed: FP32 %d steps, QAT %d steps, %zu LUT "
               "variants x %d fine-tune steps\n",
               eff ? "EfficientViT-style" : "ViT", static_cast<long long>(n_train),
               static_cast<long long>(data.test.images.size(0)), cfg.batch, fp32_steps, qat_steps, nb,
               cfg.finetune_steps);

  std::vector<RunRecord> recs;
  auto report = [&](const RunRecord& r) {
    progress.line(record_line(r));
    recs.push_back(r);
  };
  for (uint64_t seed : cfg.seeds) {
    torch::manual_seed(seed);
    Vit model(eff);
    const Forward fp32{Mode::fp32};
    trainer.train(model, fp32, fp32_steps, cfg.fp32_lr, "fp32", seed);
    report({seed, "fp32", 0, trainer.evaluate(model, fp32, nullptr, "fp32"), -1, 0});

    const Forward qat{Mode::qat};
    {  // calibrate every quantizer on one batch before QAT
      torch::NoGradGuard ng;
      model->forward(data.train.images.slice(0, 0, std::min<int64_t>(n_train, 256)), qat);
    }
    trainer.train(model, qat, qat_steps, cfg.qat_lr, "qat", seed);
    const auto qat_state = snapshot(model);
    {  // the exact-function baseline gets the same fine-tune as every LUT variant
      RunRecord r{seed, "qat-exact", 0, 0, -1, 0};
      r.acc_before = trainer.evaluate(model, qat, nullptr, "qat-exact");
      trainer.train(model, qat, cfg.finetune_steps, cfg.finetune_lr, "ft qat-exact", seed);
      r.acc = trainer.evaluate(model, qat, nullptr, "qat-exact (fine-tuned)");
      report(r);
    }

    for (std::size_t i = 0; i < nb; ++i) {
      const std::string name = cfg.banks[i].name;
      restore(model, qat_state);
      const Forward lut{Mode::lut, Backend::torch, ops[i].get()};
      RunRecord r{seed, name, 0, 0, -1, 0};
      r.acc_before = trainer.evaluate(model, lut, nullptr, name + " (no fine-tune)");
      trainer.train(model, lut, cfg.finetune_steps, cfg.finetune_lr, "ft " + name, seed);
      std::vector<int64_t> torch_preds, lib_preds;
      r.acc = trainer.evaluate(model, lut, &torch_preds, name);
      if (cfg.integer_check && (cfg.integer_check_all_seeds || seed == cfg.seeds.front())) {
        const Forward lib{Mode::lut, Backend::library, ops[i].get()};
        trainer.evaluate(model, lib, &lib_preds, name + " integer-only");
        r.total = static_cast<long>(torch_preds.size());
        r.identical = 0;
        for (std::size_t j = 0; j < torch_preds.size(); ++j) r.identical += torch_preds[j] == lib_preds[j];
        progress.line("seed " + std::to_string(seed) + " " + name + " integer-only check: " +
                      std::to_string(r.identical) + "/" + std::to_string(r.total) + " identical");
      }
      report(r);
    }
  }
  progress.line("done in " + Progress::clock_text(progress.elapsed()));
  write_outputs(cfg, recs);
  return recs;
}

}  // namespace gqalut::vit
