// The `tomo` pipeline: simulated cryo-ET data, particle picking and
// subtomogram averaging (Xu et al. 2017). Stages:
//   structures : procedural class maps (22 assemblies + "empty") and
//                user PDB/mmCIF files → density maps (HDF5 + MRC);
//   simulate   : subtomograms of the class maps under random poses, missing
//                wedge, CTF, MTF and noise at a target SNR, sharded over ranks
//                by sample index (identical at any rank count);
//   tomogram   : one crowded tomogram (MRC) and its true particle list;
//   pick       : DoG particle picking on an MRC tomogram, boxes extracted;
//   average    : missing-wedge-aware Fourier average of one class, with the
//                true poses or by alignment to the class map, CTF-corrected
//                (phase flip or Wiener, docs/methods.md §1.3), its FSC against
//                that map and the gold-standard half-set FSC;
//   classify   : iterative reference-free classification (PCA + k-means of
//                masked differences, realignment to class averages).
//
//   mpirun -n 4 phenoscale tomo structures -c inputs/tomo/demo.toml
//   mpirun -n 4 phenoscale tomo simulate   -c inputs/tomo/demo.toml --set simulate.snr=0.05
//   mpirun -n 2 phenoscale tomo average    -c inputs/tomo/demo.toml --set average.class_id=9
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "phenoscale/app/registry.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/app/tomo_common.hpp"
#include "phenoscale/app/tomo_learning.hpp"
#include "phenoscale/app/tomo_sweep.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/io/mrc.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/star.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"
#include "phenoscale/tomo/alignment.hpp"
#include "phenoscale/tomo/averaging.hpp"
#include "phenoscale/tomo/fsc.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"
#include "phenoscale/tomo/picking.hpp"
#include "phenoscale/tomo/procedural.hpp"
#include "phenoscale/tomo/simulate.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

// Ids 0..22: the 22 procedural assemblies and the empty class.
std::vector<std::int64_t> all_procedural_classes() {
  std::vector<std::int64_t> ids(tomo::class_count_with_empty);
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

core::Schema tomo_schema() {
  core::Schema s;
  add_run_section(s);
  s.integer_list("structures.classes", all_procedural_classes(),
                 "Procedural class ids to build (0-21, 22 = empty); default all 23; [] = none (a deck of PDB/mmCIF "
                 "files only)",
                 0, tomo::empty_class_id)
      .string_list("structures.files", {}, "PDB/mmCIF files (optionally .gz) appended as further classes")
      .integer("structures.box", 40, "Edge of the cubic class maps, voxels", 8, 1024)
      .real("structures.voxel_nm", 0.92, "Voxel size, nm", 1e-3, 1e3)
      .real("structures.resolution_nm", 1.0, "Map resolution r: Gaussian sigma = r/2, nm", 1e-3, 1e3)
      .string("structures.output", "structures.h5", "Output file name inside run.output_dir")
      .string("structures.mrc_prefix", "maps/class_",
              "Prefix of one MRC map per class inside run.output_dir (<prefix><index>_<name>.mrc); empty: none")
      .string("simulate.input", "", "Class maps; empty = run.output_dir/<structures.output>")
      .integer("simulate.samples_per_class", 10, "Subtomograms per class", 1, 1e9)
      .real("simulate.snr", 0.1, "var(signal)/var(noise) inside the box; the paper uses 1000, 0.5, 0.1, 0.05, 0.03",
            1e-6, 1e12)
      .real("simulate.tilt_max_deg", 60.0, "Tilt range +-tilt_max_deg (tilt axis y, beam z)", 1.0, 90.0)
      .real("simulate.tilt_step_deg", 2.0, "Tilt increment of the tilt_series method, degrees", 0.1, 30.0)
      .string("simulate.method", "fourier",
              "fourier: wedge x CTF x MTF in Fourier space; tilt_series: projections, CTF, MTF, weighted back-projection",
              {"fourier", "tilt_series"})
      .real("simulate.voltage_kv", 300.0, "Acceleration voltage, kV", 1.0, 3000.0)
      .real("simulate.defocus_um", -5.0, "Defocus, um (negative = underfocus)", -100.0, 100.0)
      .real("simulate.cs_mm", 2.0, "Spherical aberration, mm", 0.0, 100.0)
      .real("simulate.amplitude_contrast", 0.0, "Amplitude contrast fraction (0.07 typical; the paper: 0)", 0.0, 0.99)
      .real("simulate.envelope_per_nm", 0.0, "CTF envelope exp(-(k/k_env)^2), k_env in 1/nm; 0 = none", 0.0, 1e3)
      .boolean("simulate.ctf", true, "Apply the CTF")
      .boolean("simulate.mtf", true, "Apply the detector MTF sinc(pi w / 2)")
      .real("simulate.max_shift_voxels", 4.0, "Random translation, uniform in +-max_shift_voxels per axis", 0.0, 1e3)
      .boolean("simulate.normalise", true, "Normalise every subtomogram to zero mean, unit variance")
      .string("simulate.output", "subtomograms.h5", "Output file name inside run.output_dir")
      .integer("tomogram.nx", 128, "Tomogram width, voxels", 16, 100000)
      .integer("tomogram.ny", 128, "Tomogram height, voxels", 16, 100000)
      .integer("tomogram.nz", 64, "Tomogram thickness, voxels", 16, 100000)
      .integer("tomogram.particles", 40, "Particles to place (fewer if the volume fills up)", 0, 1e7)
      .real("tomogram.min_gap_nm", 1.0, "Minimum gap between particle bounding spheres, nm", 0.0, 1e3)
      .integer("tomogram.index", 0, "Tomogram index: the key of its random streams", 0, 1e12)
      .string("tomogram.output", "tomogram.mrc", "Output MRC inside run.output_dir (acquisition as in [simulate])")
      .string("tomogram.particles_output", "tomogram_particles.h5", "True particle list inside run.output_dir")
      .string("pick.input", "", "MRC tomogram; empty = run.output_dir/<tomogram.output>")
      .real("pick.sigma1_nm", 7.0, "DoG sigma1, nm", 1e-3, 1e4)
      .real("pick.sigma_ratio", 1.1, "DoG ratio k: G(sigma1) - G(k sigma1)", 1.0001, 10.0)
      .real("pick.threshold_t", 3.0, "Threshold T = m + t (M - m) / 20 (m mean, M max of the DoG map)", -20.0, 20.0)
      .boolean("pick.particles_dark", false, "Particles darker than the background (real data): invert first")
      .integer("pick.box", 40, "Edge of the extracted subtomograms, voxels", 4, 1024)
      .integer("pick.max_particles", 0, "Keep at most this many peaks (0 = all)", 0, 1e9)
      .string("pick.output", "picks.h5", "Output file name inside run.output_dir")
      .string("pick.star", "picks.star",
              "RELION-style STAR file of the picks (rlnTomoName, rlnCoordinateX/Y/Z, rlnAutopickFigureOfMerit) "
              "inside run.output_dir; empty = none")
      .string("average.input", "", "Subtomograms; empty = run.output_dir/<simulate.output>")
      .string("average.reference", "", "Class maps for alignment and FSC; empty = run.output_dir/<structures.output>")
      .integer("average.class_id", 0, "Average the subtomograms of this row of the class maps", 0, 1e6)
      .string("average.alignment", "truth", "truth: the simulated poses; search: align each subtomogram to the class map",
              {"truth", "search"})
      .real("average.coarse_step_deg", 30.0, "Coarse rotation grid step of the alignment search", 1.0, 90.0)
      .real("average.min_count", 2.0, "Fourier voxels observed by fewer subtomograms are set to 0", 1.0, 1e9)
      .string("average.ctf_correction", "auto",
              "auto: phase-flip when the input carries a CTF (ctf_applied), else none; none; phase-flip: F times "
              "sign(CTF); wiener: sum CTF F / (sum CTF^2 + 1/wiener_snr)",
              {"auto", "none", "phase-flip", "wiener"})
      .real("average.wiener_snr", 1.0, "SNR constant of the Wiener-filtered average (its 1/SNR term)", 1e-9, 1e12)
      .string("fsc.definition", "interpolated",
              "How a resolution is read off an FSC curve (average, recover, sweep): interpolated: linear in frequency "
              "between the last shell >= threshold and the first below; first-below: the first shell below (the "
              "paper's reading)",
              {"interpolated", "first-below"})
      .string("average.output", "average.h5", "Output file name inside run.output_dir")
      .string("average.mrc", "average.mrc", "Average as MRC inside run.output_dir; empty = none")
      .string("classify.input", "", "Subtomograms; empty = run.output_dir/<simulate.output>")
      .integer_list("classify.label_ids", {}, "Classify only subtomograms with these /labels values; empty = all")
      .integer("classify.classes", 3, "Number of classes k", 1, 10000)
      .integer("classify.iterations", 5, "Realignment passes (stops early when no label changes)", 0, 1000)
      .integer("classify.pca_components", 5, "PCA components of the masked differences", 1, 1000)
      .real("classify.high_variance_fraction", 0.1, "Fraction of voxels (highest variance) fed to the PCA", 1e-6, 1.0)
      .integer("classify.max_high_variance_voxels", 500, "Cap on the PCA dimension (its d x d covariance is diagonalised)", 1, 100000)
      .string("classify.initial_alignment", "truth",
              "truth: the simulated poses; identity: subtomograms already in a common frame", {"truth", "identity"})
      .real_list("classify.refine_steps_deg", {4.0, 2.0}, "Local realignment steps, degrees (coarse to fine)", 0.01, 90.0)
      .real("classify.min_count", 2.0, "Fourier voxels observed by fewer subtomograms are set to 0", 1.0, 1e9)
      .string("classify.output", "classes.h5", "Output file name inside run.output_dir");
  return s;
}

tomo::AcquisitionSettings acquisition(const core::Config& cfg) {
  tomo::AcquisitionSettings a;
  a.snr = cfg.real("simulate.snr");
  a.tilt_max_deg = cfg.real("simulate.tilt_max_deg");
  a.tilt_step_deg = cfg.real("simulate.tilt_step_deg");
  a.method = tomo::method_from_name(cfg.string("simulate.method"));
  a.ctf.voltage_kv = cfg.real("simulate.voltage_kv");
  a.ctf.defocus_um = cfg.real("simulate.defocus_um");
  a.ctf.cs_mm = cfg.real("simulate.cs_mm");
  a.ctf.amplitude_contrast = cfg.real("simulate.amplitude_contrast");
  a.ctf.envelope_per_nm = cfg.real("simulate.envelope_per_nm");
  a.apply_ctf = cfg.boolean("simulate.ctf");
  a.apply_mtf = cfg.boolean("simulate.mtf");
  return a;
}

// Every acquisition parameter as attributes of `object` (Xu et al. 2017).
void write_acquisition(io::H5File& f, const std::string& object, const tomo::AcquisitionSettings& a, double voxel_nm) {
  f.write_attribute(object, "method", tomo::method_name(a.method));
  f.write_attribute(object, "snr", a.snr);
  f.write_attribute(object, "tilt_max_deg", a.tilt_max_deg);
  f.write_attribute(object, "tilt_step_deg", a.tilt_step_deg);
  f.write_attribute(object, "voltage_kv", a.ctf.voltage_kv);
  f.write_attribute(object, "defocus_um", a.ctf.defocus_um);
  f.write_attribute(object, "cs_mm", a.ctf.cs_mm);
  f.write_attribute(object, "amplitude_contrast", a.ctf.amplitude_contrast);
  f.write_attribute(object, "envelope_per_nm", a.ctf.envelope_per_nm);
  f.write_attribute(object, "ctf_applied", static_cast<std::int64_t>(a.apply_ctf));
  f.write_attribute(object, "mtf_applied", static_cast<std::int64_t>(a.apply_mtf));
  f.write_attribute(object, "voxel_nm", voxel_nm);
}

io::MrcVolume to_mrc(const tomo::Volume& v) {
  io::MrcVolume m;
  m.nx = v.nx;
  m.ny = v.ny;
  m.nz = v.nz;
  m.data = v.data;
  for (double& s : m.voxel_size_angstrom) s = v.voxel_nm * 10.0;
  return m;
}

// The class maps of a structures file, on every rank.
void structures(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::vector<std::int64_t> ids = cfg.integer_list("structures.classes");
  const auto& files = cfg.string_list("structures.files");
  par::check_all(ctx.comm, !ids.empty() || !files.empty(),
                 cat(deck_label(cfg), ": structures.classes and structures.files are both empty; expected at least "
                                      "one class (procedural ids 0-22 or PDB/mmCIF files)"));
  const std::uint64_t count = ids.size() + files.size();
  const int box = static_cast<int>(cfg.integer("structures.box"));
  const double voxel_nm = cfg.real("structures.voxel_nm"), resolution_nm = cfg.real("structures.resolution_nm");
  const auto mine = par::BlockPartition::over(count, ctx.comm).range(ctx.comm.rank());
  std::vector<float> maps;
  std::vector<std::int64_t> class_ids, atom_counts;
  std::vector<double> masses;
  std::vector<std::string> names(count);
  for (std::uint64_t c = 0; c < count; ++c)
    names[c] = c < ids.size() ? tomo::procedural_class_name(static_cast<int>(ids[c])) : files[c - ids.size()];
  const std::string prefix = cfg.string("structures.mrc_prefix");
  const std::string path = output_path(cfg, cfg.string("structures.output"));
  make_parent_dir(ctx, path);
  if (!prefix.empty()) make_parent_dir(ctx, output_path(cfg, prefix + "x.mrc"));
  {
    core::ScopedTimer t(ctx.timers, "density maps");
    // A bad PDB file on one rank must end every rank with the same message.
    par::collectively(ctx.comm, [&] {
      for (std::uint64_t c = mine.begin; c < mine.end; ++c) {
        const tomo::Structure s = c < ids.size() ? tomo::procedural_structure(cfg.integer("run.seed"), static_cast<int>(ids[c]))
                                                 : tomo::read_structure(files[c - ids.size()]);
        const tomo::Volume map = tomo::density_map(s, box, voxel_nm, resolution_nm);
        maps.insert(maps.end(), map.data.begin(), map.data.end());
        class_ids.push_back(c < ids.size() ? ids[c] : -1);
        atom_counts.push_back(static_cast<std::int64_t>(s.atoms.size()));
        masses.push_back(s.total_mass_da());
        if (!prefix.empty()) {
          std::string stem = c < ids.size() ? names[c] : "file";
          io::write_mrc(output_path(cfg, cat(prefix, c, "_", stem, ".mrc")), to_mrc(map));
        }
      }
    });
  }
  io::H5File out = io::H5File::create(path, ctx.comm);
  const std::uint64_t n = static_cast<std::uint64_t>(box);
  io::write_samples(out, "/maps", maps, {n, n, n});
  io::write_samples(out, "/class_ids", class_ids, {});
  io::write_samples(out, "/atom_counts", atom_counts, {});
  io::write_samples(out, "/masses_da", masses, {});
  out.write_attribute("/maps", "voxel_nm", voxel_nm);
  out.write_attribute("/maps", "resolution_nm", resolution_nm);
  out.write_attribute("/maps", "units", std::string("Da/nm^3"));
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ",") + name;
  out.write_attribute("/maps", "class_names", joined);
  io::write_provenance(out, stage_provenance(ctx, std::vector<std::string>(files.begin(), files.end())));
  out.commit();
  core::Log::info(cat("tomo structures: ", count, " class maps of ", box, "^3 at ", voxel_nm, " nm -> ", path));
}

void simulate(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "simulate.input", "structures.output");
  const ClassMaps classes = read_class_maps(input, ctx.comm);
  const tomo::AcquisitionSettings a = acquisition(cfg);
  const std::uint64_t per_class = cfg.integer("simulate.samples_per_class");
  const std::uint64_t n_classes = classes.maps.size(), total = per_class * n_classes;
  const std::uint64_t seed = cfg.integer("run.seed");
  const int n = classes.maps.empty() ? 0 : classes.maps.front().nx;
  const auto mine = par::BlockPartition::over(total, ctx.comm).range(ctx.comm.rank());
  core::Log::info(cat("tomo simulate: ", total, " subtomograms (", n_classes, " classes x ", per_class, ") of ", n,
                      "^3, SNR ", a.snr, ", +-", a.tilt_max_deg, " deg, method ", tomo::method_name(a.method), ", on ",
                      ctx.comm.size(), " rank(s)"));
  std::vector<float> volumes;
  volumes.reserve(mine.size() * n * n * n);
  std::vector<std::int64_t> labels, class_rows;
  std::vector<double> rotations, shifts;
  {
    core::ScopedTimer t(ctx.timers, "simulate");
    core::Progress progress("tomo simulate", total, ctx.comm.size(), cfg.real("run.progress_interval_s"));
    for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
      const std::uint64_t row = i % n_classes;  // classes interleaved: any prefix is balanced
      auto sim = tomo::simulate_subtomogram(classes.maps[row], a, seed, i, cfg.real("simulate.max_shift_voxels"));
      if (cfg.boolean("simulate.normalise")) tomo::normalise(sim.volume);
      volumes.insert(volumes.end(), sim.volume.data.begin(), sim.volume.data.end());
      labels.push_back(classes.class_ids[row]);
      class_rows.push_back(static_cast<std::int64_t>(row));
      rotations.insert(rotations.end(), sim.pose.rotation.begin(), sim.pose.rotation.end());
      shifts.insert(shifts.end(), sim.pose.shift_voxels.begin(), sim.pose.shift_voxels.end());
      progress.advance();
      if (core::StopSignal::received() != 0) break;  // the stop point before the write ends the stage
    }
  }
  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("simulate.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  const std::uint64_t un = static_cast<std::uint64_t>(n);
  io::write_samples(out, "/subtomograms", volumes, {un, un, un});
  io::write_samples(out, "/labels", labels, {});
  io::write_samples(out, "/class_rows", class_rows, {});
  io::write_samples(out, "/rotations", rotations, {3, 3});
  io::write_samples(out, "/shifts_voxels", shifts, {3});
  write_acquisition(out, "/subtomograms", a, classes.voxel_nm);
  out.write_attribute("/subtomograms", "normalised", static_cast<std::int64_t>(cfg.boolean("simulate.normalise")));
  out.write_attribute("/subtomograms", "max_shift_voxels", cfg.real("simulate.max_shift_voxels"));
  out.write_attribute("/rotations", "convention",
                      std::string("subtomogram = shift(rotate(map, R), s): rotate about voxel n/2, row-major R"));
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info("tomo simulate: wrote " + path);
}

void tomogram(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "simulate.input", "structures.output");
  ClassMaps classes = read_class_maps(input, ctx.comm);
  // The "empty" class has no particle to place.
  std::vector<tomo::Volume> maps;
  std::vector<double> radii;
  std::vector<std::int64_t> ids;
  for (std::size_t c = 0; c < classes.maps.size(); ++c) {
    if (classes.class_ids[c] == tomo::empty_class_id) continue;
    radii.push_back(tomo::bounding_radius_voxels(classes.maps[c]));
    maps.push_back(std::move(classes.maps[c]));
    ids.push_back(classes.class_ids[c]);
  }
  par::check_all(ctx.comm, !maps.empty(), cat(input, ": no class map with a particle to place"));
  tomo::TomogramSettings ts;
  ts.nx = static_cast<int>(cfg.integer("tomogram.nx"));
  ts.ny = static_cast<int>(cfg.integer("tomogram.ny"));
  ts.nz = static_cast<int>(cfg.integer("tomogram.nz"));
  ts.particle_count = static_cast<int>(cfg.integer("tomogram.particles"));
  ts.min_gap_nm = cfg.real("tomogram.min_gap_nm");
  const tomo::AcquisitionSettings a = acquisition(cfg);
  // One tomogram: rank 0 simulates it (the draws are keyed by tomogram.index).
  tomo::SimulatedTomogram sim;
  const std::string mrc = output_path(cfg, cfg.string("tomogram.output"));
  make_parent_dir(ctx, mrc);
  {
    core::ScopedTimer t(ctx.timers, "simulate");
    par::collectively(ctx.comm, [&] {
      if (!ctx.comm.is_root()) return;
      sim = tomo::simulate_tomogram(maps, radii, ts, a, cfg.integer("run.seed"), cfg.integer("tomogram.index"));
      io::write_mrc(mrc, to_mrc(sim.tomogram));
    });
  }
  std::vector<double> centres, rotations;
  std::vector<std::int64_t> labels;
  for (const auto& p : sim.particles) {
    centres.insert(centres.end(), p.centre_voxel.begin(), p.centre_voxel.end());
    rotations.insert(rotations.end(), p.rotation.begin(), p.rotation.end());
    labels.push_back(ids[p.class_id]);
  }
  const std::string path = output_path(cfg, cfg.string("tomogram.particles_output"));
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/centres_voxel", centres, {3});
  io::write_samples(out, "/rotations", rotations, {3, 3});
  io::write_samples(out, "/labels", labels, {});
  write_acquisition(out, "/", a, maps.front().voxel_nm);
  out.write_attribute("/", "tomogram", mrc);
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info(cat("tomo tomogram: ", sim.particles.size(), " particles in ", ts.nx, "x", ts.ny, "x", ts.nz,
                      " -> ", mrc, " and ", path));
}

void pick(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "pick.input", "tomogram.output");
  tomo::PickingSettings ps;
  ps.sigma1_nm = cfg.real("pick.sigma1_nm");
  ps.sigma_ratio = cfg.real("pick.sigma_ratio");
  ps.threshold_t = cfg.real("pick.threshold_t");
  ps.particles_dark = cfg.boolean("pick.particles_dark");
  ps.box = static_cast<int>(cfg.integer("pick.box"));
  ps.max_particles = static_cast<int>(cfg.integer("pick.max_particles"));
  // Rank 0 reads and picks (one tomogram); the boxes are written by rank 0.
  std::vector<std::int64_t> centres;
  std::vector<double> values;
  std::vector<float> boxes;
  double voxel_nm = 0;
  {
    core::ScopedTimer t(ctx.timers, "pick");
    par::collectively(ctx.comm, [&] {
      if (!ctx.comm.is_root()) return;
      const io::MrcVolume m = io::read_mrc(input);
      voxel_nm = m.voxel_size_angstrom[0] > 0 ? m.voxel_size_angstrom[0] / 10.0 : 0.0;
      if (voxel_nm <= 0) throw InputError(at_file(input, "expected a voxel size in the MRC header (cella / mx), found 0"));
      tomo::Volume v(m.nx, m.ny, m.nz, voxel_nm);
      v.data = m.data;
      const auto peaks = tomo::pick_particles(v, ps);
      for (const auto& p : peaks) {
        centres.insert(centres.end(), p.centre.begin(), p.centre.end());
        values.push_back(p.dog_value);
        const tomo::Volume b = tomo::extract_box(v, p.centre, ps.box);
        boxes.insert(boxes.end(), b.data.begin(), b.data.end());
      }
    });
  }
  ctx.comm.broadcast(voxel_nm);
  const std::string path = output_path(cfg, cfg.string("pick.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  const std::uint64_t b = static_cast<std::uint64_t>(ps.box);
  io::write_samples(out, "/centres_voxel", centres, {3});
  io::write_samples(out, "/dog_values", values, {});
  io::write_samples(out, "/subtomograms", boxes, {b, b, b});
  out.write_attribute("/subtomograms", "voxel_nm", voxel_nm);
  out.write_attribute("/", "sigma1_nm", ps.sigma1_nm);
  out.write_attribute("/", "sigma_ratio", ps.sigma_ratio);
  out.write_attribute("/", "threshold_t", ps.threshold_t);
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  std::string rows;  // every pick is on rank 0
  for (std::size_t i = 0; i < values.size(); ++i) {
    rows += io::star_row({input, std::to_string(centres[3 * i]), std::to_string(centres[3 * i + 1]),
                          std::to_string(centres[3 * i + 2]), io::star_number(values[i])},
                         5);
  }
  const std::string star = write_star_particles(
      ctx, "pick.star", {"rlnTomoName", "rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ", "rlnAutopickFigureOfMerit"},
      rows);
  core::Log::info(cat("tomo pick: ", values.size(), " particles -> ", path, star.empty() ? "" : " and " + star));
}

// Whether the input's /subtomograms attributes (written by simulate) describe
// a CTF, and the CTF they describe.
bool describes_ctf(const io::H5File& in) {
  for (const char* k : {"ctf_applied", "voltage_kv", "defocus_um", "cs_mm", "amplitude_contrast"})
    if (!in.has_attribute("/subtomograms", k)) return false;
  return true;
}

bool ctf_applied(const io::H5File& in) {
  return describes_ctf(in) && in.read_int_attribute("/subtomograms", "ctf_applied") != 0;
}

tomo::CtfParameters acquired_ctf(const io::H5File& in) {
  tomo::CtfParameters c;
  c.voltage_kv = in.read_double_attribute("/subtomograms", "voltage_kv");
  c.defocus_um = in.read_double_attribute("/subtomograms", "defocus_um");
  c.cs_mm = in.read_double_attribute("/subtomograms", "cs_mm");
  c.amplitude_contrast = in.read_double_attribute("/subtomograms", "amplitude_contrast");
  if (in.has_attribute("/subtomograms", "envelope_per_nm"))
    c.envelope_per_nm = in.read_double_attribute("/subtomograms", "envelope_per_nm");
  return c;
}

// Mean FSC over the shells past frequency k (1/nm); NaN when none lies past it.
double mean_fsc_past(const tomo::FscCurve& c, double k_per_nm) {
  double sum = 0.0;
  int shells = 0;
  for (std::size_t r = 0; r < c.fsc.size(); ++r)
    if (c.frequency_per_nm[r] > k_per_nm) sum += c.fsc[r], ++shells;
  return shells > 0 ? sum / shells : std::nan("");
}

// average.ctf_correction with the acquisition's CTF; "auto" corrects by phase
// flipping exactly when the input says a CTF was applied.
tomo::CtfCorrectionSettings ctf_correction(const core::Config& cfg, const io::H5File& in) {
  const std::string name = cfg.string("average.ctf_correction");
  const bool described = describes_ctf(in), applied = ctf_applied(in);
  tomo::CtfCorrectionSettings c;
  c.mode = name == "auto" ? (applied ? tomo::CtfCorrection::phase_flip : tomo::CtfCorrection::none)
                          : tomo::ctf_correction_from_name(name);
  if (c.mode == tomo::CtfCorrection::none) return c;
  par::check_all(in.comm(), applied,
                 cat(in.where("/subtomograms"), ": average.ctf_correction = \"", name,
                     "\" expects subtomograms acquired with a CTF (attributes ctf_applied = 1, voltage_kv, "
                     "defocus_um, cs_mm, amplitude_contrast); found ",
                     described ? "ctf_applied = 0" : "them missing"));
  c.ctf = acquired_ctf(in);
  c.wiener_snr = cfg.real("average.wiener_snr");
  return c;
}

void average(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "average.input", "simulate.output");
  const std::string reference = input_or_output(cfg, "average.reference", "structures.output");
  const ClassMaps classes = read_class_maps(reference, ctx.comm);
  const std::int64_t row = cfg.integer("average.class_id");
  par::check_all(ctx.comm, row < static_cast<std::int64_t>(classes.maps.size()),
                 cat(deck_label(cfg), ": average.class_id = ", row,
                     " but ", reference, " holds ", classes.maps.size(), " class maps"));
  const tomo::Volume& truth = classes.maps[row];
  io::H5File in = io::H5File::open(input, ctx.comm);
  const int n = truth.nx;
  const std::uint64_t un = static_cast<std::uint64_t>(n);
  const auto subs = io::read_samples<float>(in, "/subtomograms", {{un, un, un}, true});
  const auto rows = io::read_samples<std::int64_t>(in, "/class_rows", {{}, true});
  const auto rotations = io::read_samples<double>(in, "/rotations", {{3, 3}, true});
  const auto shifts = io::read_samples<double>(in, "/shifts_voxels", {{3}, true});
  const double tilt = in.read_double_attribute("/subtomograms", "tilt_max_deg");
  const bool search = cfg.string("average.alignment") == "search";
  tomo::AlignmentSettings as;
  as.coarse_step_deg = cfg.real("average.coarse_step_deg");
  as.max_shift_voxels = std::max(2.0, in.read_double_attribute("/subtomograms", "max_shift_voxels") + 2.0);
  const auto all_observed = tomo::missing_wedge_mask(n, n, n, 90.0);
  const tomo::CtfCorrectionSettings correction = ctf_correction(cfg, in);
  const auto definition = tomo::fsc_definition_from_name(cfg.string("fsc.definition"));
  // Gold-standard half sets: members numbered in global row order, so the
  // split is the same at any rank count (local members, then exscan).
  std::uint64_t local_members = 0;
  for (auto r : rows.data) local_members += r == row;
  std::uint64_t ordinal = ctx.comm.exscan_sum(local_members);
  std::vector<tomo::FourierAverager> halves(2, tomo::FourierAverager(n, truth.voxel_nm, correction));
  std::vector<double> angle_errors_deg;
  {
    core::ScopedTimer t(ctx.timers, "average");
    for (std::uint64_t i = 0; i < rows.data.size(); ++i) {
      if (rows.data[i] != row) continue;
      tomo::Volume v = tomo::Volume::cube(n, truth.voxel_nm);
      std::copy(subs.row(i), subs.row(i) + v.size(), v.data.begin());
      tomo::Mat3 r;
      std::copy(rotations.row(i), rotations.row(i) + 9, r.begin());
      // The true pose's inverse: rotation Rᵀ, shift −Rᵀs.
      const tomo::Mat3 inverse = tomo::transpose(r);
      const tomo::Vec3 back = tomo::rotate_vector(inverse, {shifts.row(i)[0], shifts.row(i)[1], shifts.row(i)[2]});
      tomo::AlignmentResult pose{inverse, {-back[0], -back[1], -back[2]}, 1.0, 0};
      if (search) {
        pose = tomo::align(truth, all_observed, v, tilt, as);
        angle_errors_deg.push_back(tomo::geodesic_distance_rad(pose.rotation, inverse) * 180.0 / 3.14159265358979323846);
      }
      halves[tomo::half_set_of(ordinal++)].add(v, tilt, pose);
    }
  }
  // Partial sums add up across ranks (double accumulators); the full average is the two halves merged.
  for (auto& h : halves) ctx.comm.allreduce_sum_inplace(h.accumulators());
  tomo::FourierAverager averager = halves[0];
  averager.merge(halves[1]);
  const double used = ctx.comm.allreduce_sum(static_cast<double>(averager.added()));
  double error_sum = std::accumulate(angle_errors_deg.begin(), angle_errors_deg.end(), 0.0);
  error_sum = ctx.comm.allreduce_sum(error_sum);
  const double min_count = cfg.real("average.min_count");
  const tomo::Volume avg = averager.average(min_count);
  const auto fsc = tomo::fourier_shell_correlation(avg, truth, definition);
  const double first_below_nm = tomo::fsc_resolution_nm(fsc.fsc, n, truth.voxel_nm, 0.5, tomo::FscDefinition::first_below);
  const auto gold = tomo::half_set_fsc(halves[0].average(min_count), halves[1].average(min_count), definition);
  // Past the first CTF zero an uncorrected average carries the inverted map:
  // the mean FSC against the class map there shows what the correction buys.
  const auto first_zero = ctf_applied(in) ? tomo::ctf_zeros_per_nm(acquired_ctf(in), 1) : std::vector<double>{};
  const double beyond = first_zero.empty() ? std::nan("") : mean_fsc_past(fsc, first_zero[0]);
  const std::string path = output_path(cfg, cfg.string("average.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  const std::uint64_t root_rows = ctx.comm.is_root() ? 1 : 0;
  io::write_samples(out, "/average", avg.data.data(), root_rows, {un, un, un});
  io::write_samples(out, "/fsc", fsc.fsc.data(), root_rows, {fsc.fsc.size()});
  io::write_samples(out, "/fsc_frequency_per_nm", fsc.frequency_per_nm.data(), root_rows, {fsc.frequency_per_nm.size()});
  io::write_samples(out, "/half_set_fsc", gold.curve.fsc.data(), root_rows, {gold.curve.fsc.size()});
  out.write_attribute("/", "fsc_resolution_nm", fsc.resolution_nm);
  out.write_attribute("/", "fsc_definition", tomo::fsc_definition_name(definition));
  out.write_attribute("/", "fsc_resolution_first_below_nm", first_below_nm);
  out.write_attribute("/", "half_set_fsc_resolution_nm", gold.resolution_nm);
  out.write_attribute("/", "half_set_threshold", tomo::gold_standard_threshold);
  out.write_attribute("/", "half_set_1_size", static_cast<std::int64_t>(ctx.comm.allreduce_sum(halves[0].added())));
  out.write_attribute("/", "half_set_2_size", static_cast<std::int64_t>(ctx.comm.allreduce_sum(halves[1].added())));
  out.write_attribute("/", "ctf_correction", tomo::ctf_correction_name(correction.mode));
  if (!std::isnan(beyond)) {
    out.write_attribute("/", "ctf_first_zero_per_nm", first_zero[0]);
    out.write_attribute("/", "fsc_mean_beyond_first_ctf_zero", beyond);
  }
  if (correction.mode == tomo::CtfCorrection::wiener) out.write_attribute("/", "wiener_snr", correction.wiener_snr);
  out.write_attribute("/", "subtomograms_averaged", static_cast<std::int64_t>(used));
  out.write_attribute("/", "class_row", row);
  out.write_attribute("/", "alignment", cfg.string("average.alignment"));
  if (search) out.write_attribute("/", "mean_rotation_error_deg", used > 0 ? error_sum / used : 0.0);
  out.write_attribute("/average", "voxel_nm", truth.voxel_nm);
  io::write_provenance(out, stage_provenance(ctx, {input, reference}));
  out.commit();
  if (!cfg.string("average.mrc").empty()) {
    const std::string mrc = output_path(cfg, cfg.string("average.mrc"));
    par::collectively(ctx.comm, [&] {
      if (ctx.comm.is_root()) io::write_mrc(mrc, to_mrc(avg));
    });
  }
  core::Log::info(cat("tomo average: ", static_cast<std::int64_t>(used), " subtomograms of class row ", row,
                      ", CTF correction ", tomo::ctf_correction_name(correction.mode), "; FSC-0.5 resolution (",
                      tomo::fsc_definition_name(definition), ") against the class map ", fsc.resolution_nm,
                      " nm (first shell below 0.5: ", first_below_nm, " nm); half-set FSC-0.143 ", gold.resolution_nm,
                      " nm",
                      std::isnan(beyond) ? std::string()
                                         : cat("; mean FSC past the first CTF zero (", first_zero[0], "/nm) ", beyond),
                      search ? cat(", mean rotation error ", used > 0 ? error_sum / used : 0.0, " deg") : std::string()));
}

void classify(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "classify.input", "simulate.output");
  io::H5File in = io::H5File::open(input, ctx.comm);
  const SubtomogramBlock subs = read_subtomograms(in);
  const int n = subs.n;
  const std::uint64_t un = static_cast<std::uint64_t>(n);
  const auto labels = io::read_samples<std::int64_t>(in, "/labels", {{}, true});
  const double tilt = in.read_double_attribute("/subtomograms", "tilt_max_deg");
  const double voxel_nm = in.read_double_attribute("/subtomograms", "voxel_nm");
  const bool truth = cfg.string("classify.initial_alignment") == "truth";
  io::SampleBlock<double> rotations, shifts;
  if (truth) {
    rotations = io::read_samples<double>(in, "/rotations", {{3, 3}, true});
    shifts = io::read_samples<double>(in, "/shifts_voxels", {{3}, true});
  }
  const auto& wanted = cfg.integer_list("classify.label_ids");
  std::vector<tomo::Volume> local;
  std::vector<tomo::AlignmentResult> initial;
  std::vector<std::int64_t> rows, true_labels;
  for (std::uint64_t i = 0; i < labels.data.size(); ++i) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), labels.data[i]) == wanted.end()) continue;
    tomo::Volume v = subs.volume(i, voxel_nm);
    tomo::AlignmentResult start;
    if (truth) {
      std::copy(rotations.row(i), rotations.row(i) + 9, start.rotation.begin());
      start.rotation = tomo::transpose(start.rotation);  // undo the simulated pose
      const tomo::Vec3 back = tomo::rotate_vector(start.rotation, {shifts.row(i)[0], shifts.row(i)[1], shifts.row(i)[2]});
      start.shift_voxels = {-back[0], -back[1], -back[2]};
    }
    local.push_back(std::move(v));
    initial.push_back(start);
    rows.push_back(static_cast<std::int64_t>(labels.rows.begin + i));
    true_labels.push_back(labels.data[i]);
  }
  const std::uint64_t total = ctx.comm.allreduce_sum(static_cast<std::uint64_t>(local.size()));
  par::check_all(ctx.comm, total >= static_cast<std::uint64_t>(cfg.integer("classify.classes")),
                 cat(deck_label(cfg), ": classify.classes = ",
                     cfg.integer("classify.classes"), " but only ", total, " subtomograms of ", input,
                     " match classify.label_ids"));
  tomo::ClassificationSettings s;
  s.classes = static_cast<int>(cfg.integer("classify.classes"));
  s.iterations = static_cast<int>(cfg.integer("classify.iterations"));
  s.pca_components = static_cast<int>(cfg.integer("classify.pca_components"));
  s.high_variance_fraction = cfg.real("classify.high_variance_fraction");
  s.max_high_variance_voxels = cfg.integer("classify.max_high_variance_voxels");
  s.min_count = cfg.real("classify.min_count");
  s.seed = cfg.integer("run.seed");
  s.alignment.refine_steps_deg = cfg.real_list("classify.refine_steps_deg");
  s.alignment.max_shift_voxels = std::max(2.0, in.read_double_attribute("/subtomograms", "max_shift_voxels") + 2.0);
  core::Log::info(cat("tomo classify: ", total, " subtomograms of ", n, "^3 into ", s.classes, " classes, up to ",
                      s.iterations, " realignment passes, on ", ctx.comm.size(), " rank(s)"));
  tomo::ClassificationResult result;
  {
    core::ScopedTimer t(ctx.timers, "classify");
    result = tomo::classify(local, tilt, initial, s, ctx.comm);
  }
  // Purity against the true labels: Σ_k max_l n_kl / N (contingency summed over ranks).
  std::int64_t max_label = 0;
  for (auto l : true_labels) max_label = std::max(max_label, l);
  max_label = ctx.comm.allreduce_max(max_label);
  const std::size_t width = static_cast<std::size_t>(max_label + 1);
  std::vector<std::int64_t> contingency(static_cast<std::size_t>(s.classes) * width, 0);
  for (std::size_t i = 0; i < true_labels.size(); ++i)
    if (true_labels[i] >= 0) ++contingency[result.labels[i] * width + true_labels[i]];
  ctx.comm.allreduce_sum_inplace(contingency);
  std::int64_t majority = 0;
  for (int k = 0; k < s.classes; ++k)
    majority += *std::max_element(contingency.begin() + k * width, contingency.begin() + (k + 1) * width);
  const double purity = total > 0 ? double(majority) / double(total) : 0.0;
  std::vector<double> rot, shift;
  std::vector<float> averages;
  for (const auto& a : result.alignments) {
    rot.insert(rot.end(), a.rotation.begin(), a.rotation.end());
    shift.insert(shift.end(), a.shift_voxels.begin(), a.shift_voxels.end());
  }
  for (const auto& v : result.class_averages) averages.insert(averages.end(), v.data.begin(), v.data.end());
  const std::string path = output_path(cfg, cfg.string("classify.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/predicted_labels", result.labels, {});
  io::write_samples(out, "/rows", rows, {});
  io::write_samples(out, "/true_labels", true_labels, {});
  io::write_samples(out, "/rotations", rot, {3, 3});
  io::write_samples(out, "/shifts_voxels", shift, {3});
  io::write_samples(out, "/class_averages", averages.data(), ctx.comm.is_root() ? result.class_averages.size() : 0,
                    {un, un, un});
  io::write_samples(out, "/class_sizes", result.class_sizes.data(), ctx.comm.is_root() ? result.class_sizes.size() : 0, {});
  out.write_attribute("/", "purity", purity);
  out.write_attribute("/", "realignment_passes", static_cast<std::int64_t>(result.iterations_run));
  out.write_attribute("/class_averages", "voxel_nm", voxel_nm);
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info(cat("tomo classify: purity ", purity, " after ", result.iterations_run, " realignment pass(es) -> ", path));
}

}  // namespace

ClassMaps read_class_maps(const std::string& path, const par::Comm& comm) {
  using core::cat;
  io::H5File in = io::H5File::open(path, comm);
  const auto info = in.info("/maps");
  par::check_all(comm, info.shape.size() == 4 && info.shape[1] == info.shape[2] && info.shape[2] == info.shape[3],
                 cat(in.where("/maps"), ": expected N x n x n x n class maps, found shape ", io::shape_string(info.shape)));
  const std::uint64_t count = info.shape[0], n = info.shape[1];
  const auto maps = io::read_sample_rows<float>(in, "/maps", {0, count}, {{n, n, n}, true});
  const auto ids = io::read_sample_rows<std::int64_t>(in, "/class_ids", {0, count}, {{}, true});
  ClassMaps out;
  out.voxel_nm = in.read_double_attribute("/maps", "voxel_nm");
  out.class_ids = ids.data;
  std::stringstream names(in.has_attribute("/maps", "class_names") ? in.read_string_attribute("/maps", "class_names")
                                                                   : std::string());
  for (std::string name; std::getline(names, name, ',');) out.names.push_back(name);
  out.names.resize(count);
  for (std::uint64_t c = 0; c < count; ++c) {
    if (out.names[c].empty()) out.names[c] = cat("class_row_", c);
    tomo::Volume v = tomo::Volume::cube(static_cast<int>(n), out.voxel_nm);
    std::copy(maps.row(c), maps.row(c) + v.size(), v.data.begin());
    out.maps.push_back(std::move(v));
  }
  return out;
}

SubtomogramBlock read_subtomograms(const io::H5File& in) {
  using core::cat;
  const auto info = in.info("/subtomograms");
  par::check_all(in.comm(), info.shape.size() == 4 && info.shape[1] == info.shape[2] && info.shape[2] == info.shape[3],
                 cat(in.where("/subtomograms"), ": expected N x n x n x n subtomograms, found shape ",
                     io::shape_string(info.shape)));
  const std::uint64_t n = info.shape[1];
  return {io::read_samples<float>(in, "/subtomograms", {{n, n, n}, true}), static_cast<int>(n)};
}

tomo::Volume SubtomogramBlock::volume(std::uint64_t local_row, double voxel_nm) const {
  tomo::Volume v = tomo::Volume::cube(n, voxel_nm);
  std::copy(block.row(local_row), block.row(local_row) + v.size(), v.data.begin());
  return v;
}

bool is_empty_map(const tomo::Volume& map) {
  return std::all_of(map.data.begin(), map.data.end(), [](float v) { return v == 0.0f; });
}

Pipeline tomo_pipeline() {
  Pipeline p{"tomo",
          "Cryo-ET: class maps, simulated subtomograms and tomograms, CNN classification, subdivision, averaging (Xu et al. 2017)",
          [] {
            core::Schema s = tomo_schema();
            add_tomo_learning_keys(s);
            add_tomo_sweep_keys(s);
            add_tomo_rif_svm_keys(s);
            return s;
          },
          {
              {"structures", "Density maps of the procedural classes and of PDB/mmCIF files", structures},
              {"simulate", "Simulate subtomograms (wedge, CTF, MTF, noise at a target SNR)", simulate},
              {"tomogram", "Simulate one crowded tomogram and its true particle list", tomogram},
              {"pick", "DoG particle picking on an MRC tomogram; extract boxes", pick},
              {"average", "Missing-wedge-aware Fourier average of one class and its FSC", average},
              {"classify", "Reference-free classification: PCA of masked differences, k-means, realignment", classify},
          }};
  // simulate -> train -> extract -> subdivide -> average: the learning stages after simulate.
  auto learning = tomo_learning_stages();
  learning.push_back(tomo_rif_svm_stage());  // the baseline beside the CNNs (Table 2)
  p.stages.insert(p.stages.begin() + 2, learning.begin(), learning.end());
  // recover, sweep, sweep-report: the leave-one-class-out study, after classify.
  auto study = tomo_sweep_stages();
  p.stages.insert(p.stages.end(), study.begin(), study.end());
  return p;
}

}  // namespace phenoscale::app
