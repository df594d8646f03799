// Multi-page TIFF stacks: live-cell movies for the DeepHACKS cell-edge pipeline.
//
// Microscopes and ImageJ/Fiji save a movie as one TIFF page per frame, as
// 8- or 16-bit camera counts or 32-bit float after processing. Pages are read
// into one float array so the edge tracker sees a single frame-major layout
// whatever the camera wrote. Files that only look like movies are refused
// with a reason instead of being read wrongly: multi-channel pages, ImageJ
// hyperstacks with channels, and ImageJ's raw layout for stacks over 4 GiB
// (only the first page is a real TIFF page there). Values are read as
// stored whatever the photometric tag says: ImageJ records its display LUT
// there (white-is-zero for an inverted LUT, a palette for a colour LUT) and
// writes the camera counts unchanged.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace phenoscale::io {

struct ImageStack {
  int frames = 0, height = 0, width = 0;
  std::vector<float> data;   // frame-major, then row-major
  int bits_per_sample = 16;  // on disk: 8 or 16 (unsigned integer) or 32 (float)

  std::size_t pixel_count() const {
    return static_cast<std::size_t>(frames) * static_cast<std::size_t>(height) *
           static_cast<std::size_t>(width);
  }
  std::size_t index(int frame, int row, int col) const {
    return (static_cast<std::size_t>(frame) * static_cast<std::size_t>(height) +
            static_cast<std::size_t>(row)) *
               static_cast<std::size_t>(width) +
           static_cast<std::size_t>(col);
  }
  float& at(int frame, int row, int col) { return data[index(frame, row, col)]; }
  float at(int frame, int row, int col) const { return data[index(frame, row, col)]; }
};

// Reads every page (directory) of a single-channel TIFF: 8- or 16-bit
// unsigned or 32-bit float samples, in strips or tiles, any compression
// libtiff decodes. Throws InputError naming the file and, where it applies,
// the page: not a TIFF, pages of different sizes or sample types, more than
// one channel, unsupported sample format, NaN/Inf in float data.
ImageStack read_tiff_stack(const std::string& path);

// Writes one page per frame as 8- or 16-bit unsigned integers (values are
// rounded to the nearest integer and must fit) or 32-bit float, uncompressed
// or deflate-compressed; BigTIFF above 4 GB. Atomic; throws IoError.
// No ImageJ description is written: ImageJ and tifffile read a stack so
// described as one contiguous block, and libtiff puts each page's directory
// between the pages' data, so they would read garbage. Fiji opens the file
// as z-slices (Image > Properties relabels them as frames).
void write_tiff_stack(const std::string& path, const ImageStack& stack, int bits = 16, bool deflate = false);

}  // namespace phenoscale::io
