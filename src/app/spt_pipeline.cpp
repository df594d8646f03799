// The `spt` pipeline: DeepSPT (Kæstel-Hansen et al. 2024; docs/methods.md §2,
// docs/methods.md "spt") on the shared engines.
//
//   mpirun -n 2 phenoscale spt simulate    -c inputs/spt/demo.toml   → tracks.h5 (+ tracks.csv)
//   mpirun -n 2 phenoscale spt features    -c inputs/spt/demo.toml   → features.h5
//   mpirun -n 2 phenoscale spt train       -c inputs/spt/demo.toml   → model_member<i>.h5 (ensemble)
//   mpirun -n 2 phenoscale spt segment     -c inputs/spt/demo.toml --set segment.input=tracks.csv
//                                                                    → segments/segments.csv, segments.h5
//   mpirun -n 2 phenoscale spt baseline    -c inputs/spt/demo.toml   → baseline/segments.csv (rolling MSD)
//   mpirun -n 2 phenoscale spt evaluate    -c inputs/spt/demo.toml   → evaluation.csv
//   mpirun -n 2 phenoscale spt fingerprint -c inputs/spt/demo.toml   → fingerprints.csv, fingerprints.h5
//   mpirun -n 2 phenoscale spt event-features -c inputs/spt/demo.toml → event_features.h5
//   mpirun -n 2 phenoscale spt event-train -c inputs/spt/demo.toml   → event_model.h5 (bi-GRU)
//   mpirun -n 2 phenoscale spt events      -c inputs/spt/demo.toml   → events/events.csv, events_summary.csv
//   mpirun -n 2 phenoscale spt classify    -c inputs/spt/classify.toml → classify/summary.csv, classify.h5
// Ranks hold contiguous blocks of tracks; every output is the same at any rank count.
#include "phenoscale/app/registry.hpp"
#include "phenoscale/app/spt_stages.hpp"
#include "phenoscale/nn/engine.hpp"

namespace phenoscale::app {
namespace {

core::Schema spt_schema() {
  core::Schema s;
  add_run_section(s);
  nn::EngineDefaults defaults;
  defaults.architecture = "unet1d";
  defaults.inputs_dataset = "/features";
  defaults.labels_dataset = "/states";
  defaults.input_doc = "Training data: per-frame features with truth states (default: features.output)";
  // DeepSPT's 2D training (Kæstel-Hansen et al. 2024, Methods; docs/methods.md
  // §2.2): Adam 3.94e-5 at a constant rate, batch 192, 100 epochs, the best
  // validation accuracy kept; 60/20/20 with the test set simulated apart, so a
  // quarter of the training file validates. (The engine's own defaults are
  // the tomo paper's SGD with decay 1e-6 per step.)
  //                optimizer lr      decay epochs batch validation test select_by
  defaults.train = {"adam", 3.94e-5, 0.0, 100, 192, 0.25, 0.0, "accuracy"};
  nn::add_model_schema(s, defaults);
  nn::add_train_schema(s, defaults);
  add_spt_track_keys(s);
  add_spt_segment_keys(s);
  add_spt_fingerprint_keys(s);
  add_spt_event_keys(s);
  add_spt_classify_keys(s);
  return s;
}

}  // namespace

Pipeline spt_pipeline() {
  return {"spt",
          "DeepSPT: diffusion simulation, U-Net ensemble segmentation of trajectories, fingerprints, event timing",
          spt_schema,
          {
              {"simulate", "Heterogeneous-diffusion tracks with per-frame truth (2D/3D; AnDi models)", spt_simulate,
               {{"output", "simulate.output"}}},
              {"import", "Trajectory CSV/HDF5 -> tracks.h5 (units, gaps, short tracks reported)", spt_import,
               {{"input", "import.input"}, {"output", "import.output"}}},
              {"features", "Per-frame network input (centred coordinates, step length, dot product)", spt_features,
               {{"input", "features.input"}, {"output", "features.output"}}},
              {"train", "Train the U-Net ensemble (train.members networks, or one with train.member)", spt_train,
               {{"input", "train.input"}}},
              {"segment", "Ensemble segmentation: per-frame states, probabilities, changepoints", spt_segment,
               {{"input", "segment.input"}, {"output", "segment.output"}}},
              {"baseline", "Rolling-MSD segmentation (the comparison method)", spt_baseline,
               {{"input", "baseline.input"}, {"output", "baseline.output"}}},
              {"evaluate", "Per-frame accuracy, macro-F1 and changepoint error against simulated truth",
               spt_evaluate, {{"output", "evaluate.output"}}},
              {"fingerprint", "Diffusional fingerprint per track (MSD, HMM, hull, segmentation features)",
               spt_fingerprint, {{"input", "fingerprint.input"}, {"output", "fingerprint.output"}}},
              {"event-features", "Sliding-window features per frame and before/after labels for event timing",
               spt_event_features, {{"input", "events.input"}, {"output", "events.features"}}},
              {"event-train", "Train the event-timing network (events.architecture, bi-GRU) on events.features",
               spt_event_train, {{"input", "events.train_input"}, {"output", "events.model"}}},
              {"events", "Event time per track (first frame after the switch); errors against truth",
               spt_events, {{"input", "events.predict_input"}, {"output", "events.output"}}},
              {"classify", "Population classifier on fingerprints: LR / MLP, stratified and leave-one-experiment-out CV", spt_classify, {{"input", "classify.input"}, {"output", "classify.output"}}},
          }};
}

}  // namespace phenoscale::app
