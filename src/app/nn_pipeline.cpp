// The `nn` pipeline: the deep-learning engine as command-line tools.
//
//   phenoscale nn train   -c deck.toml --input data.h5   → model.h5, training.csv
//   phenoscale nn predict -c deck.toml --input data.h5 --set predict.models='["model.h5"]'
//                                                         → predictions.h5
// Any registered architecture trains on any HDF5 dataset of its input kind
// (fixed-shape samples N×shape, or CSR series); tomo, spt and edge use the
// same engine with their own data. mpirun -n 4 phenoscale nn train ... runs
// data-parallel on 4 ranks and gives the model of a 1-rank run.
#include "phenoscale/app/nn_stage_io.hpp"
#include "phenoscale/app/registry.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/nn/engine.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

core::Schema nn_schema() {
  core::Schema s;
  add_run_section(s);
  nn::add_model_schema(s);
  nn::add_train_schema(s);
  nn::add_predict_schema(s);
  return s;
}

void train(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "train.input", "give the training data as --input FILE.h5");
  const nn::TrainFiles files = train_files(ctx, cfg.string("train.input"));
  const auto s = nn::run_training(cfg, files, stage_provenance(ctx, {files.data}), ctx.comm);
  core::Log::info(cat("nn train: ", s.steps, " steps, ", s.epochs, " epoch(s), final loss ", s.final_train_loss,
                      ", accuracy ", s.final_train_accuracy,
                      s.has_test ? cat(", test accuracy ", s.test_accuracy) : std::string(), "; wrote ", files.model));
}

void predict(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "predict.input", "give the data as --input FILE.h5");
  const nn::PredictFiles files = predict_files(ctx, cfg.string("predict.input"));
  const auto s = nn::run_prediction(cfg, files, stage_provenance(ctx, {files.data}), ctx.comm);
  core::Log::info(cat("nn predict: ", s.rows, " samples with ", files.models.size(), " model(s), ",
                      static_cast<std::int64_t>(s.samples_per_s), " samples/s",
                      s.labelled ? cat(", accuracy ", s.accuracy, ", NLL ", s.negative_log_likelihood) : std::string(),
                      "; wrote ", files.output));
}

}  // namespace

Pipeline nn_pipeline() {
  return {"nn",
          "Train and apply the registered networks (data-parallel, checkpointed, ensembles)",
          nn_schema,
          {
              {"train", "Train model.architecture on a labelled HDF5 dataset; writes a model file", train,
               {{"input", "train.input"}, {"output", "train.output"}}},
              {"predict", "Logits, probabilities, predictions and features of one model or an ensemble", predict,
               {{"input", "predict.input"}, {"output", "predict.output"}}},
          }};
}

}  // namespace phenoscale::app
