// The spt pipeline's stages (DeepSPT; docs/cli.md "spt"), grouped by file:
// spt_tracks.cpp (simulate, import, features), spt_segment.cpp (train,
// segment, baseline, evaluate), spt_fingerprint.cpp (fingerprint),
// spt_classify.cpp (classify), spt_events.cpp (event-features, event-train,
// events).
#pragma once

#include "phenoscale/app/registry.hpp"
#include "phenoscale/core/config.hpp"

namespace phenoscale::app {

void add_spt_track_keys(core::Schema& s);
void add_spt_segment_keys(core::Schema& s);
void add_spt_fingerprint_keys(core::Schema& s);
void add_spt_event_keys(core::Schema& s);
void add_spt_classify_keys(core::Schema& s);

void spt_simulate(const StageContext& ctx);
void spt_import(const StageContext& ctx);
void spt_features(const StageContext& ctx);
void spt_train(const StageContext& ctx);
void spt_segment(const StageContext& ctx);
void spt_baseline(const StageContext& ctx);
void spt_evaluate(const StageContext& ctx);
void spt_fingerprint(const StageContext& ctx);
void spt_event_features(const StageContext& ctx);
void spt_event_train(const StageContext& ctx);
void spt_events(const StageContext& ctx);
void spt_classify(const StageContext& ctx);

}  // namespace phenoscale::app
