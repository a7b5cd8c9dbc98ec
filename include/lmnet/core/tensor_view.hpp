// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/config.hpp>
#include <lmnet/core/shape.hpp>

#include <cstddef>
#include <type_traits>

namespace lmnet {

/// A non-owning NHWC view. Channels may be a slice of a wider tensor: element (n, y, x, c) lives at
/// data[((n * height + y) * width + x) * channel_stride + c]. Concatenation and channel slicing are
/// therefore views, not copies.
template <class T>
struct tensor_view {
  T* data = nullptr;
  int batch = 0;
  int height = 0;
  int width = 0;
  int channels = 0;
  int channel_stride = 0;

  LMNET_HOST_DEVICE constexpr std::size_t pixel(int n, int y, int x) const {
    return (static_cast<std::size_t>(n * height + y) * static_cast<std::size_t>(width) +
            static_cast<std::size_t>(x)) *
           static_cast<std::size_t>(channel_stride);
  }
  LMNET_HOST_DEVICE constexpr T& operator()(int n, int y, int x, int c) const {
    return data[pixel(n, y, x) + static_cast<std::size_t>(c)];
  }
  LMNET_HOST_DEVICE constexpr shape image_shape() const { return {height, width, channels}; }
  /// True when channels are not a slice, so the view is one contiguous block.
  LMNET_HOST_DEVICE constexpr bool dense() const { return channel_stride == channels; }

  LMNET_HOST_DEVICE constexpr operator tensor_view<const T>() const  // NOLINT: implicit
      requires(!std::is_const_v<T>) {
    return {data, batch, height, width, channels, channel_stride};
  }
};

}  // namespace lmnet
