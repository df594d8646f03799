// MRC volumes: cryo-ET tomograms, subtomograms and density maps.
//
// The subtomogram pipeline reads tomograms and particle boxes written by
// IMOD, RELION, Warp or mrcfile and writes averages and maps back for
// ChimeraX. We follow MRC2014 (https://www.ccpem.ac.uk/mrc_format/mrc2014.php)
// and read the older variants still found in archives (no 'MAP ' tag,
// big-endian files, IMOD's unsigned bytes). Every header is checked before
// any data is trusted, because a wrong mode or size silently turns a
// tomogram into noise of the right shape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace phenoscale::io {

// A volume in memory: always float32, x fastest, then y, then z.
struct MrcVolume {
  int nx = 0, ny = 0, nz = 0;
  std::vector<float> data;
  // Ångström per voxel along x, y, z; 0 when the file does not say.
  double voxel_size_angstrom[3] = {0.0, 0.0, 0.0};
  // The mode the data had on disk (0, 1, 2, 6 or 12) — informational.
  int mode_on_disk = 2;
  // MRC2014 origin (words 50–52), in Ångström.
  float origin[3] = {0.0f, 0.0f, 0.0f};

  std::size_t voxel_count() const {
    return static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny) * static_cast<std::size_t>(nz);
  }
  float& at(int x, int y, int z) { return data[index(x, y, z)]; }
  float at(int x, int y, int z) const { return data[index(x, y, z)]; }
  std::size_t index(int x, int y, int z) const {
    return (static_cast<std::size_t>(z) * static_cast<std::size_t>(ny) + static_cast<std::size_t>(y)) *
               static_cast<std::size_t>(nx) +
           static_cast<std::size_t>(x);
  }
};

// The decoded 1024-byte main header, for inspection without reading data.
struct MrcHeader {
  int nx = 0, ny = 0, nz = 0;
  int mode = 0;
  int nxstart = 0, nystart = 0, nzstart = 0;
  int mx = 0, my = 0, mz = 0;
  float cella[3] = {0, 0, 0};  // cell size in Ångström
  float cellb[3] = {0, 0, 0};  // cell angles in degrees
  int mapc = 1, mapr = 2, maps = 3;
  float dmin = 0, dmax = 0, dmean = 0, rms = 0;
  int ispg = 0;
  int nsymbt = 0;      // extended header bytes after the main header
  std::string exttyp;  // e.g. "FEI1", "SERI"; empty if unset
  int nversion = 0;    // 20140 for MRC2014 files
  float origin[3] = {0, 0, 0};
  bool has_map_tag = false;    // 'MAP ' at byte 208 (absent in pre-2000 files)
  bool big_endian = false;     // from the machine stamp or, failing that, the header values
  bool int8_unsigned = false;  // mode 0 written unsigned by old IMOD
  std::vector<std::string> labels;

  // Derived values.
  double voxel_size_angstrom[3] = {0, 0, 0};
  std::size_t bytes_per_voxel = 0;
  std::uint64_t data_offset = 0;  // 1024 + nsymbt
  std::uint64_t data_bytes = 0;   // nx*ny*nz*bytes_per_voxel
  std::uint64_t file_bytes = 0;
};

// Reads and validates the header (mode, dimensions, axis order, file size).
// Throws InputError naming the file, what was expected and what was found.
MrcHeader read_mrc_header(const std::string& path);

// Reads a volume of mode 0 (int8), 1 (int16), 2 (float32), 6 (uint16) or
// 12 (float16) and converts it to float32. NaN/Inf voxels are an InputError
// naming the first bad voxel.
MrcVolume read_mrc(const std::string& path);

// Writes `v` as mode 2 (float32) or 12 (float16) with a complete MRC2014
// header (statistics, 'MAP ', little-endian stamp, label "phenoscale").
// Atomic: the final name appears only once the file is complete. Mode 12
// rejects values outside ±65504 rather than writing infinities.
void write_mrc(const std::string& path, const MrcVolume& v, int mode = 2);

// IEEE 754 binary16 conversions (mode 12); round to nearest even.
float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);

}  // namespace phenoscale::io
