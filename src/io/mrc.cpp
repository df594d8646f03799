#include "phenoscale/io/mrc.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/atomic_file.hpp"

namespace phenoscale::io {
namespace {

constexpr std::size_t kHeaderBytes = 1024;
constexpr int kMaxDim = 1 << 20;
constexpr std::size_t kChunkVoxels = std::size_t{1} << 22;  // bounds the staging buffer to 16 MiB
constexpr std::uint32_t kImodStamp = 1146047817;            // "IMOD" as a little-endian word
constexpr int kMaxLabels = 10;
constexpr std::size_t kLabelBytes = 80;

// --- byte order --------------------------------------------------------------
// Assembling values from bytes keeps the code independent of the host's byte
// order; compilers turn the little-endian case into plain loads.

std::uint32_t load_u32(const unsigned char* p, bool big) {
  if (big) return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
  return std::uint32_t{p[3]} << 24 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[1]} << 8 | p[0];
}

std::uint16_t load_u16(const unsigned char* p, bool big) {
  return static_cast<std::uint16_t>(big ? (p[0] << 8 | p[1]) : (p[1] << 8 | p[0]));
}

float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

std::uint32_t float_to_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

void store_u32(unsigned char* p, std::uint32_t v) {
  p[0] = static_cast<unsigned char>(v);
  p[1] = static_cast<unsigned char>(v >> 8);
  p[2] = static_cast<unsigned char>(v >> 16);
  p[3] = static_cast<unsigned char>(v >> 24);
}

void store_u16(unsigned char* p, std::uint16_t v) {
  p[0] = static_cast<unsigned char>(v);
  p[1] = static_cast<unsigned char>(v >> 8);
}

// --- modes -------------------------------------------------------------------

const char* mode_name(int mode) {
  switch (mode) {
    case 0: return "int8";
    case 1: return "int16";
    case 2: return "float32";
    case 3: return "complex int16";
    case 4: return "complex float32";
    case 6: return "uint16";
    case 12: return "float16";
    case 101: return "4-bit packed";
    default: return "unknown";
  }
}

std::size_t bytes_per_voxel(int mode) {
  switch (mode) {
    case 0: return 1;
    case 1:
    case 6:
    case 12: return 2;
    case 2: return 4;
    default: return 0;  // unsupported
  }
}

bool is_known_mode(int mode) { return std::strcmp(mode_name(mode), "unknown") != 0; }

// --- header decoding ---------------------------------------------------------

// Header fields are 4-byte words numbered from 1 as in the MRC2014 table.
struct RawHeader {
  unsigned char bytes[kHeaderBytes];
  bool big = false;
  std::int32_t i(int word) const { return static_cast<std::int32_t>(load_u32(bytes + 4 * (word - 1), big)); }
  float f(int word) const { return bits_to_float(load_u32(bytes + 4 * (word - 1), big)); }
  std::string text(std::size_t offset, std::size_t len) const {
    std::string s(reinterpret_cast<const char*>(bytes + offset), len);
    s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
  }
};

bool plausible(const RawHeader& h) {
  for (int w = 1; w <= 3; ++w)
    if (h.i(w) <= 0 || h.i(w) >= kMaxDim) return false;
  return is_known_mode(h.i(4));
}

// The stamp at byte 212 says 0x44 ('D', little) or 0x11 (big); old files
// have no stamp, so we pick the byte order under which the header makes sense.
bool detect_big_endian(RawHeader& h) {
  unsigned char stamp = h.bytes[212];
  if (stamp == 0x11) return true;
  if (stamp == 0x44 || stamp == 0x41) return false;
  h.big = false;
  if (plausible(h)) return false;
  h.big = true;
  bool big_ok = plausible(h);
  h.big = false;
  return big_ok;
}

std::uint64_t file_size_of(std::FILE* f, const std::string& path) {
  struct stat st {};
  if (::fstat(::fileno(f), &st) != 0) throw InputError(at_file(path, "cannot determine the file size"));
  return static_cast<std::uint64_t>(st.st_size);
}

void fill_fields(const RawHeader& raw, MrcHeader& h) {
  h.nx = raw.i(1), h.ny = raw.i(2), h.nz = raw.i(3);
  h.mode = raw.i(4);
  h.nxstart = raw.i(5), h.nystart = raw.i(6), h.nzstart = raw.i(7);
  h.mx = raw.i(8), h.my = raw.i(9), h.mz = raw.i(10);
  for (int k = 0; k < 3; ++k) {
    h.cella[k] = raw.f(11 + k);
    h.cellb[k] = raw.f(14 + k);
    h.origin[k] = raw.f(50 + k);
  }
  h.mapc = raw.i(17), h.mapr = raw.i(18), h.maps = raw.i(19);
  h.dmin = raw.f(20), h.dmax = raw.f(21), h.dmean = raw.f(22);
  h.ispg = raw.i(23);
  h.nsymbt = raw.i(24);
  h.exttyp = raw.text(104, 4);
  h.nversion = raw.i(28);
  h.has_map_tag = std::memcmp(raw.bytes + 208, "MAP", 3) == 0;
  h.big_endian = raw.big;
  h.rms = raw.f(55);
  // IMOD wrote mode 0 unsigned unless flag bit 0 says otherwise; MRC2014 says signed.
  h.int8_unsigned = static_cast<std::uint32_t>(raw.i(39)) == kImodStamp && (raw.i(40) & 1) == 0;
  int nlabl = std::clamp(raw.i(56), 0, kMaxLabels);
  for (int k = 0; k < nlabl; ++k) h.labels.push_back(raw.text(224 + kLabelBytes * k, kLabelBytes));
}

void fill_derived(MrcHeader& h) {
  const int n[3] = {h.nx, h.ny, h.nz};
  const int m[3] = {h.mx, h.my, h.mz};
  for (int k = 0; k < 3; ++k) h.voxel_size_angstrom[k] = double(h.cella[k]) / (m[k] > 0 ? m[k] : n[k]);
  h.bytes_per_voxel = bytes_per_voxel(h.mode);
  h.data_offset = kHeaderBytes + static_cast<std::uint64_t>(h.nsymbt);
  h.data_bytes = std::uint64_t(h.nx) * std::uint64_t(h.ny) * std::uint64_t(h.nz) * h.bytes_per_voxel;
}

// --- header validation ---------------------------------------------------------

void check_dimensions(const MrcHeader& h, const std::string& path) {
  if (h.nx > 0 && h.ny > 0 && h.nz > 0 && h.nx < kMaxDim && h.ny < kMaxDim && h.nz < kMaxDim) return;
  std::ostringstream os;
  os << "MRC header says nx=" << h.nx << ", ny=" << h.ny << ", nz=" << h.nz
     << "; expected each between 1 and " << kMaxDim - 1 << " (not an MRC file, or a corrupt header)";
  throw InputError(at_file(path, os.str()));
}

void check_mode(const MrcHeader& h, const std::string& path) {
  if (bytes_per_voxel(h.mode) != 0) return;
  std::ostringstream os;
  os << "MRC mode " << h.mode << " (" << mode_name(h.mode)
     << ") is not supported; expected 0 (int8), 1 (int16), 2 (float32), 6 (uint16) or 12 (float16)";
  throw InputError(at_file(path, os.str()));
}

// Some writers leave the axis words zero; that can only mean the default order.
void check_axis_order(MrcHeader& h, const std::string& path) {
  if (h.mapc == 0 && h.mapr == 0 && h.maps == 0) h.mapc = 1, h.mapr = 2, h.maps = 3;
  if (h.mapc == 1 && h.mapr == 2 && h.maps == 3) return;
  int axes[3] = {h.mapc, h.mapr, h.maps};
  std::sort(axes, axes + 3);
  bool permutation = axes[0] == 1 && axes[1] == 2 && axes[2] == 3;
  std::ostringstream os;
  os << "MRC axis order mapc/mapr/maps = " << h.mapc << "," << h.mapr << "," << h.maps;
  if (permutation)
    os << " is not supported; expected 1,2,3 (x fastest); resave the volume in x,y,z order "
          "(e.g. with mrcfile or IMOD's newstack)";
  else
    os << " is not a permutation of 1,2,3 (corrupt header)";
  throw InputError(at_file(path, os.str()));
}

void check_sizes(const MrcHeader& h, const std::string& path) {
  if (h.nsymbt < 0)
    throw InputError(at_file(path, "MRC header says the extended header is " + std::to_string(h.nsymbt) +
                                       " bytes long; expected 0 or more (corrupt header)"));
  if (h.file_bytes < h.data_offset) {
    std::ostringstream os;
    os << "MRC header says a " << h.nsymbt
       << "-byte extended header follows the main header but the file ends " << h.file_bytes - kHeaderBytes
       << " bytes after it";
    throw InputError(at_file(path, os.str()));
  }
  std::uint64_t held = h.file_bytes - h.data_offset;
  if (held >= h.data_bytes) return;  // trailing bytes are harmless (some writers pad)
  std::ostringstream os;
  os << "MRC header says " << h.nx << "x" << h.ny << "x" << h.nz << " voxels of mode " << h.mode << " ("
     << h.data_bytes << " bytes) but the file holds " << held << " bytes of data";
  throw InputError(at_file(path, os.str()));
}

struct OpenMrc {
  UniqueFile file;
  MrcHeader header;
};

OpenMrc open_mrc(const std::string& path) {
  OpenMrc m{open_input(path), {}};
  m.header.file_bytes = file_size_of(m.file.get(), path);
  if (m.header.file_bytes < kHeaderBytes)
    throw InputError(at_file(path, "file is " + std::to_string(m.header.file_bytes) +
                                       " bytes, shorter than the 1024-byte MRC header (not an MRC file?)"));
  RawHeader raw;
  if (std::fread(raw.bytes, 1, kHeaderBytes, m.file.get()) != kHeaderBytes)
    throw InputError(at_file(path, "cannot read the 1024-byte MRC header"));
  raw.big = detect_big_endian(raw);
  fill_fields(raw, m.header);
  check_dimensions(m.header, path);
  check_mode(m.header, path);
  check_axis_order(m.header, path);
  fill_derived(m.header);
  check_sizes(m.header, path);
  return m;
}

// --- data ------------------------------------------------------------------------

void decode(const unsigned char* src, std::size_t n, const MrcHeader& h, float* dst) {
  const bool big = h.big_endian;
  switch (h.mode) {
    case 0:
      for (std::size_t k = 0; k < n; ++k)
        dst[k] = h.int8_unsigned ? float(src[k]) : float(static_cast<std::int8_t>(src[k]));
      break;
    case 1:
      for (std::size_t k = 0; k < n; ++k)
        dst[k] = float(static_cast<std::int16_t>(load_u16(src + 2 * k, big)));
      break;
    case 6:
      for (std::size_t k = 0; k < n; ++k) dst[k] = float(load_u16(src + 2 * k, big));
      break;
    case 12:
      for (std::size_t k = 0; k < n; ++k) dst[k] = half_to_float(load_u16(src + 2 * k, big));
      break;
    default:  // 2; other modes were rejected with the header
      for (std::size_t k = 0; k < n; ++k) dst[k] = bits_to_float(load_u32(src + 4 * k, big));
  }
}

void read_data(OpenMrc& m, const std::string& path, std::vector<float>& out) {
  const MrcHeader& h = m.header;
  if (::fseeko(m.file.get(), static_cast<off_t>(h.data_offset), SEEK_SET) != 0)
    throw InputError(at_file(path, "cannot seek to the voxel data at byte " + std::to_string(h.data_offset)));
  const std::size_t total = out.size();
  std::vector<unsigned char> buffer(std::min(total, kChunkVoxels) * h.bytes_per_voxel);
  for (std::size_t done = 0; done < total;) {
    std::size_t n = std::min(total - done, kChunkVoxels);
    std::size_t bytes = n * h.bytes_per_voxel;
    if (std::fread(buffer.data(), 1, bytes, m.file.get()) != bytes)
      throw InputError(at_file(path, "file ended after " + std::to_string(done * h.bytes_per_voxel) + " of " +
                                         std::to_string(h.data_bytes) + " bytes of voxel data"));
    decode(buffer.data(), n, h, out.data() + done);
    done += n;
  }
}

std::string voxel_position(const MrcVolume& v, std::size_t index) {
  std::size_t x = index % std::size_t(v.nx);
  std::size_t y = index / std::size_t(v.nx) % std::size_t(v.ny);
  std::size_t z = index / (std::size_t(v.nx) * std::size_t(v.ny));
  return "voxel (x=" + std::to_string(x) + ", y=" + std::to_string(y) + ", z=" + std::to_string(z) + ")";
}

void check_finite(const MrcVolume& v, const std::string& path) {
  auto bad = std::find_if(v.data.begin(), v.data.end(), [](float f) { return !std::isfinite(f); });
  if (bad == v.data.end()) return;
  std::size_t index = static_cast<std::size_t>(bad - v.data.begin());
  throw InputError(at_file(path, voxel_position(v, index) + " is " + (std::isnan(*bad) ? "NaN" : "infinite") +
                                     "; expected finite values (mode " + std::to_string(v.mode_on_disk) +
                                     ")"));
}

// --- writing ---------------------------------------------------------------------

// The value a voxel will have once stored in `mode`.
float stored_value(float f, int mode) { return mode == 12 ? half_to_float(float_to_half(f)) : f; }

struct Stats {
  float min = 0, max = 0;
  double mean = 0, rms = 0;
};

// Statistics of the stored values; also rejects values the reader would refuse.
Stats stored_stats(const MrcVolume& v, int mode, const std::string& path) {
  Stats s;
  s.min = s.max = stored_value(v.data[0], mode);
  double sum = 0;
  for (std::size_t k = 0; k < v.data.size(); ++k) {
    float f = stored_value(v.data[k], mode);
    if (!std::isfinite(f)) {
      std::ostringstream os;
      os << "cannot write " << voxel_position(v, k) << " = " << v.data[k];
      if (std::isfinite(v.data[k]))
        os << ": beyond the float16 range of +-65504; write mode 2 instead";
      else
        os << "; expected finite values";
      throw IoError(at_file(path, os.str()));
    }
    s.min = std::min(s.min, f);
    s.max = std::max(s.max, f);
    sum += f;
  }
  s.mean = sum / double(v.data.size());
  double ss = 0;
  for (float f : v.data) {
    double d = stored_value(f, mode) - s.mean;
    ss += d * d;
  }
  s.rms = std::sqrt(ss / double(v.data.size()));
  return s;
}

void check_writable(const MrcVolume& v, int mode, const std::string& path) {
  if (mode != 2 && mode != 12)
    throw IoError(at_file(
        path, "cannot write MRC mode " + std::to_string(mode) + "; expected 2 (float32) or 12 (float16)"));
  std::ostringstream os;
  if (v.nx <= 0 || v.ny <= 0 || v.nz <= 0 || v.nx >= kMaxDim || v.ny >= kMaxDim || v.nz >= kMaxDim) {
    os << "cannot write a volume of " << v.nx << "x" << v.ny << "x" << v.nz
       << " voxels; expected each between 1 and " << kMaxDim - 1;
    throw IoError(at_file(path, os.str()));
  }
  if (v.data.size() != v.voxel_count()) {
    os << "cannot write: volume is " << v.nx << "x" << v.ny << "x" << v.nz << " (" << v.voxel_count()
       << " voxels) but holds " << v.data.size() << " values";
    throw IoError(at_file(path, os.str()));
  }
}

void put_i32(unsigned char* h, int word, std::int32_t v) {
  store_u32(h + 4 * (word - 1), static_cast<std::uint32_t>(v));
}
void put_f32(unsigned char* h, int word, float v) { store_u32(h + 4 * (word - 1), float_to_bits(v)); }

std::vector<unsigned char> build_header(const MrcVolume& v, int mode, const Stats& s) {
  std::vector<unsigned char> h(kHeaderBytes, 0);
  const int n[3] = {v.nx, v.ny, v.nz};
  for (int k = 0; k < 3; ++k) {
    put_i32(h.data(), 1 + k, n[k]);
    put_i32(h.data(), 8 + k, n[k]);  // mx = nx: one voxel per sampling interval
    put_f32(h.data(), 11 + k, float(v.voxel_size_angstrom[k] * n[k]));
    put_f32(h.data(), 14 + k, 90.0f);
    put_i32(h.data(), 17 + k, 1 + k);
    put_f32(h.data(), 50 + k, v.origin[k]);
  }
  put_i32(h.data(), 4, mode);
  put_f32(h.data(), 20, s.min);
  put_f32(h.data(), 21, s.max);
  put_f32(h.data(), 22, float(s.mean));
  put_i32(h.data(), 23, v.nz > 1 ? 1 : 0);  // 1: a single volume, 0: an image
  put_i32(h.data(), 28, 20140);
  std::memcpy(h.data() + 208, "MAP ", 4);
  h[212] = 0x44, h[213] = 0x44;
  put_f32(h.data(), 55, float(s.rms));
  put_i32(h.data(), 56, 1);
  std::string label = "phenoscale";
  label.resize(kLabelBytes, ' ');
  std::memcpy(h.data() + 224, label.data(), kLabelBytes);
  return h;
}

void encode(const float* src, std::size_t n, int mode, unsigned char* dst) {
  if (mode == 12)
    for (std::size_t k = 0; k < n; ++k) store_u16(dst + 2 * k, float_to_half(src[k]));
  else
    for (std::size_t k = 0; k < n; ++k) store_u32(dst + 4 * k, float_to_bits(src[k]));
}

void write_data(std::FILE* f, const MrcVolume& v, int mode, const std::string& path) {
  const std::size_t bpv = mode == 12 ? 2 : 4;
  const std::size_t total = v.data.size();
  std::vector<unsigned char> buffer(std::min(total, kChunkVoxels) * bpv);
  for (std::size_t done = 0; done < total;) {
    std::size_t n = std::min(total - done, kChunkVoxels);
    encode(v.data.data() + done, n, mode, buffer.data());
    write_all(f, buffer.data(), n * bpv, path);
    done += n;
  }
}

}  // namespace

// --- half precision ------------------------------------------------------------

float half_to_float(std::uint16_t h) {
  std::uint32_t sign = std::uint32_t(h & 0x8000) << 16;
  std::uint32_t exp = (h >> 10) & 0x1f;
  std::uint32_t mant = h & 0x3ff;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
    float f = std::ldexp(float(mant), -24);
    return sign ? -f : f;
  }
  if (exp == 31) return bits_to_float(sign | 0x7f800000u | (mant << 13));  // Inf or NaN (payload kept)
  return bits_to_float(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

std::uint16_t float_to_half(float f) {
  const std::uint32_t x = float_to_bits(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u)  // Inf stays Inf; NaN stays a (quiet) NaN
    return static_cast<std::uint16_t>(sign | 0x7c00u |
                                      (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0u));
  if (a >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to Inf
  if (a >= 0x38800000u) {  // normal half: rebias and round the 13 dropped bits to nearest even
    std::uint32_t h = ((((a >> 23) - 127 + 15) << 10) | ((a & 0x7fffffu) >> 13));
    std::uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is correct
    return static_cast<std::uint16_t>(sign | h);
  }
  if (a <= 0x33000000u) return static_cast<std::uint16_t>(sign);  // <= 2^-25 rounds (to even) to zero
  // Subnormal half: value / 2^-24, rounded to nearest even.
  const std::uint32_t mant = (a & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126u - (a >> 23);
  std::uint32_t h = mant >> shift;
  const std::uint32_t rem = mant & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1u);
  if (rem > halfway || (rem == halfway && (h & 1u))) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

// --- public API --------------------------------------------------------------------

MrcHeader read_mrc_header(const std::string& path) { return open_mrc(path).header; }

MrcVolume read_mrc(const std::string& path) {
  OpenMrc m = open_mrc(path);
  const MrcHeader& h = m.header;
  MrcVolume v;
  v.nx = h.nx, v.ny = h.ny, v.nz = h.nz;
  v.mode_on_disk = h.mode;
  for (int k = 0; k < 3; ++k) {
    v.voxel_size_angstrom[k] = h.voxel_size_angstrom[k];
    v.origin[k] = h.origin[k];
  }
  v.data.resize(v.voxel_count());
  read_data(m, path, v.data);
  check_finite(v, path);
  return v;
}

void write_mrc(const std::string& path, const MrcVolume& v, int mode) {
  check_writable(v, mode, path);
  const Stats stats = stored_stats(v, mode, path);
  const std::vector<unsigned char> header = build_header(v, mode, stats);
  AtomicFile out(path);
  UniqueFile f = open_output(out);
  write_all(f.get(), header.data(), header.size(), path);
  write_data(f.get(), v, mode, path);
  close_output(f, path);
  out.commit();
}

}  // namespace phenoscale::io
