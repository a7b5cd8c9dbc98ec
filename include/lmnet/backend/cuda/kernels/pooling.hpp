// SPDX-License-Identifier: Apache-2.0
// Max pooling and global average pooling, NHWC: one thread per output element, neighbouring
// threads on neighbouring channels.
#pragma once

#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

namespace lmnet::cuda {

struct pool_params {
  tensor_view<const float> in;
  tensor_view<float> out;
  extent2 kernel{}, stride{}, padding{};
};

/// Max over each window; padding cells never win (PyTorch).
struct window_max {
  using params = pool_params;
  static constexpr int threads = 256;

  LMNET_HOST_DEVICE static long long items(const params& p) {
    return static_cast<long long>(p.out.batch) * p.out.height * p.out.width * p.out.channels;
  }
  static launch_shape shape(const params& p) { return {grid_for(items(p), threads), threads, 0}; }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    const long long total = items(p);
    const long long first = static_cast<long long>(ctx.block_x()) * threads;
    ctx.each([&](int t) {
      const long long item = first + t;
      if (item >= total) return;
      const int c = static_cast<int>(item % p.out.channels);
      long long rest = item / p.out.channels;
      const int x = static_cast<int>(rest % p.out.width);
      rest /= p.out.width;
      const int y = static_cast<int>(rest % p.out.height);
      const int n = static_cast<int>(rest / p.out.height);
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

/// Mean over height and width.
struct spatial_mean {
  using params = pool_params;
  static constexpr int threads = 256;

  LMNET_HOST_DEVICE static long long items(const params& p) {
    return static_cast<long long>(p.in.batch) * p.in.channels;
  }
  static launch_shape shape(const params& p) { return {grid_for(items(p), threads), threads, 0}; }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    const long long total = items(p);
    const long long first = static_cast<long long>(ctx.block_x()) * threads;
    ctx.each([&](int t) {
      const long long item = first + t;
      if (item >= total) return;
      const int c = static_cast<int>(item % p.in.channels);
      const int n = static_cast<int>(item / p.in.channels);
      float sum = 0.0f;
      for (int y = 0; y < p.in.height; ++y) {
        for (int x = 0; x < p.in.width; ++x) sum += load(p.in.data + p.in.pixel(n, y, x) + c);
      }
      p.out(n, 0, 0, c) = sum * (1.0f / static_cast<float>(p.in.height * p.in.width));
    });
  }
};

}  // namespace lmnet::cuda
