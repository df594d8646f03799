#include "phenoscale/io/tiff.hpp"

#include <tiffio.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <stdexcept>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/atomic_file.hpp"

namespace phenoscale::io {
namespace {

// --- libtiff diagnostics --------------------------------------------------------
// libtiff prints errors and warnings to stderr through process-wide handlers.
// We replace them once: warnings (mostly private tags of microscope software)
// are dropped, and the latest error of each thread is kept so it can become
// part of the exception message.

thread_local std::string t_tiff_error;

void capture_error(const char* module, const char* fmt, va_list ap) {
  char text[512];
  std::vsnprintf(text, sizeof text, fmt, ap);
  t_tiff_error = text;
}

void ignore_warning(const char*, const char*, va_list) {}

void install_tiff_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    TIFFSetErrorHandler(capture_error);
    TIFFSetWarningHandler(ignore_warning);
  });
}

// The captured libtiff error, for appending to a message; clears it.
std::string libtiff_reason() {
  std::string reason = t_tiff_error.empty() ? "" : " (libtiff: " + t_tiff_error + ")";
  t_tiff_error.clear();
  return reason;
}

struct TiffCloser {
  void operator()(TIFF* t) const noexcept {
    if (t) TIFFClose(t);
  }
};
using UniqueTiff = std::unique_ptr<TIFF, TiffCloser>;

// --- reading ----------------------------------------------------------------------

// What one page holds; all pages must agree.
struct PageFormat {
  std::uint32_t width = 0, height = 0;
  std::uint16_t channels = 1, bits = 0, sample_format = SAMPLEFORMAT_UINT;
  bool tiled = false;
  std::uint32_t tile_width = 0, tile_height = 0;
};

std::string page_label(std::size_t page) { return "page " + std::to_string(page); }

std::string size_text(const PageFormat& f) {
  return std::to_string(f.width) + "x" + std::to_string(f.height);
}

std::string sample_text(const PageFormat& f) {
  std::string kind = f.sample_format == SAMPLEFORMAT_IEEEFP ? "float"
                     : f.sample_format == SAMPLEFORMAT_INT  ? "signed integer"
                     : f.sample_format == SAMPLEFORMAT_UINT || f.sample_format == SAMPLEFORMAT_VOID
                         ? "unsigned integer"
                         : "complex";
  return std::to_string(f.bits) + "-bit " + kind;
}

void check_magic(const std::string& path) {
  UniqueFile f = open_input(path);
  unsigned char magic[4] = {0, 0, 0, 0};
  const std::size_t n = std::fread(magic, 1, 4, f.get());
  if (n == 4 && magic[0] == magic[1] && (magic[0] == 'I' || magic[0] == 'M')) return;
  char found[40] = "";
  if (n == 4)
    std::snprintf(found, sizeof found, "bytes %02x %02x %02x %02x", magic[0], magic[1], magic[2], magic[3]);
  else
    std::snprintf(found, sizeof found, "a %zu-byte file", n);
  throw InputError(
      at_file(path, std::string("not a TIFF file; expected it to start with 'II' or 'MM', found ") + found));
}

UniqueTiff open_for_reading(const std::string& path) {
  install_tiff_handlers();
  check_magic(path);
  t_tiff_error.clear();
  UniqueTiff tif(TIFFOpen(path.c_str(), "r"));
  if (!tif) throw InputError(at_file(path, "cannot open as a TIFF file" + libtiff_reason()));
  return tif;
}

PageFormat page_format(TIFF* tif, std::size_t page, const std::string& path) {
  PageFormat f;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &f.width) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &f.height))
    throw InputError(at_file(path, page_label(page) + " has no image width or length tag"));
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &f.channels);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &f.bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &f.sample_format);
  f.tiled = TIFFIsTiled(tif) != 0;
  if (f.tiled) {
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &f.tile_width);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &f.tile_height);
  }
  return f;
}

void check_supported(const PageFormat& f, std::size_t page, const std::string& path) {
  if (f.channels != 1)
    throw InputError(
        at_file(path, page_label(page) + " has " + std::to_string(f.channels) +
                          " samples per pixel; expected single-channel images (split the channels, "
                          "e.g. in Fiji, and pass one)"));
  bool uint = f.sample_format == SAMPLEFORMAT_UINT || f.sample_format == SAMPLEFORMAT_VOID;
  bool ok =
      (uint && (f.bits == 8 || f.bits == 16)) || (f.sample_format == SAMPLEFORMAT_IEEEFP && f.bits == 32);
  if (!ok)
    throw InputError(at_file(path, page_label(page) + " has " + sample_text(f) +
                                       " samples; expected 8- or 16-bit unsigned integer or 32-bit float"));
  if (f.width > std::uint32_t(std::numeric_limits<int>::max()) ||
      f.height > std::uint32_t(std::numeric_limits<int>::max()))
    throw InputError(at_file(path, page_label(page) + " is " + size_text(f) + " pixels; too large"));
}

void check_same_as_first(const PageFormat& f, const PageFormat& first, std::size_t page,
                         const std::string& path) {
  if (f.width != first.width || f.height != first.height)
    throw InputError(at_file(path, page_label(page) + " is " + size_text(f) +
                                       " pixels (width x height) but page 0 is " + size_text(first) +
                                       "; expected all pages the same size"));
  if (f.bits != first.bits ||
      (f.sample_format == SAMPLEFORMAT_IEEEFP) != (first.sample_format == SAMPLEFORMAT_IEEEFP))
    throw InputError(at_file(path, page_label(page) + " has " + sample_text(f) + " samples but page 0 has " +
                                       sample_text(first) + "; expected one sample type for all pages"));
}

// Converts `count` samples of the page's type (already in host byte order) to float.
void to_float(const unsigned char* src, std::size_t count, const PageFormat& f, float* dst) {
  if (f.bits == 8) {
    for (std::size_t k = 0; k < count; ++k) dst[k] = float(src[k]);
  } else if (f.bits == 16) {
    for (std::size_t k = 0; k < count; ++k) {
      std::uint16_t v;
      std::memcpy(&v, src + 2 * k, 2);
      dst[k] = float(v);
    }
  } else {
    std::memcpy(dst, src, 4 * count);
  }
}

void read_strips(TIFF* tif, const PageFormat& f, std::size_t page, const std::string& path, float* out) {
  std::vector<unsigned char> line(static_cast<std::size_t>(TIFFScanlineSize(tif)));
  for (std::uint32_t row = 0; row < f.height; ++row) {
    if (TIFFReadScanline(tif, line.data(), row, 0) < 0)
      throw InputError(at_file(
          path, page_label(page) + ", row " + std::to_string(row) + ": cannot decode" + libtiff_reason()));
    to_float(line.data(), f.width, f, out + std::size_t(row) * f.width);
  }
}

void read_tiles(TIFF* tif, const PageFormat& f, std::size_t page, const std::string& path, float* out) {
  if (f.tile_width == 0 || f.tile_height == 0)
    throw InputError(at_file(path, page_label(page) + " is tiled but has no tile size"));
  const std::size_t bytes = f.bits / 8;
  std::vector<unsigned char> tile(static_cast<std::size_t>(TIFFTileSize(tif)));
  for (std::uint32_t ty = 0; ty < f.height; ty += f.tile_height) {
    for (std::uint32_t tx = 0; tx < f.width; tx += f.tile_width) {
      if (TIFFReadTile(tif, tile.data(), tx, ty, 0, 0) < 0)
        throw InputError(at_file(path, page_label(page) + ", tile at column " + std::to_string(tx) +
                                           ", row " + std::to_string(ty) + ": cannot decode" +
                                           libtiff_reason()));
      // Edge tiles are padded to the full tile size; copy only the image part.
      std::uint32_t rows = std::min(f.tile_height, f.height - ty),
                    cols = std::min(f.tile_width, f.width - tx);
      for (std::uint32_t r = 0; r < rows; ++r)
        to_float(tile.data() + std::size_t(r) * f.tile_width * bytes, cols, f,
                 out + std::size_t(ty + r) * f.width + tx);
    }
  }
}

// The most bytes one stored byte of a page can decode to, per compression
// scheme: raw data is stored as is; PackBits repeats a byte at most 128 times
// per 2 stored bytes; deflate expands at most 1032:1 (zlib's technical notes);
// an LZW code of 9 to 12 bits stands for at most 4096 bytes. 0: not bounded
// here (JPEG, LZMA, ZSTD, ...); libtiff's decoder reports those.
double max_expansion(std::uint16_t compression) {
  switch (compression) {
    case COMPRESSION_NONE: return 1.0;
    case COMPRESSION_PACKBITS: return 64.0;
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: return 1032.0;
    case COMPRESSION_LZW: return 4096.0 * 8.0 / 9.0;
    default: return 0.0;
  }
}

// Checks that the page's strips (or tiles) can hold its pixels before they
// are allocated: a corrupt or truncated file whose directory claims a
// 60000 x 60000 page must be named, not exhaust the node's memory.
void check_stored_bytes(TIFF* tif, const PageFormat& f, std::size_t page, std::uint64_t file_bytes,
                        const std::string& path) {
  std::uint16_t compression = COMPRESSION_NONE;
  TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
  const std::uint32_t striles = f.tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
  std::uint64_t stored = 0;
  for (std::uint32_t k = 0; k < striles; ++k) {
    const std::uint64_t offset = TIFFGetStrileOffset(tif, k), count = TIFFGetStrileByteCount(tif, k);
    if (count > file_bytes || offset > file_bytes - count)
      throw InputError(at_file(path, page_label(page) + ": " + (f.tiled ? "tile " : "strip ") + std::to_string(k) +
                                         " lies at bytes " + std::to_string(offset) + ".." +
                                         std::to_string(offset + count) + " but the file is " +
                                         std::to_string(file_bytes) + " bytes (truncated or corrupt file)"));
    stored += count;
  }
  const std::uint64_t pixels_bytes = std::uint64_t(f.width) * f.height * (f.bits / 8u);
  const double ratio = max_expansion(compression);
  if (ratio == 0.0 || double(stored) * ratio >= double(pixels_bytes)) return;
  std::ostringstream os;
  os << page_label(page) << " is " << size_text(f) << " pixels of " << sample_text(f) << " (" << pixels_bytes
     << " bytes) but its " << (f.tiled ? "tiles" : "strips") << " hold " << stored << " bytes"
     << (compression == COMPRESSION_NONE ? "" : " compressed") << "; expected the file to store every pixel "
     << "(truncated or corrupt file)";
  throw InputError(at_file(path, os.str()));
}

std::uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  if (ec) throw InputError(at_file(path, "cannot determine the file size (" + ec.message() + ")"));
  return n;
}

void check_finite(const float* page_data, const PageFormat& f, std::size_t page, const std::string& path) {
  const std::size_t n = std::size_t(f.width) * f.height;
  const float* bad = std::find_if(page_data, page_data + n, [](float v) { return !std::isfinite(v); });
  if (bad == page_data + n) return;
  std::size_t k = static_cast<std::size_t>(bad - page_data);
  throw InputError(at_file(path, page_label(page) + ", pixel (row " + std::to_string(k / f.width) +
                                     ", column " + std::to_string(k % f.width) + ") is " +
                                     (std::isnan(*bad) ? "NaN" : "infinite") +
                                     "; expected finite intensities"));
}

// The few keys of an ImageJ description ("ImageJ=1.53t\nimages=40\nframes=40\n...")
// that decide whether the pages form a plain movie.
struct ImageJInfo {
  bool present = false;
  long images = 0, channels = 1, slices = 1, frames = 1;
};

long imagej_value(const std::string& desc, const std::string& key, long fallback) {
  std::size_t pos = desc.find("\n" + key + "=");
  if (pos == std::string::npos) return fallback;
  return std::strtol(desc.c_str() + pos + key.size() + 2, nullptr, 10);
}

ImageJInfo imagej_info(TIFF* tif) {
  ImageJInfo info;
  char* raw = nullptr;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &raw) || !raw) return info;
  std::string desc(raw);
  if (desc.rfind("ImageJ=", 0) != 0) return info;
  info.present = true;
  info.images = imagej_value(desc, "images", 0);
  info.channels = imagej_value(desc, "channels", 1);
  info.slices = imagej_value(desc, "slices", 1);
  info.frames = imagej_value(desc, "frames", 1);
  return info;
}

// Pages interleave channels (or z) with time only if the channel count is not
// the page count; tifffile labels every plain 3-D stack "channels=N", so
// images == channels is taken as a sequence of frames.
void check_imagej_layout(const ImageJInfo& ij, const std::string& path) {
  if (!ij.present) return;
  if (ij.channels > 1 && ij.images != ij.channels)
    throw InputError(
        at_file(path, "ImageJ hyperstack with " + std::to_string(ij.channels) +
                          " channels; expected a single-channel movie (split the channels in Fiji "
                          "and pass one)"));
  if (ij.slices > 1 && ij.frames > 1)
    throw InputError(at_file(path, "ImageJ hyperstack with " + std::to_string(ij.slices) + " z-slices and " +
                                       std::to_string(ij.frames) +
                                       " frames; expected a single-plane time series"));
}

void check_imagej_page_count(const ImageJInfo& ij, std::size_t pages, const std::string& path) {
  if (!ij.present || ij.images <= static_cast<long>(pages)) return;
  throw InputError(
      at_file(path, "ImageJ description says " + std::to_string(ij.images) + " images but the file has " +
                        std::to_string(pages) +
                        " TIFF page(s); ImageJ stores stacks over 4 GiB this way; re-save it as BigTIFF "
                        "(e.g. Fiji's Bio-Formats exporter or tifffile)"));
}

// Walks the directory chain without decoding; a broken chain is reported
// when the reading loop reaches it, with the page number.
std::size_t count_pages(TIFF* tif) {
  std::size_t n = TIFFNumberOfDirectories(tif);
  t_tiff_error.clear();
  return n;
}

// Advances to the next page; false at the end. A broken page chain is an error.
bool next_page(TIFF* tif, std::size_t page, const std::string& path) {
  t_tiff_error.clear();
  if (TIFFReadDirectory(tif)) return true;
  if (!t_tiff_error.empty())
    throw InputError(at_file(path, "cannot read " + page_label(page) + libtiff_reason()));
  return false;
}

// --- writing --------------------------------------------------------------------------

void check_writable(const ImageStack& s, int bits, const std::string& path) {
  if (bits != 8 && bits != 16 && bits != 32)
    throw IoError(
        at_file(path, "cannot write " + std::to_string(bits) + "-bit TIFF; expected 8, 16 or 32 (float)"));
  if (s.frames <= 0 || s.height <= 0 || s.width <= 0 || s.data.size() != s.pixel_count()) {
    std::ostringstream os;
    os << "cannot write a stack of " << s.frames << " frames of " << s.width << "x" << s.height
       << " pixels holding " << s.data.size() << " values; expected positive sizes and one value per pixel";
    throw IoError(at_file(path, os.str()));
  }
}

// Rejects values the chosen format cannot hold instead of clamping them.
[[noreturn]] void unrepresentable(const ImageStack& s, std::size_t k, int bits, const std::string& path) {
  std::size_t frame = k / (std::size_t(s.width) * s.height), rest = k % (std::size_t(s.width) * s.height);
  std::ostringstream os;
  os << "cannot write frame " << frame << ", pixel (row " << rest / s.width << ", column " << rest % s.width
     << ") = " << s.data[k];
  if (!std::isfinite(s.data[k]))
    os << "; expected finite values";
  else
    os << " as " << bits << "-bit unsigned integer; expected 0.." << (bits == 8 ? 255 : 65535)
       << " (write 32-bit float instead)";
  throw IoError(at_file(path, os.str()));
}

void encode_row(const ImageStack& s, std::size_t first, int bits, const std::string& path,
                unsigned char* out) {
  const double max = bits == 8 ? 255.0 : 65535.0;
  for (std::size_t c = 0; c < std::size_t(s.width); ++c) {
    float v = s.data[first + c];
    if (!std::isfinite(v)) unrepresentable(s, first + c, bits, path);
    if (bits == 32) {
      std::memcpy(out + 4 * c, &v, 4);
      continue;
    }
    double r = std::round(double(v));
    if (r < 0 || r > max) unrepresentable(s, first + c, bits, path);
    if (bits == 8) {
      out[c] = static_cast<unsigned char>(r);
    } else {
      auto u = static_cast<std::uint16_t>(r);
      std::memcpy(out + 2 * c, &u, 2);
    }
  }
}

void set_page_tags(TIFF* tif, const ImageStack& s, int frame, int bits, bool deflate) {
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, std::uint32_t(s.width));
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, std::uint32_t(s.height));
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, std::uint16_t(1));
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, std::uint16_t(bits));
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT,
               std::uint16_t(bits == 32 ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT));
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, std::uint16_t(PHOTOMETRIC_MINISBLACK));
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, std::uint16_t(PLANARCONFIG_CONTIG));
  TIFFSetField(tif, TIFFTAG_COMPRESSION,
               std::uint16_t(deflate ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE));
  if (deflate && bits != 32) TIFFSetField(tif, TIFFTAG_PREDICTOR, std::uint16_t(PREDICTOR_HORIZONTAL));
  TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tif, 0));
  TIFFSetField(tif, TIFFTAG_SUBFILETYPE, std::uint32_t(s.frames > 1 ? FILETYPE_PAGE : 0));
  if (s.frames <= 0xffff)
    TIFFSetField(tif, TIFFTAG_PAGENUMBER, std::uint16_t(frame), std::uint16_t(s.frames));
}

void write_page(TIFF* tif, const ImageStack& s, int frame, int bits, bool deflate, const std::string& path) {
  set_page_tags(tif, s, frame, bits, deflate);
  std::vector<unsigned char> row(std::size_t(s.width) * std::size_t(bits / 8));
  for (int r = 0; r < s.height; ++r) {
    encode_row(s, s.index(frame, r, 0), bits, path, row.data());
    if (TIFFWriteScanline(tif, row.data(), std::uint32_t(r), 0) < 0)
      throw IoError(at_file(path, "cannot write frame " + std::to_string(frame) + ", row " +
                                      std::to_string(r) + libtiff_reason()));
  }
  if (!TIFFWriteDirectory(tif))
    throw IoError(at_file(path, "cannot write frame " + std::to_string(frame) + libtiff_reason()));
}

}  // namespace

ImageStack read_tiff_stack(const std::string& path) {
  UniqueTiff tif = open_for_reading(path);
  const std::size_t pages = count_pages(tif.get());
  const ImageJInfo ij = imagej_info(tif.get());
  check_imagej_layout(ij, path);
  check_imagej_page_count(ij, pages, path);
  const PageFormat first = page_format(tif.get(), 0, path);
  check_supported(first, 0, path);
  const std::uint64_t file_bytes = file_size(path);
  check_stored_bytes(tif.get(), first, 0, file_bytes, path);

  ImageStack s;
  s.width = static_cast<int>(first.width);
  s.height = static_cast<int>(first.height);
  s.bits_per_sample = first.bits;
  const std::size_t page_pixels = std::size_t(first.width) * first.height;
  const auto too_large = [&] {
    return InputError(at_file(path, std::to_string(pages) + " pages of " + size_text(first) + " pixels need " +
                                        std::to_string(double(pages) * double(page_pixels) * 4.0 / 1073741824.0) +
                                        " GiB as 32-bit floats; cannot allocate them on this node"));
  };
  if (page_pixels > 0 && pages > s.data.max_size() / page_pixels) throw too_large();
  try {
    s.data.reserve(pages * page_pixels);  // one allocation: movies can be most of memory
  } catch (const std::bad_alloc&) {
    throw too_large();
  } catch (const std::length_error&) {
    throw too_large();
  }
  std::size_t page = 0;
  do {
    const PageFormat f = page == 0 ? first : page_format(tif.get(), page, path);
    if (page > 0) {  // the first page was checked above, before the allocation
      check_supported(f, page, path);
      check_same_as_first(f, first, page, path);
      check_stored_bytes(tif.get(), f, page, file_bytes, path);
    }
    s.data.resize((page + 1) * page_pixels);
    float* out = s.data.data() + page * page_pixels;
    if (f.tiled)
      read_tiles(tif.get(), f, page, path, out);
    else
      read_strips(tif.get(), f, page, path, out);
    if (f.bits == 32) check_finite(out, f, page, path);
    ++page;
  } while (next_page(tif.get(), page, path));
  s.frames = static_cast<int>(page);
  return s;
}

void write_tiff_stack(const std::string& path, const ImageStack& stack, int bits, bool deflate) {
  install_tiff_handlers();
  check_writable(stack, bits, path);
  AtomicFile out(path);
  // Classic TIFF offsets are 32-bit; leave room for the directories.
  const bool big = double(stack.pixel_count()) * (bits / 8) > 4.0e9;
  t_tiff_error.clear();
  UniqueTiff tif(TIFFOpen(out.path().c_str(), big ? "w8" : "w"));
  if (!tif) throw IoError(at_file(path, "cannot create the temporary file " + out.path() + libtiff_reason()));
  for (int frame = 0; frame < stack.frames; ++frame) write_page(tif.get(), stack, frame, bits, deflate, path);
  if (!TIFFFlush(tif.get())) throw IoError(at_file(path, "cannot finish writing" + libtiff_reason()));
  tif.reset();
  out.commit();
}

}  // namespace phenoscale::io
