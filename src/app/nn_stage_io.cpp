#include "phenoscale/app/nn_stage_io.hpp"

#include "phenoscale/app/stage_io.hpp"

namespace phenoscale::app {
nn::TrainFiles train_files(const StageContext& ctx, const std::string& data) {
  const auto& cfg = ctx.config;
  nn::TrainFiles files;
  files.data = data;
  files.inputs = cfg.string("train.inputs_dataset");
  files.labels = cfg.string("train.labels_dataset");
  files.model = output_path(cfg, cfg.string("train.output"));
  files.metrics_csv = optional_output(cfg, "train.metrics");
  files.checkpoint = optional_output(cfg, "train.checkpoint");
  files.exclude_labels = cfg.integer_list("train.exclude_classes");
  make_parent_dir(ctx, files.model);
  if (!files.metrics_csv.empty()) make_parent_dir(ctx, files.metrics_csv);
  if (!files.checkpoint.empty()) make_parent_dir(ctx, files.checkpoint);
  return files;
}

nn::PredictFiles predict_files(const StageContext& ctx, const std::string& data) {
  const auto& cfg = ctx.config;
  nn::PredictFiles files;
  files.data = data;
  files.inputs = cfg.string("predict.inputs_dataset");
  files.labels = cfg.string("predict.labels_dataset");
  files.models = cfg.string_list("predict.models");
  if (files.models.empty()) files.models = {output_path(cfg, cfg.string("train.output"))};
  files.output = output_path(cfg, cfg.string("predict.output"));
  make_parent_dir(ctx, files.output);
  return files;
}

}  // namespace phenoscale::app
