// SPDX-License-Identifier: Apache-2.0
// Direct convolution for any kernel, stride, padding and groups: the stems (few input channels,
// where a matrix product would waste its tiles) and the full 3x3 layers of small CNNs.
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
    for_each_item(ctx, items(p), [&](long long item) {
      // (n, y, x, lanes of outputs)
      const nhwc_item where =
          nhwc_item::of(item, p.out.height, p.out.width, p.out.channels / lanes);
      const int n = where.n, y = where.y, x = where.x, o = where.c * lanes;

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

namespace lmnet {

template <>
struct kernel<backend::cuda, op::conv2d> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    cuda::conv2d_params p{};
    p.in = b.input_view(n.input());
    p.out = b.output_view(n.output);
    if (n.residual >= 0) p.residual = b.input_view(n.residual);
    p.weights = b.weights(i);
    p.bias = b.bias(i);
    p.kernel = n.spec.kernel;
    p.stride = n.spec.stride;
    p.padding = n.spec.padding;
    p.groups = n.spec.groups;
    p.act = n.spec.act;
    const int per_group = p.out.channels / p.groups;
    const bool vector = per_group % 4 == 0 && cuda::vectorizable(p.out) &&
                        cuda::vectorizable(p.residual) && cuda::aligned16(p.weights) &&
                        cuda::aligned16(p.bias);
    vector ? b.add(cuda::conv2d_direct<true>{}, p, i, i)
           : b.add(cuda::conv2d_direct<false>{}, p, i, i);
  }
};

}  // namespace lmnet
