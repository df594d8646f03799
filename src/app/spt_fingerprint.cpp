// spt fingerprint (docs/cli.md "spt"): the diffusional fingerprint of every
// track (DeepSPT, docs/methods.md §2.3; spt/fingerprint.hpp), and with a
// segmentation also of every segment.
//   mpirun -n 2 phenoscale spt fingerprint -c inputs/spt/demo.toml --set fingerprint.segments=segments
#include <cmath>
#include <filesystem>

#include "phenoscale/app/spt_common.hpp"
#include "phenoscale/app/spt_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/spt/fingerprint.hpp"
#include "phenoscale/spt/segmentation.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

void append_row(std::string& text, const std::string& prefix, const std::vector<double>& values) {
  char buffer[32];
  text += prefix;
  for (double v : values) {
    const int n = std::isfinite(v) ? std::snprintf(buffer, sizeof buffer, ",%.9g", v)
                                   : std::snprintf(buffer, sizeof buffer, ",%s", std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
    text.append(buffer, static_cast<std::size_t>(n));
  }
  text += "\n";
}

std::string header_of(const std::string& leading) {
  std::string header = leading;
  for (const auto& c : spt::fingerprint_columns()) header += "," + c;
  return header + "\n";
}

}  // namespace

void add_spt_fingerprint_keys(core::Schema& s) {
  s.string("fingerprint.input", "", "Tracks (tracks.h5 layout or a trajectory CSV: coordinates scaled by segment.pixel_um as spt segment "
              "does, 1 frame per time unit; spt import gives a CSV its dt_s); default: simulate.test_output")
      .string("fingerprint.segments", "",
              "Segmentation directory (segments.h5 of spt segment or baseline) for the per-segment and "
              "segmentation columns; empty: none (those columns are NaN)")
      .string("fingerprint.output", "fingerprints", "Directory receiving fingerprints.csv, segment_fingerprints.csv "
              "and fingerprints.h5, inside run.output_dir")
      .real("fingerprint.small_step", 0.1, "Steps shorter than this count in fraction_small_steps", 0, 1e12)
      .real("fingerprint.large_step", 0.4, "Steps longer than this count in fraction_large_steps", 0, 1e12);
}

void spt_fingerprint(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "fingerprint.input", "simulate.test_output");
  const TrackBlock tracks = read_tracks(input, ctx.comm, cfg.real("segment.pixel_um"));  // as spt segment reads a CSV
  std::vector<std::string> inputs = {input};
  io::RaggedSeries<std::int64_t> segmentation;
  const bool segmented = !cfg.string("fingerprint.segments").empty();
  if (segmented) {
    const std::string path = (std::filesystem::path(output_path(cfg, cfg.string("fingerprint.segments"))) / "segments.h5").string();
    io::H5File in = io::H5File::open(path, ctx.comm);
    segmentation = read_states(in, ctx.comm);
    check_same_tracks(segmentation, path, tracks, input, ctx.comm);
    inputs.push_back(path);
  }
  spt::FingerprintOptions options;
  options.dt = tracks.dt_s;
  options.small_step = cfg.real("fingerprint.small_step");
  options.large_step = cfg.real("fingerprint.large_step");
  const auto seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  const auto columns = spt::fingerprint_columns();

  std::vector<double> table;
  std::string track_rows, segment_rows;
  {
    core::ScopedTimer t(ctx.timers, "fingerprint");
    core::Progress progress("fingerprint", tracks.global_tracks, ctx.comm.size(), cfg.real("run.progress_interval_s"));
    par::collectively(ctx.comm, [&] {
      for (std::uint64_t i = 0; i < tracks.size(); ++i) {
        const auto view = tracks.view(i);
        const std::int64_t* states = segmented ? segmentation.series(i) : nullptr;
        const auto values = spt::fingerprint(view, states, options, seed, tracks.first + i);
        table.insert(table.end(), values.begin(), values.end());
        append_row(track_rows, std::to_string(tracks.track_id[i]), values);
        if (segmented) {
          std::int64_t index = 0;
          for (const auto& run : spt::runs_of(states, view.frames)) {
            const auto segment = spt::track_segment(view, run.begin, run.end);
            const auto seg_values = spt::fingerprint(segment, states + run.begin, options, seed, tracks.first + i);
            append_row(segment_rows, cat(tracks.track_id[i], ",", index++, ",", run.begin, ",", run.end, ",", run.state),
                       seg_values);
          }
        }
        progress.advance();
      }
    });
    progress.finish();
  }
  core::ScopedTimer t(ctx.timers, "write");
  const std::filesystem::path dir = output_path(cfg, cfg.string("fingerprint.output"));
  const std::string h5 = (dir / "fingerprints.h5").string();
  // The set retired first (segment_fingerprints.csv too: a rerun without
  // segments writes none), then the tables, and fingerprints.h5, which spt
  // classify reads, last: a failed write leaves no fingerprints.h5 rather
  // than one beside tables that were not written.
  begin_outputs(ctx, {(dir / "fingerprints.csv").string(), (dir / "segment_fingerprints.csv").string(), h5});
  io::write_text_in_rank_order((dir / "fingerprints.csv").string(),
                               (ctx.comm.is_root() ? header_of("track_id") : "") + track_rows, ctx.comm);
  if (segmented) {
    io::write_text_in_rank_order((dir / "segment_fingerprints.csv").string(),
                                 (ctx.comm.is_root() ? header_of("track_id,segment,begin,end,state") : "") + segment_rows,
                                 ctx.comm);
  }
  {
    io::H5File out = io::H5File::create(h5, ctx.comm);
    io::write_samples(out, "/fingerprints", table, {columns.size()});
    std::string names, dependent;
    const auto flags = spt::fingerprint_length_dependent();
    for (std::size_t c = 0; c < columns.size(); ++c) {
      names += (c ? "," : "") + columns[c];
      if (flags[c]) dependent += (dependent.empty() ? "" : ",") + columns[c];
    }
    out.write_attribute("/fingerprints", "columns", names);
    out.write_attribute("/fingerprints", "length_dependent", dependent);
    io::write_samples(out, "/track_id", tracks.track_id, {});
    io::write_provenance(out, stage_provenance(ctx, inputs));
    out.commit();
  }
  core::Log::info(cat("spt fingerprint: ", columns.size(), " features of ", tracks.global_tracks, " tracks",
                      segmented ? " and their segments" : "", " -> ", dir.string(), "/fingerprints.csv, fingerprints.h5"));
}

}  // namespace phenoscale::app
