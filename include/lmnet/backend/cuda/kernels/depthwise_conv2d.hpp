// SPDX-License-Identifier: Apache-2.0
// Depthwise convolution, NHWC: each thread computes a few neighbouring output pixels of four (or
// one) channels, so every input column it loads serves several outputs.
#pragma once

#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

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
    for_each_item(ctx, items(p), [&](long long item) {
      // (n, y, columns of outputs, lanes of channels)
      const nhwc_item where =
          nhwc_item::of(item, p.out.height, ceil_div(p.out.width, columns), p.out.channels / lanes);
      const int n = where.n, y = where.y, x0 = where.x * columns, c = where.c * lanes;
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

namespace lmnet {

template <>
struct kernel<backend::cuda, op::depthwise_conv2d> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    cuda::depthwise_params p{};
    p.in = b.input_view(n.input());
    p.out = b.output_view(n.output);
    if (n.residual >= 0) p.residual = b.input_view(n.residual);
    p.weights = b.weights(i);
    p.bias = b.bias(i);
    p.kernel = n.spec.kernel.height;
    p.stride = n.spec.stride.height;
    p.padding = n.spec.padding.height;
    p.act = n.spec.act;
    const bool vector = cuda::vectorizable(p.in) && cuda::vectorizable(p.out) &&
                        cuda::vectorizable(p.residual) && cuda::aligned16(p.weights) &&
                        cuda::aligned16(p.bias);
    // Depthwise layers have square windows (layers/depthwise_conv2d.hpp).
    const int k = p.kernel, stride = p.stride;
    auto add = [&]<int K, int S>() {
      vector ? b.add(cuda::depthwise<K, S, true>{}, p, i, i)
             : b.add(cuda::depthwise<K, S, false>{}, p, i, i);
    };
    if (k == 3 && stride == 1) return add.template operator()<3, 1>();
    if (k == 3 && stride == 2) return add.template operator()<3, 2>();
    if (k == 5 && stride == 1) return add.template operator()<5, 1>();
    if (k == 5 && stride == 2) return add.template operator()<5, 2>();
    add.template operator()<0, 0>();
  }
};

}  // namespace lmnet
