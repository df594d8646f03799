// TIFF stack round trips, and reading of files built directly with libtiff in
// layouts our writer never produces (tiles, big-endian, mixed pages, RGB).
#include <gtest/gtest.h>
#include <tiffio.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/tiff.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using phenoscale::InputError;
using phenoscale::IoError;
using namespace phenoscale::io;

namespace {

using TiffTest = phenoscale::testing::TempDirTest;

using phenoscale::testing::message_of;

ImageStack stack_of(int frames, int height, int width, float (*value)(int, int, int)) {
  ImageStack s;
  s.frames = frames, s.height = height, s.width = width;
  s.data.resize(s.pixel_count());
  for (int f = 0; f < frames; ++f)
    for (int r = 0; r < height; ++r)
      for (int c = 0; c < width; ++c) s.at(f, r, c) = value(f, r, c);
  return s;
}

// --- files built with libtiff directly -------------------------------------------------

struct RawPage {
  std::uint32_t width, height;
  std::uint16_t bits = 16, format = SAMPLEFORMAT_UINT, channels = 1;
  std::vector<unsigned char> bytes;  // host byte order, row-major, channels interleaved
  std::uint32_t tile = 0;            // tile edge; 0 = one strip
  std::string description;
  int photometric = -1;  // -1: RGB for 3 channels, else black is zero
};

template <typename T>
RawPage page_of(std::uint32_t width, std::uint32_t height, const std::vector<T>& values,
                std::uint16_t format) {
  RawPage p{width, height, static_cast<std::uint16_t>(8 * sizeof(T)), format, 1, {}, 0, ""};
  p.bytes.resize(values.size() * sizeof(T));
  std::memcpy(p.bytes.data(), values.data(), p.bytes.size());
  return p;
}

void write_tiles(TIFF* tif, const RawPage& p) {
  const std::size_t pixel = p.bits / 8 * p.channels;
  std::vector<unsigned char> tile(std::size_t(p.tile) * p.tile * pixel);
  for (std::uint32_t ty = 0; ty < p.height; ty += p.tile)
    for (std::uint32_t tx = 0; tx < p.width; tx += p.tile) {
      std::fill(tile.begin(), tile.end(), 0xEE);  // padding must not leak into the image
      for (std::uint32_t r = 0; r < p.tile && ty + r < p.height; ++r)
        for (std::uint32_t c = 0; c < p.tile && tx + c < p.width; ++c)
          std::memcpy(&tile[(std::size_t(r) * p.tile + c) * pixel],
                      &p.bytes[(std::size_t(ty + r) * p.width + tx + c) * pixel], pixel);
      ASSERT_GE(TIFFWriteTile(tif, tile.data(), tx, ty, 0, 0), 0);
    }
}

void write_raw_tiff(const std::string& path, const std::vector<RawPage>& pages, const char* mode = "w") {
  std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFOpen(path.c_str(), mode), TIFFClose);
  ASSERT_TRUE(tif);
  for (const RawPage& p : pages) {
    TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, p.width);
    TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, p.height);
    TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, p.bits);
    TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, p.channels);
    TIFFSetField(tif.get(), TIFFTAG_SAMPLEFORMAT, p.format);
    TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC,
                 p.photometric >= 0 ? p.photometric : p.channels == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    if (p.photometric == PHOTOMETRIC_PALETTE) {  // a grey ramp as the colour map
      std::vector<std::uint16_t> map(std::size_t(1) << p.bits);
      for (std::size_t k = 0; k < map.size(); ++k) map[k] = static_cast<std::uint16_t>(k * 257);
      TIFFSetField(tif.get(), TIFFTAG_COLORMAP, map.data(), map.data(), map.data());
    }
    TIFFSetField(tif.get(), TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    if (!p.description.empty()) TIFFSetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, p.description.c_str());
    if (p.tile) {
      TIFFSetField(tif.get(), TIFFTAG_TILEWIDTH, p.tile);
      TIFFSetField(tif.get(), TIFFTAG_TILELENGTH, p.tile);
      write_tiles(tif.get(), p);
    } else {
      TIFFSetField(tif.get(), TIFFTAG_ROWSPERSTRIP, p.height);
      std::vector<unsigned char> copy = p.bytes;  // libtiff may swap the buffer in place
      ASSERT_GE(TIFFWriteEncodedStrip(tif.get(), 0, copy.data(), tmsize_t(copy.size())), 0);
    }
    ASSERT_TRUE(TIFFWriteDirectory(tif.get()));
  }
}

std::vector<std::uint16_t> ramp16(std::size_t n, std::uint16_t start) {
  std::vector<std::uint16_t> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = static_cast<std::uint16_t>(start + 977 * k);
  return v;
}

std::vector<float> as_float(const std::vector<std::uint16_t>& v) {
  return std::vector<float>(v.begin(), v.end());
}

// --- round trips ---------------------------------------------------------------------------

float value16(int f, int r, int c) { return float((f * 40503 + r * 1031 + c * 7) % 65536); }

TEST_F(TiffTest, Uint16StackRoundTripIsBitIdentical) {
  ImageStack s = stack_of(3, 5, 7, value16);
  s.at(0, 0, 0) = 0.f, s.at(2, 4, 6) = 65535.f;
  for (bool deflate : {false, true}) {
    write_tiff_stack(file("movie.tif"), s, 16, deflate);
    EXPECT_EQ(entries(), std::vector<std::string>{"movie.tif"});
    ImageStack r = read_tiff_stack(file("movie.tif"));
    EXPECT_EQ(r.frames, 3);
    EXPECT_EQ(r.height, 5);
    EXPECT_EQ(r.width, 7);
    EXPECT_EQ(r.bits_per_sample, 16);
    EXPECT_EQ(r.data, s.data) << "deflate=" << deflate;
  }
}

TEST_F(TiffTest, Uint8AndFloat32RoundTrips) {
  ImageStack s8 =
      stack_of(2, 16, 16, [](int f, int r, int c) { return float((f * 256 + r * 16 + c) % 256); });
  write_tiff_stack(file("u8.tif"), s8, 8);
  ImageStack r8 = read_tiff_stack(file("u8.tif"));
  EXPECT_EQ(r8.bits_per_sample, 8);
  EXPECT_EQ(r8.data, s8.data);

  ImageStack sf = stack_of(
      4, 3, 9, [](int f, int r, int c) { return std::sin(float(f * 27 + r * 9 + c)) * 1e3f - 0.1f; });
  sf.at(1, 1, 1) = 1e-30f, sf.at(3, 2, 8) = -3e38f;
  for (bool deflate : {false, true}) {
    write_tiff_stack(file("f32.tif"), sf, 32, deflate);
    ImageStack rf = read_tiff_stack(file("f32.tif"));
    EXPECT_EQ(rf.bits_per_sample, 32);
    EXPECT_EQ(rf.frames, 4);
    EXPECT_EQ(rf.data, sf.data) << "deflate=" << deflate;
  }
}

TEST_F(TiffTest, IntegerWritesRoundToNearest) {
  ImageStack s = stack_of(1, 1, 4, [](int, int, int c) {
    return std::vector<float>{2.4f, 2.6f, -0.4f, 254.5f}[c];
  });
  write_tiff_stack(file("round.tif"), s, 8);
  EXPECT_EQ(read_tiff_stack(file("round.tif")).data, (std::vector<float>{2, 3, 0, 255}));
}

TEST_F(TiffTest, WriterWritesOnePlainPagePerFrame) {
  write_tiff_stack(file("pages.tif"), stack_of(3, 2, 2, value16), 16, true);
  std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFOpen(file("pages.tif").c_str(), "r"), TIFFClose);
  ASSERT_TRUE(tif);
  EXPECT_EQ(TIFFNumberOfDirectories(tif.get()), 3u);
  std::uint16_t compression = 0;
  TIFFGetField(tif.get(), TIFFTAG_COMPRESSION, &compression);
  EXPECT_EQ(compression, COMPRESSION_ADOBE_DEFLATE);
  // An ImageJ description would make ImageJ and tifffile read the pages as
  // one contiguous block, which libtiff's layout is not.
  char* desc = nullptr;
  EXPECT_FALSE(TIFFGetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, &desc));
}

// --- atomic writes ----------------------------------------------------------------------------

TEST_F(TiffTest, ValueOutOfRangeMidWriteLeavesNothingBehind) {
  ImageStack s = stack_of(3, 4, 5, [](int, int, int) { return 100.f; });
  s.at(2, 3, 1) = 70000.f;  // the last frame: two pages are already written when it fails
  std::string msg = message_of<IoError>([&] { write_tiff_stack(file("out.tif"), s, 16); });
  EXPECT_EQ(msg, file("out.tif") +
                     ": cannot write frame 2, pixel (row 3, column 1) = 70000 as 16-bit unsigned "
                     "integer; expected 0..65535 (write 32-bit float instead)");
  EXPECT_TRUE(entries().empty());

  write_tiff_stack(file("out.tif"), stack_of(1, 1, 1, [](int, int, int) { return 9.f; }), 8);
  EXPECT_THROW(write_tiff_stack(file("out.tif"), s, 16), IoError);
  EXPECT_EQ(entries(), std::vector<std::string>{"out.tif"});
  EXPECT_EQ(read_tiff_stack(file("out.tif")).data, std::vector<float>{9.f});
}

TEST_F(TiffTest, WriterRefusesBadArguments) {
  ImageStack s = stack_of(1, 2, 2, value16);
  EXPECT_NE(message_of<IoError>([&] { write_tiff_stack(file("x.tif"), s, 12); }).find("12-bit"),
            std::string::npos);
  s.at(0, 1, 1) = NAN;
  EXPECT_NE(
      message_of<IoError>([&] { write_tiff_stack(file("x.tif"), s, 32); }).find("expected finite values"),
      std::string::npos);
  s.data.pop_back();
  EXPECT_THROW(write_tiff_stack(file("x.tif"), s, 16), IoError);
  EXPECT_TRUE(entries().empty());
}

// --- layouts from other writers ------------------------------------------------------------------

TEST_F(TiffTest, TiledPagesAreReassembled) {
  auto v0 = ramp16(37 * 21, 5), v1 = ramp16(37 * 21, 40000);
  RawPage p0 = page_of(37, 21, v0, SAMPLEFORMAT_UINT), p1 = page_of(37, 21, v1, SAMPLEFORMAT_UINT);
  p0.tile = p1.tile = 16;
  write_raw_tiff(file("tiled.tif"), {p0, p1});
  ImageStack r = read_tiff_stack(file("tiled.tif"));
  ASSERT_EQ(r.frames, 2);
  std::vector<float> expected = as_float(v0);
  auto second = as_float(v1);
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(r.data, expected);
}

TEST_F(TiffTest, BigEndianFilesAreSwapped) {
  auto v = ramp16(6 * 4, 300);
  write_raw_tiff(file("mm.tif"), {page_of(6, 4, v, SAMPLEFORMAT_UINT)}, "wb");
  std::ifstream in(file("mm.tif"), std::ios::binary);
  char magic[2];
  in.read(magic, 2);
  ASSERT_EQ(std::string(magic, 2), "MM");
  EXPECT_EQ(read_tiff_stack(file("mm.tif")).data, as_float(v));
}

TEST_F(TiffTest, PagesOfDifferentSizesAreRefused) {
  write_raw_tiff(file("mixed.tif"), {page_of(16, 8, ramp16(128, 0), SAMPLEFORMAT_UINT),
                                     page_of(16, 8, ramp16(128, 1), SAMPLEFORMAT_UINT),
                                     page_of(16, 9, ramp16(144, 2), SAMPLEFORMAT_UINT)});
  EXPECT_EQ(message_of<InputError>([&] { read_tiff_stack(file("mixed.tif")); }),
            file("mixed.tif") +
                ": page 2 is 16x9 pixels (width x height) but page 0 is 16x8; expected all pages "
                "the same size");
}

TEST_F(TiffTest, PagesOfDifferentSampleTypesAreRefused) {
  write_raw_tiff(file("types.tif"), {page_of(2, 2, std::vector<std::uint8_t>{1, 2, 3, 4}, SAMPLEFORMAT_UINT),
                                     page_of(2, 2, ramp16(4, 0), SAMPLEFORMAT_UINT)});
  EXPECT_EQ(message_of<InputError>([&] { read_tiff_stack(file("types.tif")); }),
            file("types.tif") +
                ": page 1 has 16-bit unsigned integer samples but page 0 has 8-bit unsigned integer; "
                "expected one sample type for all pages");
}

TEST_F(TiffTest, UnsupportedSamplesAreNamed) {
  write_raw_tiff(file("s16.tif"), {page_of(2, 2, std::vector<std::int16_t>{-1, 2, 3, 4}, SAMPLEFORMAT_INT)});
  EXPECT_EQ(message_of<InputError>([&] { read_tiff_stack(file("s16.tif")); }),
            file("s16.tif") +
                ": page 0 has 16-bit signed integer samples; expected 8- or 16-bit unsigned integer "
                "or 32-bit float");
  RawPage rgb = page_of(2, 1, std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6}, SAMPLEFORMAT_UINT);
  rgb.channels = 3;
  write_raw_tiff(file("rgb.tif"), {rgb});
  EXPECT_NE(message_of<InputError>([&] {
              read_tiff_stack(file("rgb.tif"));
            }).find("page 0 has 3 samples per pixel"),
            std::string::npos);
}

// ImageJ/Fiji write PhotometricInterpretation 0 (white is zero) for a movie
// shown with an inverted LUT and 3 (palette) for a colour LUT, with the
// camera counts unchanged: the values are read as stored, not inverted or
// refused.
TEST_F(TiffTest, PhotometricTagsOfDisplayLutsLeaveTheValuesAsStored) {
  RawPage w16 = page_of(2, 2, std::vector<std::uint16_t>{0, 1000, 65535, 7}, SAMPLEFORMAT_UINT);
  w16.photometric = PHOTOMETRIC_MINISWHITE;
  RawPage wf = page_of(2, 1, std::vector<float>{0.5f, -2.0f}, SAMPLEFORMAT_IEEEFP);
  wf.photometric = PHOTOMETRIC_MINISWHITE;
  RawPage palette = page_of(3, 1, std::vector<std::uint8_t>{0, 200, 255}, SAMPLEFORMAT_UINT);
  palette.photometric = PHOTOMETRIC_PALETTE;
  write_raw_tiff(file("w16.tif"), {w16, w16});
  write_raw_tiff(file("wf.tif"), {wf});
  write_raw_tiff(file("palette.tif"), {palette});
  EXPECT_EQ(read_tiff_stack(file("w16.tif")).data, (std::vector<float>{0, 1000, 65535, 7, 0, 1000, 65535, 7}));
  EXPECT_EQ(read_tiff_stack(file("wf.tif")).data, (std::vector<float>{0.5f, -2.0f}));
  EXPECT_EQ(read_tiff_stack(file("palette.tif")).data, (std::vector<float>{0, 200, 255}));
}

TEST_F(TiffTest, NanInFloatPageIsNamed) {
  std::vector<float> good(20, 1.f), bad(20, 1.f);
  bad[2 * 5 + 3] = NAN;
  write_raw_tiff(file("nan.tif"),
                 {page_of(5, 4, good, SAMPLEFORMAT_IEEEFP), page_of(5, 4, bad, SAMPLEFORMAT_IEEEFP)});
  EXPECT_EQ(message_of<InputError>([&] { read_tiff_stack(file("nan.tif")); }),
            file("nan.tif") + ": page 1, pixel (row 2, column 3) is NaN; expected finite intensities");
}

// A directory claiming a page far larger than the strips stored for it: the
// reader must name the file before allocating the page (800 MB as floats here;
// a corrupt IFD can claim 60000 x 60000).
void write_claimed_page(const std::string& path, std::uint32_t edge, std::uint16_t compression,
                        std::size_t stored) {
  std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFOpen(path.c_str(), "w"), TIFFClose);
  ASSERT_TRUE(tif);
  TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, edge);
  TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, edge);
  TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, 16);
  TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif.get(), TIFFTAG_COMPRESSION, compression);
  TIFFSetField(tif.get(), TIFFTAG_ROWSPERSTRIP, edge);
  std::vector<unsigned char> bytes(stored, 0x11);
  ASSERT_GE(TIFFWriteRawStrip(tif.get(), 0, bytes.data(), tmsize_t(bytes.size())), 0);
  ASSERT_TRUE(TIFFWriteDirectory(tif.get()));
}

TEST_F(TiffTest, PagesLargerThanTheirStoredBytesAreRefusedBeforeAllocating) {
  // Uncompressed, libtiff cuts the one strip into rows of 28,000 bytes; the
  // first already runs past the end of the file.
  write_claimed_page(file("claims.tif"), 14000, COMPRESSION_NONE, 64);
  std::string msg = message_of<InputError>([&] { read_tiff_stack(file("claims.tif")); });
  EXPECT_EQ(msg.rfind(file("claims.tif") + ": page 0: strip 0 lies at bytes 8..28008 but the file is ", 0), 0u) << msg;
  EXPECT_NE(msg.find(" bytes (truncated or corrupt file)"), std::string::npos) << msg;
  // Deflate expands at most 1032:1: 1,000 bytes cannot hold 392 MB.
  write_claimed_page(file("deflate.tif"), 14000, COMPRESSION_ADOBE_DEFLATE, 1000);
  EXPECT_EQ(message_of<InputError>([&] { read_tiff_stack(file("deflate.tif")); }),
            file("deflate.tif") +
                ": page 0 is 14000x14000 pixels of 16-bit unsigned integer (392000000 bytes) but its strips hold "
                "1000 bytes compressed; expected the file to store every pixel (truncated or corrupt file)");
}

TEST_F(TiffTest, HighlyCompressedPagesAreRead) {
  // A flat 16-bit movie compresses over 100:1 under deflate (strip by strip).
  ImageStack s = stack_of(2, 1500, 1500, [](int, int, int) { return 0.f; });
  write_tiff_stack(file("flat.tif"), s, 16, true);
  EXPECT_LT(fs::file_size(file("flat.tif")), 90000u);
  const ImageStack back = read_tiff_stack(file("flat.tif"));
  EXPECT_EQ(back.frames, 2);
  EXPECT_EQ(back.data, s.data);
}

TEST_F(TiffTest, NotATiffNamesTheFile) {
  std::ofstream(file("notes.tif")) << "hello world";
  EXPECT_EQ(message_of<InputError>([&] { read_tiff_stack(file("notes.tif")); }),
            file("notes.tif") +
                ": not a TIFF file; expected it to start with 'II' or 'MM', found bytes 68 65 6c 6c");
  std::ofstream(file("fake.tif")) << std::string("II*\0garbage", 11);
  std::string msg = message_of<InputError>([&] { read_tiff_stack(file("fake.tif")); });
  EXPECT_EQ(msg.rfind(file("fake.tif") + ": cannot open as a TIFF file (libtiff: ", 0), 0u) << msg;
  std::ofstream(file("tiny.tif")) << "I";
  EXPECT_NE(message_of<InputError>([&] { read_tiff_stack(file("tiny.tif")); }).find("found a 1-byte file"),
            std::string::npos);
  msg = message_of<InputError>([&] { read_tiff_stack(file("absent.tif")); });
  EXPECT_NE(msg.find(file("absent.tif")), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
}

TEST_F(TiffTest, ImageJLayoutsThatAreNotMoviesAreRefused) {
  RawPage p = page_of(2, 2, ramp16(4, 0), SAMPLEFORMAT_UINT);
  p.description = "ImageJ=1.53t\nimages=4\nchannels=2\nframes=2\nhyperstack=true\nmode=composite\n";
  write_raw_tiff(file("channels.tif"), {p, p, p, p});
  EXPECT_NE(message_of<InputError>([&] {
              read_tiff_stack(file("channels.tif"));
            }).find("ImageJ hyperstack with 2 channels"),
            std::string::npos);

  p.description = "ImageJ=1.53t\nimages=1000\nframes=1000\n";
  write_raw_tiff(file("raw4g.tif"), {p});
  EXPECT_NE(message_of<InputError>([&] {
              read_tiff_stack(file("raw4g.tif"));
            }).find("says 1000 images but the file has 1 TIFF page(s)"),
            std::string::npos);

  p.description = "ImageJ=1.53t\nimages=2\nframes=2\n";
  write_raw_tiff(file("movie.tif"), {p, page_of(2, 2, ramp16(4, 9), SAMPLEFORMAT_UINT)});
  EXPECT_EQ(read_tiff_stack(file("movie.tif")).frames, 2);

  // tifffile's imwrite(imagej=True) calls every plain 3-D stack "channels".
  p.description = "ImageJ=1.11a\nimages=3\nchannels=3\nhyperstack=true\nmode=grayscale";
  write_raw_tiff(file("tifffile.tif"), {p, p, p});
  EXPECT_EQ(read_tiff_stack(file("tifffile.tif")).frames, 3);
}

}  // namespace
