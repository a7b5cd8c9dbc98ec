// SPDX-License-Identifier: Apache-2.0
// Global average pooling, NHWC: one thread per (image, channel), neighbouring threads on
// neighbouring channels.
#pragma once

#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

namespace lmnet::cuda {

struct global_avg_pool_params {
  tensor_view<const float> in;
  tensor_view<float> out;
};

/// Mean over height and width.
struct spatial_mean {
  using params = global_avg_pool_params;
  static constexpr int threads = 256;

  LMNET_HOST_DEVICE static long long items(const params& p) {
    return static_cast<long long>(p.in.batch) * p.in.channels;
  }
  static launch_shape shape(const params& p) { return {grid_for(items(p), threads), threads, 0}; }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    for_each_item(ctx, items(p), [&](long long item) {
      const nhwc_item where = nhwc_item::of(item, 1, 1, p.in.channels);  // (n, c)
      const int n = where.n, c = where.c;
      float sum = 0.0f;
      for (int y = 0; y < p.in.height; ++y) {
        for (int x = 0; x < p.in.width; ++x) sum += load(p.in.data + p.in.pixel(n, y, x) + c);
      }
      p.out(n, 0, 0, c) = sum * (1.0f / static_cast<float>(p.in.height * p.in.width));
    });
  }
};

}  // namespace lmnet::cuda

namespace lmnet {

template <>
struct kernel<backend::cuda, op::global_avg_pool> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    b.add(cuda::spatial_mean{}, {b.input_view(n.input()), b.output_view(n.output)}, i, i);
  }
};

}  // namespace lmnet
