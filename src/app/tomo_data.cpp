// tomo structures / simulate / tomogram / pick: the data-generation and
// particle-picking stages of the tomo pipeline (Xu et al. 2017; see
// tomo_data.hpp).
//
//   mpirun -n 4 phenoscale tomo structures -c inputs/tomo/demo.toml
//   mpirun -n 4 phenoscale tomo simulate   -c inputs/tomo/demo.toml --set simulate.snr=0.05
//   mpirun -n 1 phenoscale tomo tomogram   -c inputs/tomo/demo.toml
//   mpirun -n 1 phenoscale tomo pick       -c inputs/tomo/demo.toml
#include "phenoscale/app/tomo_data.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <numeric>
#include <optional>
#include <set>

#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/app/tomo_common.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/first_repeat.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/mrc.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/star.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"
#include "phenoscale/par/partition.hpp"
#include "phenoscale/tomo/picking.hpp"
#include "phenoscale/tomo/procedural.hpp"
#include "phenoscale/tomo/simulate.hpp"

namespace phenoscale::app {
namespace {

using core::cat;
namespace fs = std::filesystem;

// Ids 0..22: the 22 procedural assemblies and the empty class.
std::vector<std::int64_t> all_procedural_classes() {
  std::vector<std::int64_t> ids(tomo::class_count_with_empty);
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
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

// A class map's file name, <prefix><index>_<name>.mrc (the name a procedural
// class's, or "file" for a PDB/mmCIF class), and its reading: the <name> of
// a file `filename` so named under `stem` (prefix without its folder), or
// nothing.
std::string class_map_path(const std::string& prefix, std::uint64_t index, const std::string& name) {
  return cat(prefix, index, "_", name, ".mrc");
}
std::optional<std::string> class_map_name(const std::string& filename, const std::string& stem) {
  if (filename.size() <= stem.size() + 6 || filename.compare(0, stem.size(), stem) != 0 ||
      filename.compare(filename.size() - 4, 4, ".mrc") != 0)
    return std::nullopt;
  std::size_t digits = stem.size();
  while (digits < filename.size() && std::isdigit(static_cast<unsigned char>(filename[digits]))) ++digits;
  if (digits == stem.size() || filename[digits] != '_') return std::nullopt;
  return filename.substr(digits + 1, filename.size() - 4 - digits - 1);
}

// The maps a previous run of this stage wrote under `prefix`
// (class_map_path) that this run's `set` does not name; regular files only,
// compared by name within the folder. A folder that cannot be read gives
// none.
std::vector<std::string> earlier_class_maps(const std::string& prefix, const std::vector<std::string>& set) {
  const fs::path folder = fs::path(prefix).parent_path();
  const std::string stem = fs::path(prefix).filename().string();
  std::set<std::string> ours{"file"}, kept;
  for (int id = 0; id < tomo::class_count_with_empty; ++id) ours.insert(tomo::procedural_class_name(id));
  for (const auto& path : set) kept.insert(fs::path(path).filename().string());
  std::vector<std::string> out;
  std::error_code ec, kind;
  for (fs::directory_iterator it(folder.empty() ? fs::path(".") : folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto class_name = class_map_name(name, stem);
    if (class_name && ours.count(*class_name) && !kept.count(name) && it->is_regular_file(kind))
      out.push_back((folder / name).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The class maps of a structures file, on every rank.
void structures(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::vector<std::int64_t> ids = cfg.integer_list("structures.classes");
  const auto& files = cfg.string_list("structures.files");
  par::check_deck(ctx.comm, !ids.empty() || !files.empty(),
                  cat(deck_label(cfg), ": structures.classes and structures.files are both empty; expected at least "
                                       "one class (procedural ids 0-22 or PDB/mmCIF files)"));
  par::collectively(ctx.comm, [&] {  // a deck error: exit 2, one line
    if (const auto i = core::first_repeat(ids); i < ids.size())
      throw ConfigError(cat(deck_label(cfg), ": structures.classes names class ", ids[i],
                            " twice; expected distinct classes (two identical class maps)"));
    for (const auto& file : files)  // the class names are stored one per line
      if (file.find_first_of("\n\r") != std::string::npos)
        throw ConfigError(cat(deck_label(cfg), ": structures.files: a file name holds a line break; expected one "
                              "path per entry"));
  });
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
  const auto mrc_path = [&](std::uint64_t c) {
    return output_path(cfg, class_map_path(prefix, c, c < ids.size() ? names[c] : std::string("file")));
  };
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
      }
    });
  }
  // Every map computed: the previous run's files of these names go first,
  // and its maps of other classes (a run with more classes or other names
  // would leave class_5_*.mrc beside this run's five maps).
  std::vector<std::string> set{path};
  for (std::uint64_t c = 0; c < count && !prefix.empty(); ++c) set.push_back(mrc_path(c));
  // Listed by rank 0 and broadcast: every rank must retire the same set.
  std::string listed;
  par::collectively(ctx.comm, [&] {
    if (ctx.comm.is_root() && !prefix.empty())
      listed = io::name_list_attribute(earlier_class_maps(output_path(cfg, prefix), set));
  });
  ctx.comm.broadcast(listed);
  const std::vector<std::string> earlier = io::parse_name_list(listed);
  set.insert(set.end(), earlier.begin(), earlier.end());
  begin_outputs(ctx, set);
  if (!earlier.empty())
    core::Log::info(cat("tomo structures: removed ", earlier.size(), " class map(s) of an earlier run (",
                        fs::path(earlier.front()).filename().string(), earlier.size() > 1 ? ", ..." : "", ")"));
  if (!prefix.empty()) {
    par::collectively(ctx.comm, [&] {
      for (std::uint64_t c = mine.begin; c < mine.end; ++c) {
        tomo::Volume map = tomo::Volume::cube(box, voxel_nm);  // this rank's c-th map, from `maps`
        const auto first = maps.begin() + static_cast<std::ptrdiff_t>((c - mine.begin) * map.size());
        std::copy(first, first + static_cast<std::ptrdiff_t>(map.size()), map.data.begin());
        io::write_mrc(mrc_path(c), to_mrc(map));
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
  out.write_attribute("/maps", "class_names", io::name_list_attribute(names));
  io::write_provenance(out, stage_provenance(ctx, std::vector<std::string>(files.begin(), files.end())));
  out.commit();
  core::Log::info(cat("tomo structures: ", count, " class maps of ", box, "^3 at ", voxel_nm, " nm -> ", path));
}

// The empty class's noise is scaled to the mean signal variance of the
// particle classes (tomo/simulate.hpp): an empty subtomogram is noise of the
// dataset's level. 0 when no class has a particle.
double particle_signal_variance(const ClassMaps& classes, const tomo::AcquisitionSettings& a) {
  double total = 0;
  int counted = 0;
  for (const auto& map : classes.maps) {
    if (is_empty_map(map)) continue;
    total += tomo::signal_variance(map, a);
    ++counted;
  }
  return counted > 0 ? total / counted : 0.0;
}

void simulate(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "simulate.input", "structures.output");
  const ClassMaps classes = read_class_maps(input, ctx.comm);
  tomo::AcquisitionSettings a = acquisition(cfg);
  a.empty_signal_variance = particle_signal_variance(classes, a);
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
  out.write_attribute("/subtomograms", "empty_signal_variance", a.empty_signal_variance);
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
  const std::string path = output_path(cfg, cfg.string("tomogram.particles_output"));
  {
    core::ScopedTimer t(ctx.timers, "simulate");
    par::collectively(ctx.comm, [&] {
      if (!ctx.comm.is_root()) return;
      sim = tomo::simulate_tomogram(maps, radii, ts, a, cfg.integer("run.seed"), cfg.integer("tomogram.index"));
    });
  }
  begin_outputs(ctx, {mrc, path});
  par::collectively(ctx.comm, [&] {
    if (ctx.comm.is_root()) io::write_mrc(mrc, to_mrc(sim.tomogram));
  });
  std::vector<double> centres, rotations;
  std::vector<std::int64_t> labels;
  for (const auto& p : sim.particles) {
    centres.insert(centres.end(), p.centre_voxel.begin(), p.centre_voxel.end());
    rotations.insert(rotations.end(), p.rotation.begin(), p.rotation.end());
    labels.push_back(ids[p.class_id]);
  }
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
  begin_outputs(ctx, {path, optional_output(cfg, "pick.star")});
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

}  // namespace

void add_tomo_data_keys(core::Schema& s) {
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
      .boolean("pick.particles_dark", true,
               "Particles darker than the background (the CTF's sign below its first zero; real and simulated data): invert first")
      .integer("pick.box", 40, "Edge of the extracted subtomograms, voxels", 4, 1024)
      .integer("pick.max_particles", 0, "Keep at most this many peaks (0 = all)", 0, 1e9)
      .string("pick.output", "picks.h5", "Output file name inside run.output_dir")
      .string("pick.star", "picks.star",
              "RELION-style STAR file of the picks (rlnTomoName, rlnCoordinateX/Y/Z, rlnAutopickFigureOfMerit) "
              "inside run.output_dir; empty = none");
}

std::vector<Stage> tomo_simulation_stages() {
  return {
      {"structures", "Density maps of the procedural classes and of PDB/mmCIF files", structures},
      {"simulate", "Simulate subtomograms (wedge, CTF, MTF, noise at a target SNR)", simulate},
  };
}

std::vector<Stage> tomo_picking_stages() {
  return {
      {"tomogram", "Simulate one crowded tomogram and its true particle list", tomogram},
      {"pick", "DoG particle picking on an MRC tomogram; extract boxes", pick},
  };
}

}  // namespace phenoscale::app
