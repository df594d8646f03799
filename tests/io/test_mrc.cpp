// MRC reading and writing against hand-built files with known bytes, and the
// atomic-write guarantees every serial writer relies on.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/atomic_file.hpp"
#include "phenoscale/io/mrc.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using phenoscale::InputError;
using phenoscale::IoError;
using namespace phenoscale::io;

namespace {

using MrcTest = phenoscale::testing::TempDirTest;

// A 1024-byte MRC header built word by word (words numbered from 1 as in the
// MRC2014 table), little-endian unless `big` is set.
struct HeaderBytes {
  std::vector<unsigned char> bytes = std::vector<unsigned char>(1024, 0);
  bool big = false;

  void word(int w, std::uint32_t v) {
    unsigned char* p = bytes.data() + 4 * (w - 1);
    for (int k = 0; k < 4; ++k) p[big ? 3 - k : k] = static_cast<unsigned char>(v >> (8 * k));
  }
  void fword(int w, float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    word(w, u);
  }
  static HeaderBytes standard(int nx, int ny, int nz, int mode, bool big_endian = false) {
    HeaderBytes h;
    h.big = big_endian;
    h.word(1, nx), h.word(2, ny), h.word(3, nz), h.word(4, mode);
    h.word(8, nx), h.word(9, ny), h.word(10, nz);
    h.fword(11, float(nx)), h.fword(12, float(ny)), h.fword(13, float(nz));
    h.word(17, 1), h.word(18, 2), h.word(19, 3);
    std::memcpy(h.bytes.data() + 208, "MAP ", 4);
    h.bytes[212] = big_endian ? 0x11 : 0x44;
    h.bytes[213] = big_endian ? 0x11 : 0x44;
    return h;
  }
};

void write_bytes(const std::string& path, const std::vector<unsigned char>& header,
                 const std::vector<unsigned char>& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(header.data()), std::streamsize(header.size()));
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

std::vector<unsigned char> le16(const std::vector<int>& values) {
  std::vector<unsigned char> out;
  for (int v : values) {
    auto u = static_cast<std::uint16_t>(v);
    out.push_back(static_cast<unsigned char>(u & 0xff));
    out.push_back(static_cast<unsigned char>(u >> 8));
  }
  return out;
}

std::vector<unsigned char> f32(const std::vector<float>& values, bool big = false) {
  std::vector<unsigned char> out;
  for (float f : values) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int k = 0; k < 4; ++k) out.push_back(static_cast<unsigned char>(u >> (8 * (big ? 3 - k : k))));
  }
  return out;
}

// Expects `fn` to throw E and returns its message.
using phenoscale::testing::message_of;

MrcVolume ramp(int nx, int ny, int nz) {
  MrcVolume v;
  v.nx = nx, v.ny = ny, v.nz = nz;
  v.data.resize(v.voxel_count());
  for (std::size_t k = 0; k < v.data.size(); ++k) v.data[k] = std::sin(0.37f * float(k)) * 100.0f - 3.25f;
  return v;
}

// --- half precision ------------------------------------------------------------

TEST(HalfFloat, KnownEncodings) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65519.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);  // ties to even: Inf
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);  // tie to even: zero
  EXPECT_EQ(float_to_half(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(float_to_half(std::ldexp(1.5f, -24)), 0x0002);  // subnormal ties go to even
  EXPECT_EQ(float_to_half(std::ldexp(2.5f, -24)), 0x0002);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -14)), 0x0400);         // smallest normal
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie, rounds down to even
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(half_to_float(0xfc00)) && half_to_float(0xfc00) < 0);
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::nanf("")))));
}

TEST(HalfFloat, EveryHalfSurvivesARoundTrip) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaN payloads need not survive
    ASSERT_EQ(float_to_half(half_to_float(static_cast<std::uint16_t>(h))), h) << std::hex << h;
  }
}

// --- round trips -------------------------------------------------------------------

TEST_F(MrcTest, Float32RoundTripIsExactAndHeaderIsComplete) {
  MrcVolume v = ramp(5, 4, 3);
  v.voxel_size_angstrom[0] = 1.5, v.voxel_size_angstrom[1] = 2.0, v.voxel_size_angstrom[2] = 2.5;
  v.origin[0] = 10.f, v.origin[1] = -4.f, v.origin[2] = 0.5f;
  write_mrc(file("v.mrc"), v);

  MrcVolume r = read_mrc(file("v.mrc"));
  EXPECT_EQ(r.nx, 5);
  EXPECT_EQ(r.ny, 4);
  EXPECT_EQ(r.nz, 3);
  EXPECT_EQ(r.mode_on_disk, 2);
  EXPECT_EQ(r.data, v.data);
  EXPECT_DOUBLE_EQ(r.voxel_size_angstrom[0], 1.5);
  EXPECT_DOUBLE_EQ(r.voxel_size_angstrom[1], 2.0);
  EXPECT_DOUBLE_EQ(r.voxel_size_angstrom[2], 2.5);
  EXPECT_EQ(r.origin[0], 10.f);
  EXPECT_EQ(r.origin[1], -4.f);
  EXPECT_EQ(r.origin[2], 0.5f);
  EXPECT_EQ(fs::file_size(file("v.mrc")), 1024u + 60u * 4u);

  MrcHeader h = read_mrc_header(file("v.mrc"));
  EXPECT_TRUE(h.has_map_tag);
  EXPECT_FALSE(h.big_endian);
  EXPECT_EQ(h.nversion, 20140);
  EXPECT_EQ(h.mx, 5);
  EXPECT_FLOAT_EQ(h.cella[0], 7.5f);
  EXPECT_FLOAT_EQ(h.cellb[2], 90.f);
  EXPECT_EQ(h.mapc * 100 + h.mapr * 10 + h.maps, 123);
  EXPECT_EQ(h.nsymbt, 0);
  ASSERT_EQ(h.labels.size(), 1u);
  EXPECT_EQ(h.labels[0], "phenoscale");
  double sum = 0, ss = 0;
  for (float f : v.data) sum += f;
  double mean = sum / double(v.data.size());
  for (float f : v.data) ss += (f - mean) * (f - mean);
  EXPECT_EQ(h.dmin, *std::min_element(v.data.begin(), v.data.end()));
  EXPECT_EQ(h.dmax, *std::max_element(v.data.begin(), v.data.end()));
  EXPECT_NEAR(h.dmean, mean, 1e-4);
  EXPECT_NEAR(h.rms, std::sqrt(ss / double(v.data.size())), 1e-3);
}

TEST_F(MrcTest, Float16RoundTripWithinHalfPrecision) {
  MrcVolume v = ramp(7, 3, 2);
  v.data[0] = 65504.f;
  v.data[1] = -1e-6f;  // subnormal in half
  write_mrc(file("h.mrc"), v, 12);
  EXPECT_EQ(fs::file_size(file("h.mrc")), 1024u + 42u * 2u);

  MrcVolume r = read_mrc(file("h.mrc"));
  EXPECT_EQ(r.mode_on_disk, 12);
  ASSERT_EQ(r.data.size(), v.data.size());
  for (std::size_t k = 0; k < v.data.size(); ++k)
    EXPECT_NEAR(r.data[k], v.data[k], std::abs(v.data[k]) * std::ldexp(1.0, -11) + std::ldexp(1.0, -25)) << k;
  EXPECT_EQ(r.data[0], 65504.f);
  EXPECT_EQ(read_mrc_header(file("h.mrc")).dmax, 65504.f);
}

TEST_F(MrcTest, Float16RejectsValuesBeyondItsRange) {
  MrcVolume v = ramp(4, 4, 4);
  v.at(1, 2, 3) = 1e6f;
  std::string msg = message_of<IoError>([&] { write_mrc(file("big.mrc"), v, 12); });
  EXPECT_NE(msg.find(file("big.mrc")), std::string::npos) << msg;
  EXPECT_NE(msg.find("voxel (x=1, y=2, z=3)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("65504"), std::string::npos) << msg;
  EXPECT_TRUE(entries().empty());
}

TEST_F(MrcTest, WriteRejectsUnsupportedModeAndWrongDataSize) {
  MrcVolume v = ramp(2, 2, 2);
  EXPECT_NE(message_of<IoError>([&] { write_mrc(file("a.mrc"), v, 1); }).find("mode 1"), std::string::npos);
  v.data.pop_back();
  EXPECT_NE(message_of<IoError>([&] { write_mrc(file("a.mrc"), v); }).find("holds 7 values"),
            std::string::npos);
  EXPECT_TRUE(entries().empty());
}

// --- hand-built files -----------------------------------------------------------------

TEST_F(MrcTest, Mode0IsSignedInt8) {
  write_bytes(file("m0.mrc"), HeaderBytes::standard(3, 2, 1, 0).bytes, {0x00, 0x7f, 0x80, 0xff, 0x01, 0xfe});
  MrcVolume r = read_mrc(file("m0.mrc"));
  EXPECT_EQ(r.mode_on_disk, 0);
  EXPECT_EQ(r.data, (std::vector<float>{0, 127, -128, -1, 1, -2}));
}

TEST_F(MrcTest, Mode0FromOldImodIsUnsigned) {
  HeaderBytes h = HeaderBytes::standard(3, 2, 1, 0);
  h.word(39, 1146047817);  // IMOD stamp, flags bit 0 clear: bytes stored unsigned
  h.word(40, 0);
  write_bytes(file("imod.mrc"), h.bytes, {0x00, 0x7f, 0x80, 0xff, 0x01, 0xfe});
  EXPECT_EQ(read_mrc(file("imod.mrc")).data, (std::vector<float>{0, 127, 128, 255, 1, 254}));
  h.word(40, 1);  // signed flag set
  write_bytes(file("imod.mrc"), h.bytes, {0x00, 0x7f, 0x80, 0xff, 0x01, 0xfe});
  EXPECT_EQ(read_mrc(file("imod.mrc")).data, (std::vector<float>{0, 127, -128, -1, 1, -2}));
}

TEST_F(MrcTest, Mode1IsSignedInt16) {
  write_bytes(file("m1.mrc"), HeaderBytes::standard(2, 3, 1, 1).bytes, le16({-32768, -1, 0, 1, 32767, 1234}));
  EXPECT_EQ(read_mrc(file("m1.mrc")).data, (std::vector<float>{-32768, -1, 0, 1, 32767, 1234}));
}

TEST_F(MrcTest, Mode6IsUnsignedInt16) {
  write_bytes(file("m6.mrc"), HeaderBytes::standard(1, 2, 3, 6).bytes, le16({0, 65535, 40000, 1, 32768, 7}));
  EXPECT_EQ(read_mrc(file("m6.mrc")).data, (std::vector<float>{0, 65535, 40000, 1, 32768, 7}));
}

TEST_F(MrcTest, BigEndianFilesAreSwapped) {
  HeaderBytes h = HeaderBytes::standard(2, 2, 1, 2, /*big_endian=*/true);
  write_bytes(file("be.mrc"), h.bytes, f32({1.5f, -2.f, 1e30f, 0.f}, /*big=*/true));
  MrcVolume r = read_mrc(file("be.mrc"));
  EXPECT_TRUE(read_mrc_header(file("be.mrc")).big_endian);
  EXPECT_EQ(r.nx, 2);
  EXPECT_EQ(r.data, (std::vector<float>{1.5f, -2.f, 1e30f, 0.f}));

  HeaderBytes h1 = HeaderBytes::standard(3, 1, 1, 1, true);
  write_bytes(file("be1.mrc"), h1.bytes, {0x80, 0x00, 0xff, 0xfe, 0x01, 0x02});
  EXPECT_EQ(read_mrc(file("be1.mrc")).data, (std::vector<float>{-32768, -2, 258}));
}

TEST_F(MrcTest, OldFilesWithoutStampOrMapTagAreRead) {
  HeaderBytes h = HeaderBytes::standard(2, 1, 1, 2, true);
  std::memset(h.bytes.data() + 208, 0, 8);  // no 'MAP ', no stamp: byte order from plausibility
  write_bytes(file("old.mrc"), h.bytes, f32({3.f, 4.f}, true));
  EXPECT_EQ(read_mrc(file("old.mrc")).data, (std::vector<float>{3.f, 4.f}));
  EXPECT_FALSE(read_mrc_header(file("old.mrc")).has_map_tag);
}

TEST_F(MrcTest, VoxelSizeIsCellaOverMx) {
  HeaderBytes h = HeaderBytes::standard(4, 6, 2, 2);
  h.word(8, 2), h.word(9, 3), h.word(10, 0);  // mz = 0: fall back to nz
  h.fword(11, 10.f), h.fword(12, 4.5f), h.fword(13, 7.f);
  write_bytes(file("vs.mrc"), h.bytes, f32(std::vector<float>(48, 1.f)));
  MrcVolume r = read_mrc(file("vs.mrc"));
  EXPECT_DOUBLE_EQ(r.voxel_size_angstrom[0], 5.0);
  EXPECT_DOUBLE_EQ(r.voxel_size_angstrom[1], 1.5);
  EXPECT_DOUBLE_EQ(r.voxel_size_angstrom[2], 3.5);
}

TEST_F(MrcTest, ExtendedHeaderIsSkipped) {
  HeaderBytes h = HeaderBytes::standard(2, 1, 1, 2);
  h.word(24, 128);
  std::vector<unsigned char> data(128, 0xAB);
  auto values = f32({7.f, -8.f});
  data.insert(data.end(), values.begin(), values.end());
  write_bytes(file("ext.mrc"), h.bytes, data);
  EXPECT_EQ(read_mrc(file("ext.mrc")).data, (std::vector<float>{7.f, -8.f}));
  EXPECT_EQ(read_mrc_header(file("ext.mrc")).data_offset, 1152u);
}

TEST_F(MrcTest, TrailingBytesAreAccepted) {
  auto data = f32({1.f, 2.f});
  data.resize(data.size() + 100, 0);
  write_bytes(file("long.mrc"), HeaderBytes::standard(2, 1, 1, 2).bytes, data);
  EXPECT_EQ(read_mrc(file("long.mrc")).data, (std::vector<float>{1.f, 2.f}));
}

TEST_F(MrcTest, AllZeroAxisWordsMeanDefaultOrder) {
  HeaderBytes h = HeaderBytes::standard(2, 1, 1, 2);
  h.word(17, 0), h.word(18, 0), h.word(19, 0);
  write_bytes(file("zero_axes.mrc"), h.bytes, f32({1.f, 2.f}));
  EXPECT_EQ(read_mrc(file("zero_axes.mrc")).data, (std::vector<float>{1.f, 2.f}));
}

// --- corrupt files ---------------------------------------------------------------------

TEST_F(MrcTest, MissingFileNamesThePath) {
  std::string msg = message_of<InputError>([&] { read_mrc(file("nope.mrc")); });
  EXPECT_NE(msg.find(file("nope.mrc")), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
}

TEST_F(MrcTest, FileShorterThanHeader) {
  write_bytes(file("short.mrc"), std::vector<unsigned char>(500, 1), {});
  std::string msg = message_of<InputError>([&] { read_mrc_header(file("short.mrc")); });
  EXPECT_EQ(msg, file("short.mrc") +
                     ": file is 500 bytes, shorter than the 1024-byte MRC header (not an MRC file?)");
}

TEST_F(MrcTest, UnsupportedModeIsNamed) {
  write_bytes(file("m3.mrc"), HeaderBytes::standard(2, 2, 2, 3).bytes, std::vector<unsigned char>(32, 0));
  std::string msg = message_of<InputError>([&] { read_mrc(file("m3.mrc")); });
  EXPECT_NE(msg.find(file("m3.mrc")), std::string::npos) << msg;
  EXPECT_NE(msg.find("mode 3 (complex int16) is not supported"), std::string::npos) << msg;

  write_bytes(file("m7.mrc"), HeaderBytes::standard(2, 2, 2, 7).bytes, std::vector<unsigned char>(32, 0));
  msg = message_of<InputError>([&] { read_mrc(file("m7.mrc")); });
  EXPECT_NE(msg.find("mode 7 (unknown)"), std::string::npos) << msg;
}

TEST_F(MrcTest, NonPositiveDimensionsAreRejected) {
  write_bytes(file("neg.mrc"), HeaderBytes::standard(4, -5, 2, 2).bytes, std::vector<unsigned char>(64, 0));
  std::string msg = message_of<InputError>([&] { read_mrc(file("neg.mrc")); });
  EXPECT_NE(msg.find(file("neg.mrc")), std::string::npos) << msg;
  EXPECT_NE(msg.find("nx=4, ny=-5, nz=2"), std::string::npos) << msg;
}

TEST_F(MrcTest, GarbageHeaderIsRejected) {
  std::vector<unsigned char> junk(2048);
  for (std::size_t k = 0; k < junk.size(); ++k) junk[k] = static_cast<unsigned char>(k * 131 + 7);
  write_bytes(file("junk.mrc"), junk, {});
  EXPECT_THROW(read_mrc(file("junk.mrc")), InputError);
}

TEST_F(MrcTest, DataShorterThanHeaderClaims) {
  write_bytes(file("tomo.mrc"), HeaderBytes::standard(64, 64, 64, 2).bytes,
              std::vector<unsigned char>(1024, 0));
  std::string msg = message_of<InputError>([&] { read_mrc(file("tomo.mrc")); });
  EXPECT_EQ(msg, file("tomo.mrc") +
                     ": MRC header says 64x64x64 voxels of mode 2 (1048576 bytes) but the file holds 1024 "
                     "bytes of data");
}

TEST_F(MrcTest, NegativeOrTruncatedExtendedHeader) {
  HeaderBytes h = HeaderBytes::standard(1, 1, 1, 2);
  h.word(24, static_cast<std::uint32_t>(-4));
  write_bytes(file("negext.mrc"), h.bytes, f32({1.f}));
  EXPECT_NE(message_of<InputError>([&] { read_mrc(file("negext.mrc")); }).find("extended header is -4 bytes"),
            std::string::npos);
  h.word(24, 4096);
  write_bytes(file("shortext.mrc"), h.bytes, f32({1.f}));
  EXPECT_NE(message_of<InputError>([&] {
              read_mrc(file("shortext.mrc"));
            }).find("4096-byte extended header follows the main header but the file ends 4 bytes after it"),
            std::string::npos);
}

TEST_F(MrcTest, AxisOrderOtherThanXyzIsRefused) {
  HeaderBytes h = HeaderBytes::standard(2, 1, 1, 2);
  h.word(17, 3), h.word(18, 2), h.word(19, 1);
  write_bytes(file("zyx.mrc"), h.bytes, f32({1.f, 2.f}));
  std::string msg = message_of<InputError>([&] { read_mrc(file("zyx.mrc")); });
  EXPECT_NE(msg.find("mapc/mapr/maps = 3,2,1 is not supported"), std::string::npos) << msg;
  h.word(17, 1), h.word(18, 1), h.word(19, 2);
  write_bytes(file("bad_axes.mrc"), h.bytes, f32({1.f, 2.f}));
  msg = message_of<InputError>([&] { read_mrc(file("bad_axes.mrc")); });
  EXPECT_NE(msg.find("1,1,2 is not a permutation of 1,2,3"), std::string::npos) << msg;
}

TEST_F(MrcTest, NonFiniteVoxelIsNamed) {
  std::vector<float> values(3 * 2 * 2, 1.f);
  values[1 * 3 + 2] = std::nanf("");  // x=2, y=1, z=0
  write_bytes(file("nan.mrc"), HeaderBytes::standard(3, 2, 2, 2).bytes, f32(values));
  std::string msg = message_of<InputError>([&] { read_mrc(file("nan.mrc")); });
  EXPECT_EQ(msg, file("nan.mrc") + ": voxel (x=2, y=1, z=0) is NaN; expected finite values (mode 2)");

  values[1 * 3 + 2] = 1.f;
  values[6 + 3 + 1] = -INFINITY;  // x=1, y=1, z=1
  write_bytes(file("inf.mrc"), HeaderBytes::standard(3, 2, 2, 2).bytes, f32(values));
  msg = message_of<InputError>([&] { read_mrc(file("inf.mrc")); });
  EXPECT_NE(msg.find("voxel (x=1, y=1, z=1) is infinite"), std::string::npos) << msg;
}

// --- atomic writes ---------------------------------------------------------------------------

TEST_F(MrcTest, WriteLeavesNoTemporaryBehind) {
  write_mrc(file("v.mrc"), ramp(3, 3, 3));
  EXPECT_EQ(entries(), std::vector<std::string>{"v.mrc"});
}

TEST_F(MrcTest, FailedWriteKeepsThePreviousFile) {
  write_mrc(file("v.mrc"), ramp(3, 3, 3));
  MrcVolume bad = ramp(2, 2, 2);
  bad.data[5] = std::nanf("");
  EXPECT_THROW(write_mrc(file("v.mrc"), bad), IoError);
  EXPECT_EQ(entries(), std::vector<std::string>{"v.mrc"});
  EXPECT_EQ(read_mrc(file("v.mrc")).nx, 3);
}

TEST_F(MrcTest, AtomicFileCommitRenames) {
  std::string temp;
  {
    AtomicFile f(file("out.dat"));
    temp = f.path();
    EXPECT_EQ(fs::path(temp).parent_path(), dir_);
    EXPECT_EQ(temp.rfind(file("out.dat.tmp."), 0), 0u) << temp;
    std::ofstream(f.path()) << "hello";
    EXPECT_FALSE(fs::exists(file("out.dat")));
    f.commit();
    EXPECT_TRUE(f.committed());
  }
  EXPECT_FALSE(fs::exists(temp));
  std::ifstream in(file("out.dat"));
  std::string content;
  in >> content;
  EXPECT_EQ(content, "hello");
}

TEST_F(MrcTest, AtomicFileExceptionMidWriteLeavesNothing) {
  try {
    AtomicFile f(file("out.dat"));
    UniqueFile out = open_output(f.path());
    write_all(out.get(), "partial", 7, f.final_path());
    throw std::runtime_error("simulated failure mid-write");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(entries().empty());
}

TEST_F(MrcTest, AtomicFileTemporaryNamesAreDistinct) {
  AtomicFile a(file("x")), b(file("x"));
  EXPECT_NE(a.path(), b.path());
}

TEST_F(MrcTest, AtomicFileNonOwnerNeitherRenamesNorRemoves) {
  AtomicFile owner(file("shared.h5"));
  std::ofstream(owner.path()) << "data";
  {
    AtomicFile other(file("shared.h5"), owner.path(), /*owner=*/false);
    EXPECT_EQ(other.path(), owner.path());
    other.commit();
  }
  EXPECT_TRUE(fs::exists(owner.path()));
  EXPECT_FALSE(fs::exists(file("shared.h5")));
  owner.commit();
  EXPECT_TRUE(fs::exists(file("shared.h5")));
}

TEST_F(MrcTest, AtomicFileCommitFailureIsAnIoError) {
  AtomicFile f(file("never_written.dat"));
  std::string msg = message_of<IoError>([&] { f.commit(); });
  EXPECT_NE(msg.find(f.path()), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
}

}  // namespace
