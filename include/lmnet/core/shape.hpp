// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/config.hpp>

#include <cstddef>

namespace lmnet {

/// The shape of one image's activations, NHWC without the batch: (height, width, channels).
struct shape {
  int height = 0;
  int width = 0;
  int channels = 0;

  /// Number of floats in one image.
  LMNET_HOST_DEVICE constexpr std::size_t size() const {
    return static_cast<std::size_t>(height) * static_cast<std::size_t>(width) *
           static_cast<std::size_t>(channels);
  }
  LMNET_HOST_DEVICE constexpr bool valid() const { return height > 0 && width > 0 && channels > 0; }
  friend constexpr bool operator==(shape, shape) = default;
};

/// A height and width pair that converts from one int, so `.kernel = 3` and `.kernel = {1, 7}` both
/// read naturally.
struct extent2 {
  int height = 0;
  int width = 0;

  constexpr extent2() = default;
  constexpr extent2(int both) : height(both), width(both) {}  // NOLINT: implicit by design
  constexpr extent2(int h, int w) : height(h), width(w) {}
  friend constexpr bool operator==(extent2, extent2) = default;
};

/// Output length of a convolution or pooling window along one axis (PyTorch rounding: floor).
LMNET_HOST_DEVICE constexpr int window_output(int input, int kernel, int stride, int padding) {
  return (input + 2 * padding - kernel) / stride + 1;
}

/// A range of rows (or columns): [begin, begin + size). `begin` may be negative, and the range may
/// reach past the tensor, where a convolution sees zero padding.
struct span1 {
  int begin = 0;
  int size = 0;

  LMNET_HOST_DEVICE constexpr int end() const { return begin + size; }
  /// The part inside [0, length).
  LMNET_HOST_DEVICE constexpr span1 clipped(int length) const {
    const int b = begin < 0 ? 0 : begin;
    const int e = end() > length ? length : end();
    return {b, e > b ? e - b : 0};
  }
  friend constexpr bool operator==(span1, span1) = default;
};

/// The input rows (or columns) a sliding window reads to produce the outputs `out`: the one window
/// arithmetic of every backend (fused blocks size their row rings and tiles with it).
LMNET_HOST_DEVICE constexpr span1 window_input(span1 out, int kernel, int stride, int padding) {
  return {out.begin * stride - padding, (out.size - 1) * stride + kernel};
}

/// The smallest span holding both.
LMNET_HOST_DEVICE constexpr span1 span_union(span1 a, span1 b) {
  const int begin = a.begin < b.begin ? a.begin : b.begin;
  const int end = a.end() > b.end() ? a.end() : b.end();
  return {begin, end - begin};
}

}  // namespace lmnet
