// SPDX-License-Identifier: Apache-2.0
// Max pooling, NHWC: one thread per output element, neighbouring threads on neighbouring channels.
#pragma once

#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/shape.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

namespace lmnet::cuda {

struct max_pool_params {
  tensor_view<const float> in;
  tensor_view<float> out;
  extent2 kernel{}, stride{}, padding{};
};

/// Max over each window; padding cells never win (PyTorch).
struct window_max {
  using params = max_pool_params;
  static constexpr int threads = 256;

  LMNET_HOST_DEVICE static long long items(const params& p) {
    return static_cast<long long>(p.out.batch) * p.out.height * p.out.width * p.out.channels;
  }
  static launch_shape shape(const params& p) { return {grid_for(items(p), threads), threads, 0}; }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    for_each_item(ctx, items(p), [&](long long item) {
      const nhwc_item where = nhwc_item::of(item, p.out.height, p.out.width, p.out.channels);
      const int n = where.n, y = where.y, x = where.x, c = where.c;
      float best = -3.402823466e38f;
      bool any = false;
      for (int ky = 0; ky < p.kernel.height; ++ky) {
        const int iy = y * p.stride.height - p.padding.height + ky;
        if (iy < 0 || iy >= p.in.height) continue;
        for (int kx = 0; kx < p.kernel.width; ++kx) {
          const int ix = x * p.stride.width - p.padding.width + kx;
          if (ix < 0 || ix >= p.in.width) continue;
          const float v = load(p.in.data + p.in.pixel(n, iy, ix) + c);
          best = !any || v > best ? v : best;
          any = true;
        }
      }
      p.out(n, y, x, c) = best;
    });
  }
};

}  // namespace lmnet::cuda

namespace lmnet {

template <>
struct kernel<backend::cuda, op::max_pool2d> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    const cuda::max_pool_params p{b.input_view(n.input()), b.output_view(n.output), n.spec.kernel,
                                  n.spec.stride, n.spec.padding};
    b.add(cuda::window_max{}, p, i, i);
  }
};

}  // namespace lmnet
