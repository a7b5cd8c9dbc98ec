// SPDX-License-Identifier: Apache-2.0
// Softmax over channels: one warp per pixel, reductions through shared memory.
#pragma once

#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

namespace lmnet::cuda {

struct softmax_params {
  tensor_view<const float> in;
  tensor_view<float> out;
};

struct channel_softmax {
  using params = softmax_params;
  static constexpr int threads = 256;
  static constexpr int warps = threads / 32;

  LMNET_HOST_DEVICE static long long pixels(const params& p) {
    return static_cast<long long>(p.out.batch) * p.out.height * p.out.width;
  }
  static launch_shape shape(const params& p) {
    return {grid_for(pixels(p), warps), threads, sizeof(float) * 2 * threads};
  }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    float* peaks = ctx.shared();    // [warp][lane]
    float* sums = peaks + threads;  // [warp][lane]
    const long long first = static_cast<long long>(ctx.block_x()) * warps;
    const long long count = pixels(p);
    const int channels = p.in.channels;
    // The warp's pixel, or null past the end.
    auto row = [&](const auto& view, int t) {
      const long long pixel = first + t / 32;
      if (pixel >= count) return decltype(view.data){nullptr};
      return view.data + static_cast<std::size_t>(pixel) * view.channel_stride;
    };
    auto peak_of = [&](int t) {
      const float* lanes = peaks + (t / 32) * 32;
      float m = lanes[0];
      for (int l = 1; l < 32; ++l) m = lanes[l] > m ? lanes[l] : m;
      return m;
    };
    ctx.phase([&](int t) {
      const float* in = row(p.in, t);
      float m = -3.402823466e38f;
      if (in != nullptr) {
        for (int c = t % 32; c < channels; c += 32) m = in[c] > m ? in[c] : m;
      }
      peaks[t] = m;
    });
    ctx.phase([&](int t) {
      const float* in = row(p.in, t);
      float s = 0.0f;
      if (in != nullptr) {
        const float m = peak_of(t);
        for (int c = t % 32; c < channels; c += 32) s += exponential(in[c] - m);
      }
      sums[t] = s;
    });
    ctx.each([&](int t) {
      const float* in = row(p.in, t);
      float* out = row(p.out, t);
      if (in == nullptr) return;
      const float m = peak_of(t);
      float total = 0.0f;
      for (int l = 0; l < 32; ++l) total += sums[(t / 32) * 32 + l];
      for (int c = t % 32; c < channels; c += 32) out[c] = exponential(in[c] - m) / total;
    });
  }
};

}  // namespace lmnet::cuda

namespace lmnet {

template <>
struct kernel<backend::cuda, op::softmax> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    b.add(cuda::channel_softmax{}, {b.input_view(n.input()), b.output_view(n.output)}, i, i);
  }
};

}  // namespace lmnet
