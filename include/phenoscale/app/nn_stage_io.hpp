// The [train] and [predict] deck sections as the engine's file lists, shared
// by every stage that trains or applies a network (nn, tomo; later spt, edge).
#pragma once

#include <string>

#include "phenoscale/app/registry.hpp"
#include "phenoscale/nn/engine.hpp"

namespace phenoscale::app {

// Training files of the deck; `data` is the resolved training input. Creates
// the model's directory (collective).
nn::TrainFiles train_files(const StageContext& ctx, const std::string& data);
// Prediction files of the deck; `data` is the resolved input. Without
// predict.models the ensemble is the train.output of the same deck.
nn::PredictFiles predict_files(const StageContext& ctx, const std::string& data);

}  // namespace phenoscale::app
