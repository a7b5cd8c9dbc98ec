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

/// Mean absolute difference of two thumbnails, in grey levels (0 to 255).
inline float thumbnail_distance(const thumbnail& a, const thumbnail& b) {
  int sum = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    sum += std::abs(static_cast<int>(a.pixels[i]) - static_cast<int>(b.pixels[i]));
  }
  return static_cast<float>(sum) / static_cast<float>(a.pixels.size());
}

}  // namespace lmnet
