// `phenoscale info FILE.h5`: a human-readable listing of a stage output —
// provenance first, then every dataset with dtype and shape, then the
// attributes of groups and datasets. MRC volumes, TIFF stacks and trajectory
// CSV files get a short validated summary. Output goes to stdout (rank 0).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "phenoscale/app/cli.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/mrc.hpp"
#include "phenoscale/io/tiff.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/io/provenance.hpp"

namespace phenoscale::app {
namespace {

void print_hdf5_info(const std::string& path, bool show_deck, const par::Comm& comm);

struct Entry {
  std::string path;
  bool is_dataset = false;
};

herr_t collect(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<Entry>*>(out)->push_back({std::string("/") + name, false});
  return 0;
}

// A short text for an attribute's value: scalars, strings, small arrays.
std::string attribute_text(hid_t attr) {
  io::H5Id type(H5Aget_type(attr));
  io::H5Id space(H5Aget_space(attr));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  const H5T_class_t cls = H5Tget_class(type.get());
  std::ostringstream os;
  if (cls == H5T_STRING && n != 1) {
    // An array of strings (h5py's attrs['names'] = ['a', 'b']): named, not
    // read (the readers below hold one string).
    return "string array of " + std::to_string(n);
  }
  if (cls == H5T_STRING) {
    std::string text;
    if (H5Tis_variable_str(type.get()) > 0) {
      char* s = nullptr;
      io::H5Id mem(H5Tcopy(H5T_C_S1));
      H5Tset_size(mem.get(), H5T_VARIABLE);
      H5Aread(attr, mem.get(), &s);
      text = s ? s : "";
      H5free_memory(s);
    } else {
      text.assign(H5Tget_size(type.get()), '\0');
      H5Aread(attr, type.get(), text.data());
      text.resize(text.find('\0') == std::string::npos ? text.size() : text.find('\0'));
    }
    const auto newline = text.find('\n');
    if (newline != std::string::npos) {
      std::size_t lines = 1;
      for (char c : text) lines += c == '\n';
      return "\"" + text.substr(0, newline) + " …\" (" + std::to_string(lines) + " lines)";
    }
    return "\"" + text + "\"";
  }
  if (cls == H5T_INTEGER && n == 1) {
    std::int64_t v = 0;
    H5Aread(attr, H5T_NATIVE_INT64, &v);
    return std::to_string(v);
  }
  if ((cls == H5T_FLOAT || cls == H5T_INTEGER) && n > 0 && n <= 16) {
    std::vector<double> values(n);
    H5Aread(attr, H5T_NATIVE_DOUBLE, values.data());
    if (n > 1) os << "[";
    for (hssize_t i = 0; i < n; ++i) os << (i ? ", " : "") << values[i];
    if (n > 1) os << "]";
    return os.str();
  }
  return io::dtype_name(type.get()) + " × " + std::to_string(n);
}

void print_attributes(hid_t object, const std::string& indent, const std::vector<std::string>& skip) {
  H5O_info_t oinfo;
  H5Oget_info(object, &oinfo);
  for (hsize_t i = 0; i < oinfo.num_attrs; ++i) {
    io::H5Id attr(H5Aopen_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT));
    char name[256] = {0};
    H5Aget_name(attr.get(), sizeof name, name);
    bool skipped = false;
    for (const auto& s : skip) skipped = skipped || s == name;
    if (!skipped) std::cout << indent << name << " = " << attribute_text(attr.get()) << "\n";
  }
}


bool has_extension(const std::string& path, std::initializer_list<const char*> extensions) {
  const auto dot = path.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : extensions) {
    if (ext == e) return true;
  }
  return false;
}

void print_mrc_info(const std::string& path) {
  const io::MrcVolume v = io::read_mrc(path);  // validates header, size and values
  const io::MrcHeader h = io::read_mrc_header(path);
  double sum = 0, lo = v.data.empty() ? 0 : v.data[0], hi = lo;
  for (float x : v.data) {
    sum += x;
    lo = std::min<double>(lo, x);
    hi = std::max<double>(hi, x);
  }
  std::cout << path << "\n  MRC volume " << h.nx << " x " << h.ny << " x " << h.nz << ", mode "
            << h.mode << ", voxel " << h.voxel_size_angstrom[0] << " x " << h.voxel_size_angstrom[1]
            << " x " << h.voxel_size_angstrom[2] << " Å, extended header " << h.nsymbt << " bytes"
            << (h.big_endian ? ", big-endian" : "") << "\n  min " << lo << ", max " << hi << ", mean "
            << (v.data.empty() ? 0.0 : sum / double(v.data.size())) << "\n";
}

void print_tiff_info(const std::string& path) {
  const io::ImageStack s = io::read_tiff_stack(path);
  std::cout << path << "\n  TIFF stack " << s.frames << " frames of " << s.width << " x " << s.height
            << ", " << s.bits_per_sample << " bits per sample\n";
}

void print_csv_info(const std::string& path) {
  const io::TrajectoryTable t = io::read_trajectories_csv(path);
  std::cout << path << "\n  trajectories: " << t.track_offsets.size() - 1 << " tracks, "
            << t.track_id.size() << " localisations, " << (t.has_z ? "3-D" : "2-D")
            << (t.constant_z ? " (its z column is the same on every row)" : "") << "\n";
}

}  // namespace

void print_file_info(const std::string& path, bool show_deck, const par::Comm& comm) {
  // Serial formats are read on rank 0; the outcome is agreed so no rank hangs.
  if (has_extension(path, {"mrc", "mrcs", "map", "rec", "st", "ali"}) ||
      has_extension(path, {"tif", "tiff"}) || has_extension(path, {"csv"})) {
    par::collectively(comm, [&] {
      if (!comm.is_root()) return;
      if (has_extension(path, {"tif", "tiff"})) print_tiff_info(path);
      else if (has_extension(path, {"csv"})) print_csv_info(path);
      else print_mrc_info(path);
    });
    return;
  }
  print_hdf5_info(path, show_deck, comm);
}

namespace {

void print_hdf5_info(const std::string& path, bool show_deck, const par::Comm& comm) {
  io::H5File file = io::H5File::open(path, comm);
  if (!comm.is_root()) return;
  std::cout << path << "\n";

  io::H5Id root(H5Oopen(file.id(), "/", H5P_DEFAULT));
  if (file.has_attribute("/", "phenoscale_version")) {
    std::cout << "provenance:\n";
    for (const auto& name : io::provenance_attributes()) {
      if (!file.has_attribute("/", name) || name == "deck") continue;
      io::H5Id attr(H5Aopen(root.get(), name.c_str(), H5P_DEFAULT));
      std::cout << "  " << name << " = " << attribute_text(attr.get()) << "\n";
    }
  }
  std::cout << "attributes of /:\n";
  print_attributes(root.get(), "  ", io::provenance_attributes());

  std::vector<Entry> entries;
  H5Lvisit(file.id(), H5_INDEX_NAME, H5_ITER_INC, collect, &entries);
  std::cout << "datasets:\n";
  for (const auto& e : entries) {
    io::H5Id obj(H5Oopen(file.id(), e.path.c_str(), H5P_DEFAULT));
    if (H5Iget_type(obj.get()) != H5I_DATASET) continue;
    const auto info = file.info(e.path);
    char line[512];
    std::snprintf(line, sizeof line, "  %-32s %-8s %s", e.path.c_str(), info.dtype.c_str(),
                  io::shape_string(info.shape).c_str());
    std::cout << line << "\n";
    print_attributes(obj.get(), "      ", {});
  }
  for (const auto& e : entries) {
    io::H5Id obj(H5Oopen(file.id(), e.path.c_str(), H5P_DEFAULT));
    if (H5Iget_type(obj.get()) != H5I_GROUP) continue;
    std::cout << "group " << e.path << ":\n";
    print_attributes(obj.get(), "  ", {});
  }
  if (show_deck && file.has_attribute("/", "deck")) {
    std::cout << "deck:\n" << file.read_string_attribute("/", "deck");
  }
}

}  // namespace

}  // namespace phenoscale::app
