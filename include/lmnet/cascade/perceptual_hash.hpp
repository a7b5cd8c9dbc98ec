// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

/// A raw 8-bit image: `height` rows of `width` pixels of `channels` bytes (1: grey, 3: RGB),
/// rows `stride` bytes apart (0: packed). Perceptual hashes read the image as captured, before
/// any normalisation a network wants.
struct image_view {
  std::span<const std::uint8_t> pixels;
  int height = 0;
  int width = 0;
  int channels = 1;
  std::size_t stride = 0;

  std::size_t row_stride() const {
    return stride != 0 ? stride
                       : static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
  }

  /// Whether the view is a 1- or 3-channel image its span fully holds.
  bool valid() const {
    if (height < 1 || width < 1 || (channels != 1 && channels != 3)) return false;
    const std::size_t row = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
    return row_stride() >= row &&
           pixels.size() >= row_stride() * static_cast<std::size_t>(height - 1) + row;
  }

  /// Throws an `lmnet::error` saying what is wrong unless the view is valid.
  void check() const {
    if (!valid()) invalid();
  }

 private:
  [[noreturn]] void invalid() const {
    const std::string dims =
        std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(channels);
    if (height < 1 || width < 1 || (channels != 1 && channels != 3)) {
      throw error("image_view: " + dims + ", expected a non-empty grey or RGB image");
    }
    const std::size_t row = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
    if (row_stride() < row) throw error("image_view: stride shorter than a row");
    throw error("image_view: " + std::to_string(pixels.size()) + " bytes for a " + dims +
                " image, expected at least " +
                std::to_string(row_stride() * static_cast<std::size_t>(height - 1) + row));
  }

 public:
  /// Grey level of pixel (y, x): the byte itself, or 0.299 R + 0.587 G + 0.114 B (ITU-R 601).
  float grey(std::size_t y, std::size_t x) const {
    if (channels == 1) return pixels[y * row_stride() + x];
    const std::size_t at = y * row_stride() + 3 * x;
    return 0.299f * pixels[at] + 0.587f * pixels[at + 1] + 0.114f * pixels[at + 2];
  }
};

struct dhash_options {
  /// A bit is set when the right pixel is brighter than the left one by more than this (grey
  /// levels, 0 to 255). 0 is the classic dHash; a few levels keep flat regions, where sensor
  /// noise would flip bits at random, at 0.
  float dead_zone = 0.0f;
};

namespace detail {
/// Source coordinates of bilinear resampling from `source` to `target` samples with pixel centres
/// aligned (OpenCV's INTER_LINEAR convention, no antialiasing): lower index and weight of the
/// upper.
struct bilinear_tap {
  std::size_t lower = 0, upper = 0;
  float weight = 0.0f;
};

inline bilinear_tap bilinear_coordinate(int i, int source, int target) {
  const float scale = static_cast<float>(source) / static_cast<float>(target);
  const float at = std::max(0.0f, (static_cast<float>(i) + 0.5f) * scale - 0.5f);
  const int last = std::max(source - 1, 0);  // sizes are checked; this keeps indices provably valid
  const int lower = std::clamp(static_cast<int>(at), 0, last);
  return {static_cast<std::size_t>(lower), static_cast<std::size_t>(std::min(lower + 1, last)),
          at - static_cast<float>(lower)};
}
}  // namespace detail

/// dHash (difference hash, 64 bits) of an image, as the dual-CNN paper's memory computes it: grey,
/// bilinear resize to 9 wide by 8 high, then bit (8 * row + column) says whether pixel
/// (row, column + 1) is brighter than pixel (row, column).
inline std::uint64_t dhash(const image_view& image, dhash_options options = {}) {
  image.check();
  std::array<detail::bilinear_tap, 9> columns;
  for (int x = 0; x < 9; ++x)
    columns[static_cast<std::size_t>(x)] = detail::bilinear_coordinate(x, image.width, 9);
  std::uint64_t hash = 0;
  for (int y = 0; y < 8; ++y) {
    const detail::bilinear_tap row = detail::bilinear_coordinate(y, image.height, 8);
    std::array<float, 9> resized;
    for (int x = 0; x < 9; ++x) {
      const detail::bilinear_tap& c = columns[static_cast<std::size_t>(x)];
      const float top = image.grey(row.lower, c.lower) * (1.0f - c.weight) +
                        image.grey(row.lower, c.upper) * c.weight;
      const float bottom = image.grey(row.upper, c.lower) * (1.0f - c.weight) +
                           image.grey(row.upper, c.upper) * c.weight;
      resized[static_cast<std::size_t>(x)] = top * (1.0f - row.weight) + bottom * row.weight;
    }
    for (int x = 0; x < 8; ++x) {
      if (resized[static_cast<std::size_t>(x + 1)] - resized[static_cast<std::size_t>(x)] >
          options.dead_zone) {
        hash |= std::uint64_t{1} << (8 * y + x);
      }
    }
  }
  return hash;
}

/// Number of differing bits.
constexpr int hamming_distance(std::uint64_t a, std::uint64_t b) {
  return std::popcount(a ^ b);
}

/// A 16x16 grey thumbnail (area average), 256 bytes: a finer view of an image than its 64-bit
/// hash, used to confirm that two images with close hashes really are the same picture.
struct thumbnail {
  static constexpr int size = 16;
  std::array<std::uint8_t, size * size> pixels{};

  friend bool operator==(const thumbnail&, const thumbnail&) = default;
};

namespace detail {
/// Overlap of source pixel `i` with the area of target pixel `o`: box-filter weights.
inline float area_weight(int i, int o, float scale) {
  const float begin = static_cast<float>(o) * scale, end = begin + scale;
  return std::max(
      0.0f, std::min(end, static_cast<float>(i + 1)) - std::max(begin, static_cast<float>(i)));
}
}  // namespace detail

inline thumbnail make_thumbnail(const image_view& image) {
  image.check();
  constexpr int n = thumbnail::size;
  const float sy = static_cast<float>(image.height) / n, sx = static_cast<float>(image.width) / n;
  // Separable box filter. Output column c covers source columns [c sx, (c + 1) sx): pixels
  // first..last, all wholly inside but the two ends, whose weights are their overlaps.
  struct span_of_columns {
    int first = 0, last = 0;
    float first_weight = 0.0f, last_weight = 0.0f;
  };
  std::array<span_of_columns, n> columns;
  for (int c = 0; c < n; ++c) {
    span_of_columns& s = columns[static_cast<std::size_t>(c)];
    s.first = std::min(image.width - 1, static_cast<int>(static_cast<float>(c) * sx));
    s.last = std::max(
        s.first,
        std::min(image.width, static_cast<int>(std::ceil(static_cast<float>(c + 1) * sx))) - 1);
    s.first_weight = detail::area_weight(s.first, c, sx);
    s.last_weight = s.last > s.first ? detail::area_weight(s.last, c, sx) : 0.0f;
  }
  std::array<float, n * n> sum{};
  std::vector<float> grey_row;  // the row as grey levels, for RGB images only
  for (int y = 0; y < image.height; ++y) {
    const std::uint8_t* bytes =
        image.pixels.data() + static_cast<std::size_t>(y) * image.row_stride();
    std::array<float, n> row{};
    auto resample = [&](const auto* line) {
      for (int c = 0; c < n; ++c) {
        const span_of_columns& s = columns[static_cast<std::size_t>(c)];
        float v = s.first_weight * static_cast<float>(line[s.first]);
        for (int x = s.first + 1; x < s.last; ++x) v += static_cast<float>(line[x]);
        if (s.last > s.first) v += s.last_weight * static_cast<float>(line[s.last]);
        row[static_cast<std::size_t>(c)] = v;
      }
    };
    if (image.channels == 1) {
      resample(bytes);
    } else {
      grey_row.resize(static_cast<std::size_t>(image.width));
      for (int x = 0; x < image.width; ++x) {
        grey_row[static_cast<std::size_t>(x)] =
            image.grey(static_cast<std::size_t>(y), static_cast<std::size_t>(x));
      }
      resample(grey_row.data());
    }
    // Source row y overlaps output rows y / sy to (y + 1) / sy.
    const int r0 = std::min(n - 1, static_cast<int>(static_cast<float>(y) / sy));
    const int r1 = std::min(n, static_cast<int>(std::ceil(static_cast<float>(y + 1) / sy)));
    for (int r = r0; r < r1; ++r) {
      const float w = detail::area_weight(y, r, sy);
      for (int c = 0; c < n; ++c)
        sum[static_cast<std::size_t>(r * n + c)] += w * row[static_cast<std::size_t>(c)];
    }
  }
  thumbnail t;
  const float area = sx * sy;  // every output pixel covers the same area
  for (std::size_t i = 0; i < sum.size(); ++i) {
    t.pixels[i] = static_cast<std::uint8_t>(std::clamp(sum[i] / area, 0.0f, 255.0f) + 0.5f);
  }
  return t;
}

namespace detail {
/// Sum of absolute differences of two thumbnails (a loop compilers turn into SAD instructions).
inline int thumbnail_sad(const thumbnail& a, const thumbnail& b) {
  int sum = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    sum += std::abs(static_cast<int>(a.pixels[i]) - static_cast<int>(b.pixels[i]));
  }
  return sum;
}
}  // namespace detail

/// Mean absolute difference of two thumbnails, in grey levels (0 to 255).
inline float thumbnail_distance(const thumbnail& a, const thumbnail& b) {
  return static_cast<float>(detail::thumbnail_sad(a, b)) / static_cast<float>(a.pixels.size());
}

/// A position in an image, in pixels from the top-left corner of its top-left pixel (pixel (r, c)
/// covers [r, r + 1) x [c, c + 1)).
struct image_point {
  double y = 0.0;
  double x = 0.0;
};

namespace detail {
/// Area means of a grid of cells tiling a window of the image's size centred on the image's
/// brightness centre: what a camera that moved with the picture would have framed. Outside the
/// image counts as black. The means are exact at fractional positions: the summed-area table of
/// an image of constant pixels is bilinear between its nodes, so interpolating it integrates.
class centred_sampler {
 public:
  explicit centred_sampler(const image_view& image)
      : height_(image.height),
        width_(image.width),
        table_(static_cast<std::size_t>(image.height + 1) *
               static_cast<std::size_t>(image.width + 1)) {
    image.check();
    const std::size_t pitch = static_cast<std::size_t>(width_) + 1;
    double mass = 0.0, moment_y = 0.0, moment_x = 0.0;
    for (int y = 0; y < height_; ++y) {
      double row_sum = 0.0, row_moment = 0.0;
      const double* above = &table_[static_cast<std::size_t>(y) * pitch];
      double* here = &table_[static_cast<std::size_t>(y + 1) * pitch];
      for (int x = 0; x < width_; ++x) {
        const double grey = image.grey(static_cast<std::size_t>(y), static_cast<std::size_t>(x));
        row_sum += grey;
        row_moment += grey * (x + 0.5);
        here[x + 1] = above[x + 1] + row_sum;
      }
      mass += row_sum;
      moment_x += row_moment;
      moment_y += row_sum * (y + 0.5);
    }
    centre_ = mass > 0.0 ? image_point{moment_y / mass, moment_x / mass}
                         : image_point{0.5 * height_, 0.5 * width_};
  }

  image_point centre() const { return centre_; }

  /// Means of `rows` x `columns` cells, row by row.
  template <std::size_t rows, std::size_t columns>
  std::array<double, rows * columns> cell_means() const {
    const double cell_height = static_cast<double>(height_) / static_cast<double>(rows);
    const double cell_width = static_cast<double>(width_) / static_cast<double>(columns);
    std::array<edge, rows + 1> row_edges;
    std::array<edge, columns + 1> column_edges;
    for (std::size_t r = 0; r <= rows; ++r) {
      row_edges[r] =
          edge_at(centre_.y - 0.5 * height_ + static_cast<double>(r) * cell_height, height_);
    }
    for (std::size_t c = 0; c <= columns; ++c) {
      column_edges[c] =
          edge_at(centre_.x - 0.5 * width_ + static_cast<double>(c) * cell_width, width_);
    }
    // The integral from the image's corner to every grid corner.
    std::array<double, (rows + 1) * (columns + 1)> corner;
    const std::size_t pitch = static_cast<std::size_t>(width_) + 1;
    for (std::size_t r = 0; r <= rows; ++r) {
      const double* top = &table_[row_edges[r].index * pitch];
      const double* bottom = top + pitch;
      for (std::size_t c = 0; c <= columns; ++c) {
        const edge& e = column_edges[c];
        const double upper = top[e.index] + e.fraction * (top[e.index + 1] - top[e.index]);
        const double lower = bottom[e.index] + e.fraction * (bottom[e.index + 1] - bottom[e.index]);
        corner[r * (columns + 1) + c] = upper + row_edges[r].fraction * (lower - upper);
      }
    }
    std::array<double, rows * columns> means;
    const double area = cell_height * cell_width;
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < columns; ++c) {
        const std::size_t at = r * (columns + 1) + c;
        means[r * columns + c] =
            (corner[at + columns + 2] - corner[at + columns + 1] - corner[at + 1] + corner[at]) /
            area;
      }
    }
    return means;
  }

 private:
  /// A grid line at `at` pixels, clamped to the image: the table node before it and how far past.
  struct edge {
    std::size_t index = 0;
    double fraction = 0.0;
  };
  static edge edge_at(double at, int size) {
    at = std::clamp(at, 0.0, static_cast<double>(size));
    const int index = std::min(static_cast<int>(at), size - 1);
    return {static_cast<std::size_t>(index), at - index};
  }

  int height_, width_;
  std::vector<double> table_;  // (height + 1) x (width + 1): sums of the pixels above and left
  image_point centre_;
};

/// The 64 bits of a difference hash from 8 rows of 9 cells.
inline std::uint64_t difference_bits(const std::array<double, 8 * 9>& cells, float dead_zone) {
  std::uint64_t hash = 0;
  for (std::size_t y = 0; y < 8; ++y) {
    for (std::size_t x = 0; x < 8; ++x) {
      if (cells[9 * y + x + 1] - cells[9 * y + x] > dead_zone)
        hash |= std::uint64_t{1} << (8 * y + x);
    }
  }
  return hash;
}

inline thumbnail thumbnail_of(const std::array<double, thumbnail::size * thumbnail::size>& cells) {
  thumbnail t;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    t.pixels[i] = static_cast<std::uint8_t>(std::clamp(cells[i], 0.0, 255.0) + 0.5);
  }
  return t;
}
}  // namespace detail

/// The centre of an image's brightness: the mean of its pixel centres weighted by grey level (the
/// frame's centre for an all-black image). It moves with the picture, by as much, as long as no
/// bright part leaves the frame.
inline image_point brightness_centre(const image_view& image) {
  return detail::centred_sampler(image).centre();
}

/// dHash of the window that frames the picture around its brightness centre (see
/// `make_centred_thumbnail`), from 8 rows of 9 area means: bit (8 * row + column) says whether
/// cell (row, column + 1) is brighter than cell (row, column) by more than the dead zone. A copy
/// moved by a pixel or two hashes as the original, which the frame's own dHash does not.
inline std::uint64_t centred_dhash(const image_view& image, dhash_options options = {}) {
  return detail::difference_bits(detail::centred_sampler(image).cell_means<8, 9>(),
                                 options.dead_zone);
}

/// A 16x16 thumbnail (area means) of a window the image's size centred on its brightness centre,
/// outside the image counting as black. For a picture centred in its frame it is
/// `make_thumbnail`'s; a moved copy gives the thumbnail of the original.
inline thumbnail make_centred_thumbnail(const image_view& image) {
  return detail::thumbnail_of(
      detail::centred_sampler(image).cell_means<thumbnail::size, thumbnail::size>());
}

}  // namespace lmnet
