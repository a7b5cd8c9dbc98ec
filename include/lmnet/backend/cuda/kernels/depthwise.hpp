// SPDX-License-Identifier: Apache-2.0
// Depthwise convolution, NHWC: each thread computes a few neighbouring output pixels of four (or
// one) channels, so every input column it loads serves several outputs.
#pragma once

#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <cstddef>

namespace lmnet::cuda {

/// Weights packed (KH * KW, C): the taps of channel c at weights[tap * C + c].
struct depthwise_params {
  tensor_view<const float> in;
  tensor_view<float> out;
  tensor_view<const float> residual;  // data == nullptr: none
  const float* weights = nullptr;
  const float* bias = nullptr;
  int kernel = 3, stride = 1, padding = 1;
  activation act = activation::none;
};

/// Output columns per thread of the `depthwise<Kernel, Stride, ...>` specialisations.
LMNET_HOST_DEVICE constexpr int depthwise_columns(int kernel, int stride) {
  return kernel == 0 ? 1 : stride == 1 ? 4 : 2;
}

/// `Kernel` x `Kernel` taps at `Stride` (Kernel == 0: any square kernel and stride, from the
/// parameters); `Vector`: four channels per thread with float4 accesses.
template <int Kernel, int Stride, bool Vector>
struct depthwise {
  using params = depthwise_params;
  static constexpr int threads = 256;
  static constexpr int columns = depthwise_columns(Kernel, Stride);
  static constexpr int lanes = Vector ? 4 : 1;

  /// Work items: (image, row, group of `columns` columns, group of `lanes` channels).
  LMNET_HOST_DEVICE static long long items(const params& p) {
    return static_cast<long long>(p.out.batch) * p.out.height * ceil_div(p.out.width, columns) *
           (p.out.channels / lanes);
  }
  static launch_shape shape(const params& p) { return {grid_for(items(p), threads), threads, 0}; }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    const long long total = items(p);
    const long long first = static_cast<long long>(ctx.block_x()) * threads;
    ctx.each([&](int t) {
      const long long item = first + t;
      if (item >= total) return;
      const int quads = p.out.channels / lanes, column_groups = ceil_div(p.out.width, columns);
      const int c = static_cast<int>(item % quads) * lanes;
      long long rest = item / quads;
      const int x0 = static_cast<int>(rest % column_groups) * columns;
      rest /= column_groups;
      const int y = static_cast<int>(rest % p.out.height);
      const int n = static_cast<int>(rest / p.out.height);
      if constexpr (Kernel == 0) {
        compute<columns>(p, n, y, x0, c, p.kernel, p.stride);
      } else {
        compute<columns>(p, n, y, x0, c, Kernel, Stride);
      }
    });
  }

 private:
  using lane = lane_t<Vector>;

  // `kernel` and `stride` are compile-time constants in the specialisations, so the loops unroll
  // and the taps stay in registers.
  template <int Columns>
  LMNET_DEVICE static void compute(const params& p, int n, int y, int x0, int c, int kernel,
                                   int stride) {
    const tensor_view<const float>& in = p.in;
    const int channels = p.out.channels;
    constexpr int taps = Kernel == 0 ? 1 : Kernel * Kernel;
    lane w[taps];
    if constexpr (Kernel != 0) {
      for (int tap = 0; tap < taps; ++tap) {
        w[tap] = load_lanes<Vector>(p.weights + static_cast<std::size_t>(tap) * channels + c);
      }
    }
    lane acc[Columns];
    const lane b = load_lanes<Vector>(p.bias + c);
    for (int i = 0; i < Columns; ++i) acc[i] = b;
    const int span = (Columns - 1) * stride + kernel;  // input columns the outputs read
    const int ix0 = x0 * stride - p.padding;
    for (int ky = 0; ky < kernel; ++ky) {
      const int iy = y * stride - p.padding + ky;
      if (iy < 0 || iy >= in.height) continue;
      const float* row = in.data + in.pixel(n, iy, 0) + c;
      for (int j = 0; j < span; ++j) {
        const int ix = ix0 + j;
        if (ix < 0 || ix >= in.width) continue;
        const lane v = load_lanes<Vector>(row + static_cast<std::size_t>(ix) * in.channel_stride);
        for (int i = 0; i < Columns; ++i) {
          const int kx = j - i * stride;
          if (kx < 0 || kx >= kernel) continue;
          if constexpr (Kernel != 0) {
            acc[i] = madd(v, w[ky * Kernel + kx], acc[i]);
          } else {
            const lane tap = load_lanes<Vector>(
                p.weights + static_cast<std::size_t>(ky * kernel + kx) * channels + c);
            acc[i] = madd(v, tap, acc[i]);
          }
        }
      }
    }
    for (int i = 0; i < Columns; ++i) {
      const int x = x0 + i;
      if (x >= p.out.width) break;
      lane v = acc[i];
      if (p.residual.data != nullptr) {
        v = v + load_lanes<Vector>(p.residual.data + p.residual.pixel(n, y, x) + c);
      }
      store_lanes<Vector>(p.out.data + p.out.pixel(n, y, x) + c, apply(v, p.act));
    }
  }
};

}  // namespace lmnet::cuda
