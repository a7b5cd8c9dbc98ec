// SPDX-License-Identifier: Apache-2.0
// Direct convolution for any kernel, stride, padding and groups: the stems (few input channels,
// where a matrix product would waste its tiles) and the full 3x3 layers of small CNNs.
#pragma once

#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

#include <cstddef>

namespace lmnet::cuda {

/// Weights packed (groups, KH, KW, I/groups, O/groups): for one input tap, a group's outputs are
/// contiguous, so neighbouring threads (neighbouring outputs) read neighbouring weights.
struct conv2d_params {
  tensor_view<const float> in;
  tensor_view<float> out;
  tensor_view<const float> residual;  // data == nullptr: none
  const float* weights = nullptr;
  const float* bias = nullptr;
  extent2 kernel{}, stride{}, padding{};
  int groups = 1;
  activation act = activation::none;
};

/// `Vector`: each thread computes four output channels of one pixel (O/groups % 4 == 0, aligned
/// output); otherwise one.
template <bool Vector>
struct conv2d_direct {
  using params = conv2d_params;
  static constexpr int threads = 128;
  static constexpr int lanes = Vector ? 4 : 1;

  LMNET_HOST_DEVICE static long long items(const params& p) {
    return static_cast<long long>(p.out.batch) * p.out.height * p.out.width *
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
      const int quads = p.out.channels / lanes;
      const int o = static_cast<int>(item % quads) * lanes;
      long long rest = item / quads;
      const int x = static_cast<int>(rest % p.out.width);
      rest /= p.out.width;
      const int y = static_cast<int>(rest % p.out.height);
      const int n = static_cast<int>(rest / p.out.height);

      const int in_per_group = p.in.channels / p.groups;
      const int out_per_group = p.out.channels / p.groups;
      const int g = o / out_per_group, local = o % out_per_group;
      lane_t<Vector> acc = load_lanes<Vector>(p.bias + o);
      for (int ky = 0; ky < p.kernel.height; ++ky) {
        const int iy = y * p.stride.height - p.padding.height + ky;
        if (iy < 0 || iy >= p.in.height) continue;
        for (int kx = 0; kx < p.kernel.width; ++kx) {
          const int ix = x * p.stride.width - p.padding.width + kx;
          if (ix < 0 || ix >= p.in.width) continue;
          const float* source = p.in.data + p.in.pixel(n, iy, ix) + g * in_per_group;
          const float* w =
              p.weights +
              (static_cast<std::size_t>((g * p.kernel.height + ky) * p.kernel.width + kx) *
                   static_cast<std::size_t>(in_per_group) *
                   static_cast<std::size_t>(out_per_group) +
               static_cast<std::size_t>(local));
          for (int i = 0; i < in_per_group; ++i) {
            acc = madd(load(source + i),
                       load_lanes<Vector>(w + static_cast<std::size_t>(i) * out_per_group), acc);
          }
        }
      }
      if (p.residual.data != nullptr) {
        acc = acc + load_lanes<Vector>(p.residual.data + p.residual.pixel(n, y, x) + o);
      }
      store_lanes<Vector>(p.out.data + p.out.pixel(n, y, x) + o, apply(acc, p.act));
    });
  }
};

}  // namespace lmnet::cuda
